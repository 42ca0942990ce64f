// The guard on https over a real TLS socket on 127.0.0.1: tls.connect uses the guarded lookup, and the
// certificate is still checked against the host name, not the dialled address. Needs the openssl CLI
// for a throwaway certificate (skipped without it). < 1 s.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, buildConnector } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllowlist } from '../../../src/fetch/address-policy.js';
import { DEFAULT_FETCH_OPTIONS, fetchImage } from '../../../src/fetch/fetch-image.js';
import { guardConnector, guardedLookup, type AddressGate } from '../../../src/fetch/ssrf-guard.js';
import { expectCode, hostTable } from './fetch-support.js';

const HOST = 'images.intranet';

/** A self-signed certificate for HOST, or undefined if openssl is not installed. */
function makeCertificate(): { key: Buffer; cert: Buffer } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'faceverify-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
        ...['-days', '1', '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`],
        ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
      ],
      { stdio: 'ignore' },
    );
    return { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const certificate = makeCertificate();
let server: Server;
let port = 0;

beforeAll(async () => {
  if (!certificate) return;
  server = createServer(certificate, (req, res) => res.end(`tls ${req.headers.host ?? ''}`));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  if (!certificate) return;
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The guarded dispatcher as createGuardedDispatcher builds it, plus the test certificate as CA. */
async function fetchOver(allowlist: string, url: string): Promise<Uint8Array> {
  const gate: AddressGate = { allowPrivate: false, allowlist: parseAllowlist(allowlist) };
  const lookup = hostTable({ [HOST]: ['127.0.0.1'], 'other.intranet': ['127.0.0.1'] });
  const connector = buildConnector({
    timeout: 60_000, // a hang guard: connecting (with TLS here) can take seconds on a busy machine
    ca: certificate?.cert,
    lookup: guardedLookup(gate, lookup),
  });
  const dispatcher = new Agent({ connect: guardConnector(connector, gate) });
  try {
    return await fetchImage(url, { ...DEFAULT_FETCH_OPTIONS, dispatcher });
  } finally {
    await dispatcher.close();
  }
}

describe.skipIf(!certificate)('https through the guard', () => {
  it('connects to an allowlisted name over TLS, verifying the certificate for that name', async () => {
    // Wrong if it fails: https sources behind the guard would not work at all.
    const bytes = await fetchOver(HOST, `https://${HOST}:${port}/`);
    expect(Buffer.from(bytes).toString()).toBe(`tls ${HOST}:${port}`);
  });

  it('refuses the same name when not allowlisted: tls.connect resolved through the guard', async () => {
    // Wrong if it fails: https would bypass the address check.
    await expectCode(fetchOver('', `https://${HOST}:${port}/`), 'URL_NOT_ALLOWED');
  });

  it('still rejects a certificate for another name', async () => {
    // Wrong if it fails: connecting by checked address would have dropped hostname verification.
    const err = await expectCode(
      fetchOver('other.intranet', `https://other.intranet:${port}/`),
      'DOWNLOAD_FAILED',
    );
    expect((err.cause as Error).message).toMatch(/altnames/);
  });
});
