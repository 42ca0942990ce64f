// The guard's lookup and refusal, without sockets: resolution is injected. < 50 ms.
import type { LookupAddress, LookupOptions } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { parseAllowlist } from '../../../src/fetch/address-policy.js';
import { guardedLookup, refusal, type AddressGate } from '../../../src/fetch/ssrf-guard.js';

const closed: AddressGate = { allowPrivate: false, allowlist: parseAllowlist('') };

interface Answer {
  err: NodeJS.ErrnoException | null;
  address: string | LookupAddress[];
  family?: number | undefined;
}

function ask(gate: AddressGate, answers: LookupAddress[], options: LookupOptions): Promise<Answer> {
  const lookup = guardedLookup(gate, () => Promise.resolve(answers));
  return new Promise((resolve) =>
    lookup('host.test', options, (err, address, family) => resolve({ err, address, family })),
  );
}

describe('refusal', () => {
  it('refuses a forbidden address with URL_NOT_ALLOWED, keeping the address out of the message', () => {
    // Wrong if it fails: callers would get the wrong code, or learn internal addresses from the message.
    const err = refusal(closed, 'meta.test', '169.254.169.254');
    expect(err).toBeInstanceOf(FaceVerifyError);
    expect(err?.code).toBe('URL_NOT_ALLOWED');
    expect(err?.message).not.toContain('169.254');
    expect(String((err?.cause as Error).message)).toBe('meta.test -> 169.254.169.254 (link-local)');
  });

  it('lets through public addresses, everything with allowPrivate, and allowlisted hosts or blocks', () => {
    // Wrong if it fails: ALLOW_PRIVATE_URLS or URL_ALLOWLIST would not open what they say.
    expect(refusal(closed, 'a.test', '8.8.8.8')).toBeUndefined();
    expect(refusal({ ...closed, allowPrivate: true }, 'a.test', '127.0.0.1')).toBeUndefined();
    const gate = { allowPrivate: false, allowlist: parseAllowlist('intra.test,10.0.0.0/8') };
    expect(refusal(gate, 'intra.test', '192.168.1.1')).toBeUndefined();
    expect(refusal(gate, 'other.test', '10.2.3.4')).toBeUndefined();
    expect(refusal(gate, 'other.test', '192.168.1.1')?.code).toBe('URL_NOT_ALLOWED');
  });
});

describe('guardedLookup', () => {
  const both: LookupAddress[] = [
    { address: '2606:4700::1111', family: 6 },
    { address: '1.1.1.1', family: 4 },
  ];

  it('answers Node in both shapes: all addresses, or the first of the family asked for', async () => {
    // Wrong if it fails: sockets with or without happy eyeballs would not connect at all.
    expect(await ask(closed, both, { all: true })).toEqual({ err: null, address: both, family: undefined });
    expect(await ask(closed, both, {})).toEqual({ err: null, address: '2606:4700::1111', family: 6 });
    expect(await ask(closed, both, { family: 4 })).toEqual({ err: null, address: '1.1.1.1', family: 4 });
    expect((await ask(closed, [both[1]!], { family: 6 })).err?.code).toBe('ENOTFOUND');
  });

  it('refuses when any resolved address is forbidden, even one of another family than asked for', async () => {
    // Wrong if it fails: a name resolving to a public and a private address could reach the private one.
    const mixed = [...both, { address: '::ffff:127.0.0.1', family: 6 }];
    expect((await ask(closed, mixed, { all: true })).err?.code).toBe('URL_NOT_ALLOWED');
    expect((await ask(closed, mixed, { family: 4 })).err?.code).toBe('URL_NOT_ALLOWED');
  });

  it('passes resolution errors through', async () => {
    // Wrong if it fails: an unknown host would hang or turn into the wrong error.
    const lookup = guardedLookup(closed, () =>
      Promise.reject(Object.assign(new Error('nx'), { code: 'ENOTFOUND' })),
    );
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) =>
      lookup('x.test', { all: true }, resolve),
    );
    expect(err?.code).toBe('ENOTFOUND');
  });
});
