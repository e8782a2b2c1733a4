/** Lets a timer not keep Node alive (browsers have no unref). */
export function unref<T>(timer: T): T {
  (timer as { unref?: () => void }).unref?.();
  return timer;
}
