/** Checks of the options every cache backend shares; a bad value is a wiring bug, caught at start-up. */

/** Cache names become part of Redis keys and SCAN patterns: keep them to characters that are neither. */
const NAME = /^[A-Za-z0-9_-]+$/;

export function checkCacheName(name: string): string {
  if (!NAME.test(name))
    throw new RangeError(`cache name must match ${String(NAME)}, got ${JSON.stringify(name)}`);
  return name;
}

/** A TTL in seconds: finite and >= 0, where 0 means no expiry. */
export function checkTtlSeconds(label: string, ttlSeconds: number): number {
  if (!Number.isFinite(ttlSeconds) || ttlSeconds < 0) {
    throw new RangeError(`${label} must be a number of seconds >= 0 (0 = no expiry), got ${ttlSeconds}`);
  }
  return ttlSeconds;
}
