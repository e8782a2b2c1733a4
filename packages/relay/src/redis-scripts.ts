/**
 * The Redis engine's keys and Lua scripts (PROTOCOL-RELAY.md §3.4 retention and offsets, §6 Redis engine).
 *
 * Keys of a topic (the `{<topic>}` hash tag puts all three in one cluster slot: a script touches one topic's
 * keys only, so it may run on the node holding that slot):
 * - `<prefix>s:{<topic>}` the stream; entry fields `f` (the frame) and `t` (publisher tag `<node id hex>:<conn id>`).
 *   Offsets ARE the stream ids (`<ms>-<seq>`), never a separate counter: a counter could rewind after a Redis
 *   restart and make clients skip new frames unnoticed.
 * - `<prefix>e:{<topic>}` a hash: `e` the stream's epoch (8 bytes); `r` = '1' while the epoch is reserved by
 *   history() for a stream that has no publication yet (so the first publication keeps the epoch a client
 *   was already given; any other missing stream gets a new epoch); `w` the newest id the last trim by age
 *   removed and `f` the stream's first id right after that trim (Redis 7.0 moves `max-deleted-entry-id` on
 *   XDEL only, not on trims; see READ for how `w` and `f` decide recovery).
 * - `<prefix>n:{<topic>}` the pub/sub channel: one message per APPEND call (notification format: redis-wire.ts).
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
 * Appends a batch of frames to one stream, atomically, and publishes them in one notification.
 * KEYS: stream, epoch hash. ARGV: candidate epoch, maxFrames, maxAgeMs ('0': no trim by age this time),
 * expiry ms, '1' to refresh the expiry ('0': only keys this call creates get it), channel, then per frame
 * its publisher tag and the frame. Returns { epoch, id of each frame in order }.
 *
 * Trimming by count is XADD's own `MAXLEN ~ maxFrames` on the batch's last frame (whole radix-tree nodes:
 * the stream keeps at least maxFrames). Trimming by age is exact (`XTRIM MINID`, not `~`) because it records
 * the newest id it removed (`w`) and the first id it kept (`f`): a client whose last position is `w` (a
 * quiet topic whose frames aged out) still resumes without a gap.
 */
const APPEND = `${ID}
local s, e = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', e, 'e')
local expire = ARGV[5] == '1'
if redis.call('EXISTS', s) == 0 then
  if not (epoch and redis.call('HGET', e, 'r') == '1') then epoch = ARGV[1] end
  redis.call('DEL', e)
  redis.call('HSET', e, 'e', epoch)
  expire = true
elseif not epoch then
  epoch = ARGV[1]
  redis.call('HSET', e, 'e', epoch)
  expire = true
end
local n = (#ARGV - 6) / 2
local out, note = { epoch }, { epoch }
local id
for i = 1, n do
  local tag, frame = ARGV[5 + 2 * i], ARGV[6 + 2 * i]
  if i < n then
    id = redis.call('XADD', s, '*', 'f', frame, 't', tag)
  else
    id = redis.call('XADD', s, 'MAXLEN', '~', ARGV[2], '*', 'f', frame, 't', tag)
  end
  out[i + 1] = id
  note[2 * i] = string.char(#id) .. id .. string.char(#tag) .. tag .. struct.pack('>I4', #frame)
  note[2 * i + 1] = frame
end
if ARGV[3] ~= '0' then
  local minid = math.max(0, parse(id) - tonumber(ARGV[3])) .. '-0'
  local old = redis.call('XREVRANGE', s, '(' .. minid, '-', 'COUNT', 1)
  if #old > 0 then
    redis.call('XTRIM', s, 'MINID', minid)
    redis.call('HSET', e, 'w', old[1][1], 'f', redis.call('XRANGE', s, '-', '+', 'COUNT', 1)[1][1])
  end
end
if expire then
  redis.call('PEXPIRE', s, ARGV[4])
  redis.call('PEXPIRE', e, ARGV[4])
end
redis.call('PUBLISH', ARGV[6], table.concat(note))
return out
`;

/**
 * KEYS: stream, epoch hash. ARGV: mode ('history' | 'catchup'), since epoch ('' for none), since id, limit,
 * replayMs, candidate epoch, expiry ms.
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
const READ = `${ID}
local s, e = KEYS[1], KEYS[2]
local mode, sinceEpoch, since, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local expiry = ARGV[7]
local epoch = redis.call('HGET', e, 'e')
if redis.call('EXISTS', s) == 0 then
  if mode ~= 'history' then return { false, 0, '0-0', {}, 0 } end
  if not (epoch and redis.call('HGET', e, 'r') == '1') then
    epoch = ARGV[6]
    redis.call('DEL', e)
    redis.call('HSET', e, 'e', epoch, 'r', '1')
    redis.call('PEXPIRE', e, expiry)
  end
  local ok = (sinceEpoch == epoch and since == '0-0') and 1 or 0
  return { epoch, ok, '0-0', {}, 0 }
end
if not epoch then
  epoch = ARGV[6]
  redis.call('HSET', e, 'e', epoch)
  redis.call('PEXPIRE', e, expiry)
end
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
