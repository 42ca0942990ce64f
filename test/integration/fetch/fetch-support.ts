/** Shared by the fetch integration tests: fetchers with small limits and DNS answered from a table. */
import type { LookupAddress } from 'node:dns';
import { isIPv6 } from 'node:net';
import { expect } from 'vitest';
import { FaceVerifyError, type ErrorCode } from '../../../src/errors.js';
import { parseAllowlist } from '../../../src/fetch/address-policy.js';
import {
  createImageFetcher,
  type ImageFetcher,
  type ImageFetcherOptions,
} from '../../../src/fetch/image-fetcher.js';
import type { ResolveHost } from '../../../src/fetch/ssrf-guard.js';

export const LIMITS = {
  maxBytes: 64 * 1024,
  // Hang guards (a local download takes milliseconds); the timeout tests set their own.
  connectTimeoutMs: 60_000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
};

/**
 * Name resolution from a table: each name maps to its answers, or to a function giving the answers of
 * the n-th call. Unknown names fail with ENOTFOUND, so no test ever asks real DNS.
 */
export function hostTable(
  table: Record<string, string[] | ((call: number) => string[])>,
): ResolveHost & { calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const resolve = (hostname: string): Promise<LookupAddress[]> => {
    const n = (calls[hostname] = (calls[hostname] ?? 0) + 1);
    const entry = table[hostname];
    if (!entry)
      return Promise.reject(Object.assign(new Error(`ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }));
    const answers = typeof entry === 'function' ? entry(n) : entry;
    return Promise.resolve(answers.map((address) => ({ address, family: isIPv6(address) ? 6 : 4 })));
  };
  return Object.assign(resolve, { calls });
}

/** Builds fetchers with LIMITS and no private access unless overridden; `closeAll` after each test. */
export function fetcherFactory(): {
  make: (
    overrides?: Partial<Omit<ImageFetcherOptions, 'allowlist'>> & { allowlist?: string },
  ) => ImageFetcher;
  closeAll: () => Promise<void>;
} {
  const made: ImageFetcher[] = [];
  return {
    make: (overrides = {}) => {
      const fetcher = createImageFetcher({
        ...LIMITS,
        allowPrivate: false,
        lookup: hostTable({}),
        ...overrides,
        allowlist: parseAllowlist(overrides.allowlist ?? ''),
      });
      made.push(fetcher);
      return fetcher;
    },
    closeAll: async () => {
      await Promise.all(made.splice(0).map((f) => f.close()));
    },
  };
}

/** Awaits a rejection and checks it is a FaceVerifyError with `code`; returns it for more checks. */
export async function expectCode(promise: Promise<unknown>, code: ErrorCode): Promise<FaceVerifyError> {
  const err: unknown = await promise.then(
    () => new Error('resolved, but should have been refused'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(FaceVerifyError);
  expect((err as FaceVerifyError).code).toBe(code);
  return err as FaceVerifyError;
}
