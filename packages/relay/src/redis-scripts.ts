/**
 * The Redis engine's keys and Lua scripts (PROTOCOL-RELAY.md §3.4 retention and offsets, §6 Redis engine).
 *
 * Keys of a topic (the `{<topic>}` hash tag puts all three in one cluster slot: a script touches the keys of
 * one slot only, so it may run on the node holding that slot):
 * - `<prefix>s:{<topic>}` the stream; one entry field `r`, the record the node built: the frame and its publisher
 *   tag `<node id hex>:<conn id>` (redis-wire.ts). Entries written before records have fields `f` and `t`.
 *   Offsets ARE the stream ids (`<ms>-<seq>`), never a separate counter: a counter could rewind after a Redis
 *   restart and make clients skip new frames unnoticed.
 * - `<prefix>e:{<topic>}` a hash: `e` the stream's epoch (8 bytes); `r` = '1' while the epoch is reserved by
 *   history() for a stream that has no publication yet (so the first publication keeps the epoch a client
 *   was already given; any other missing stream gets a new epoch); `w` the newest id the last trim by age
 *   removed and `f` the stream's first id right after that trim (Redis 7.0 moves `max-deleted-entry-id` on
 *   XDEL only, not on trims; see READ for how `w` and `f` decide recovery); in a cluster, `g` the replication
 *   id of the primary that last wrote it (GENERATION).
 * - `<prefix>n:{<topic>}` the sharded pub/sub channel (SPUBLISH: in a cluster it reaches the subscribers on
 *   the topic's shard only): one notification per topic per APPEND call, two messages: the epoch and ids the
 *   script adds, then the batch body the node sent (notification format: redis-wire.ts). The body goes out as
 *   it came in: concatenating it behind the head in Lua cost more Redis CPU than the frames' XADDs (Lua 5.1
 *   builds a long string by merging pieces: about 1 µs per 420-byte frame, against 0.5 µs per XADD).
 * Every key expires (inbox topics make one stream per member): APPEND sets the expiry when it creates a key
 * and whenever the node asks (at most once per refresh interval per stream and node, redis-appender.ts).
 */
import { createHash } from 'node:crypto';

/** The three keys of a topic. */
export interface TopicKeys {
  stream: string;
  epoch: string;
  channel: string;
}

export function topicKeys(prefix: string, topic: string): TopicKeys {
  return { stream: `${prefix}s:{${topic}}`, epoch: `${prefix}e:{${topic}}`, channel: `${prefix}n:{${topic}}` };
}

/** The topic of a notification channel name, or undefined for another channel. */
export function channelTopic(prefix: string, channel: string): string | undefined {
  const head = `${prefix}n:{`;
  return channel.startsWith(head) && channel.endsWith('}') ? channel.slice(head.length, -1) : undefined;
}

const ID = `
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local function now()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * Failover detection (PROTOCOL-RELAY.md §6, cluster only: the relay passes '1'). Replication is asynchronous:
 * a replica promoted after its primary died may lack the last writes the primary acknowledged. A promoted
 * replica keeps its old primary's replication id as `master_replid2` and takes a new `master_replid`. The
 * epoch hash records in `g` the replication id of the primary that last wrote it; a script that finds `g`
 * equal to this node's `master_replid2` runs on the replica promoted in place of that primary, and the stream
 * gets a new epoch: every position handed out before the failover is a gap, whether or not a frame was lost.
 * Any other change of `g` (the slot was moved here with MIGRATE, Redis restarted) only records the new id.
 * Reads the epoch hash `e` and returns: its epoch (false when none, or when this node was promoted: then the
 * hash is deleted), this node's id (nil when not checking), `g` as it was.
 */
const GENERATION = `
local function generation(e, check)
  local epoch = redis.call('HGET', e, 'e')
  if check ~= '1' then return epoch, nil, nil end
  local info = redis.call('INFO', 'replication')
  local node = string.match(info, 'master_replid:(%x+)')
  local g = redis.call('HGET', e, 'g')
  if g ~= false and g ~= node and g == string.match(info, 'master_replid2:(%x+)') then
    redis.call('DEL', e)
    epoch = false
  end
  return epoch, node, g
end
`;

/**
 * Appends a batch of frames to each of one or more streams, atomically, and publishes each stream's frames in
 * one notification. KEYS: per topic its stream and its epoch hash (one slot in a cluster: the node groups its
 * topics by slot). ARGV: maxFrames, maxAgeMs, expiry ms, '1' to check for a failover (GENERATION); then per
 * topic, in KEYS' order: candidate epoch, '1' to trim by age this time, '1' to refresh the expiry ('0': only
 * keys this call creates get it), channel, and the batch body: the records back to back (redis-wire.ts), each
 * `[tag length 1][tag][frame length u32be][frame]`, one stream entry each. Returns per topic the
 * notification's head: the epoch, the ids' length (u16be) and the ids, in order, separated by one space.
 *
 * Trimming by count is XADD's own `MAXLEN ~ maxFrames` on the batch's last frame (whole radix-tree nodes:
 * the stream keeps at least maxFrames). Trimming by age looks at the first entry (cheap) and, only when it is
 * older than the bound, for the newest entry to remove (XREVRANGE walks a node backwards: about 12 µs); it is
 * exact (`XTRIM MINID`, not `~`) because it records the newest id it removed (`w`) and the first id it kept
 * (`f`): a client whose last position is `w` (a quiet topic whose frames aged out) still resumes without a gap.
 * A body that does not split into whole records is an error (nothing of that topic is appended).
 */
const APPEND = `${ID}${GENERATION}
local maxFrames, maxAge, expiry, check = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
-- Where each record of a batch body ends (nil when the body does not split into whole records).
local function split(body)
  local size, at, stops = #body, 1, {}
  while at <= size do
    local t = string.byte(body, at)
    if at + t + 4 > size then return nil end
    local stop = at + t + 4 + struct.unpack('>I4', body, at + 1 + t)
    if stop > size then return nil end
    stops[#stops + 1] = stop
    at = stop + 1
  end
  if #stops == 0 then return nil end
  return stops
end
local function append(s, e, candidate, age, refresh, channel, body, ids)
  local n = #ids
  local epoch, node, g = generation(e, check)
  local fresh = false
  if redis.call('EXISTS', s) == 0 then
    if not (epoch and redis.call('HGET', e, 'r') == '1') then epoch = candidate end
    redis.call('DEL', e)
    redis.call('HSET', e, 'e', epoch)
    refresh, fresh = '1', true
  elseif not epoch then
    epoch = candidate
    redis.call('HSET', e, 'e', epoch)
    refresh, fresh = '1', true
  end
  if node and (fresh or g ~= node) then redis.call('HSET', e, 'g', node) end
  local at = 1
  for i = 1, n - 1 do
    local stop = ids[i]
    ids[i] = redis.call('XADD', s, '*', 'r', string.sub(body, at, stop))
    at = stop + 1
  end
  local id = redis.call('XADD', s, 'MAXLEN', '~', maxFrames, '*', 'r', string.sub(body, at, #body))
  ids[n] = id
  if age == '1' then
    local minid = math.max(0, parse(id) - maxAge) .. '-0'
    if less(redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1][1], minid) then
      local old = redis.call('XREVRANGE', s, '(' .. minid, '-', 'COUNT', 1)
      redis.call('XTRIM', s, 'MINID', minid)
      redis.call('HSET', e, 'w', old[1][1], 'f', redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1][1])
    end
  end
  if refresh == '1' then
    redis.call('PEXPIRE', s, expiry)
    redis.call('PEXPIRE', e, expiry)
  end
  local list = table.concat(ids, ' ')
  local head = epoch .. struct.pack('>H', #list) .. list
  redis.call('SPUBLISH', channel, head)
  redis.call('SPUBLISH', channel, body)
  return head
end
-- Every body is checked before anything is written (a script's writes are not rolled back on an error).
local batches = {}
for k = 1, #KEYS / 2 do
  batches[k] = split(ARGV[5 * k + 4])
  if not batches[k] then return redis.error_reply('ERR sealsig: malformed batch') end
end
local heads = {}
for k = 1, #KEYS / 2 do
  local a = 5 * k
  heads[k] = append(KEYS[2 * k - 1], KEYS[2 * k], ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], batches[k])
end
return heads
`;

/**
 * KEYS: stream, epoch hash. ARGV: mode ('history' | 'catchup'), since epoch ('' for none), since id, limit,
 * replayMs, candidate epoch, expiry ms, '1' to check for a failover (GENERATION).
 * Returns { epoch | false, recovered 0/1, last-generated-id, entries, reversed 0/1 }.
 * history: on a missing stream reserves an epoch (recovered only for since = (that epoch, 0-0)); since beyond
 * last-generated-id bumps the epoch (a lost tail); entries = after since (limit + 1 read: more than limit is
 * not recovered) or the newest `limit` younger than replayMs. catchup: nothing on a missing stream; also
 * bumps when since is not recovered; entries = `limit` after since, or the newest `limit` of the stream.
 *
 * Recovered: the epochs match and since is at or before last-generated-id, not before max-deleted-entry-id,
 * and nothing after since was trimmed: since is the last id, or nothing was ever removed (entries-added =
 * length), or since is at or after the first entry, or at or after
 * `w` while the first entry is still `f` (nothing trimmed since the trim by age that recorded them). A
 * position exactly at the newest id a count trim removed is not recovered (a gap reported that is none,
 * never the reverse): trims by count (MAXLEN ~) record nothing.
 */
const READ = `${ID}${GENERATION}
local s, e = KEYS[1], KEYS[2]
local mode, sinceEpoch, since, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local expiry = ARGV[7]
local epoch, node, g = generation(e, ARGV[8])
local fresh = false
if redis.call('EXISTS', s) == 0 then
  if mode ~= 'history' then return { false, 0, '0-0', {}, 0 } end
  if not (epoch and redis.call('HGET', e, 'r') == '1') then
    epoch = ARGV[6]
    redis.call('DEL', e)
    redis.call('HSET', e, 'e', epoch, 'r', '1')
    redis.call('PEXPIRE', e, expiry)
    fresh = true
  end
  if node and (fresh or g ~= node) then redis.call('HSET', e, 'g', node) end
  local ok = (sinceEpoch == epoch and since == '0-0') and 1 or 0
  return { epoch, ok, '0-0', {}, 0 }
end
if not epoch then
  epoch = ARGV[6]
  redis.call('HSET', e, 'e', epoch)
  redis.call('PEXPIRE', e, expiry)
  fresh = true
end
if node and (fresh or g ~= node) then redis.call('HSET', e, 'g', node) end
local info = redis.call('XINFO', 'STREAM', s)
local last, deleted, first, length, added = '0-0', '0-0', false, 0, 0
for i = 1, #info, 2 do
  local k = info[i]
  if k == 'last-generated-id' then last = info[i + 1]
  elseif k == 'max-deleted-entry-id' then deleted = info[i + 1]
  elseif k == 'first-entry' and info[i + 1] then first = info[i + 1][1]
  elseif k == 'length' then length = info[i + 1]
  elseif k == 'entries-added' then added = info[i + 1] end
end
local recovered = false
if sinceEpoch == epoch then
  local lost = less(last, since)
  if not lost and not less(since, deleted) then
    local h = redis.call('HMGET', e, 'w', 'f')
    recovered = since == last or added == length or (first and (not less(since, first) or (h[2] == first and not less(since, h[1])))) or false
  end
  if lost or (not recovered and mode == 'catchup') then
    epoch = ARGV[6]
    redis.call('HSET', e, 'e', epoch)
    redis.call('PEXPIRE', e, expiry)
  end
end
if limit == 0 then return { epoch, recovered and 1 or 0, last, {}, 0 } end
if recovered then
  local extra = (mode == 'history') and 1 or 0
  local r = redis.call('XRANGE', s, '(' .. since, '+', 'COUNT', limit + extra)
  if #r <= limit then return { epoch, 1, last, r, 0 } end
end
local floor = '-'
if mode == 'history' then floor = math.max(0, now() - tonumber(ARGV[5])) .. '-0' end
return { epoch, 0, last, redis.call('XREVRANGE', s, '+', floor, 'COUNT', limit), 1 }
`;

/** A script's source and the SHA-1 EVALSHA names it by. */
export interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

export const APPEND_SCRIPT = script(APPEND);
export const READ_SCRIPT = script(READ);
