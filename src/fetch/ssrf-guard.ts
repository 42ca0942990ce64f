/**
 * An undici dispatcher that only connects to addresses the address policy allows, checked on the
 * address actually dialled.
 *
 * Host names: the socket's `lookup` is ours. It resolves the name once (all addresses), refuses the
 * connection if any of them is forbidden, and hands Node exactly the addresses it checked, so Node dials
 * one of those and nothing else; a second resolution that answers 127.0.0.1 (DNS rebinding) never
 * reaches a socket. IP literals: Node skips `lookup` for them, so the connector checks them before
 * dialling (the URL parser has already turned `2130706433` and `0x7f.1` into `127.0.0.1`). Last, once a
 * socket is connected its `remoteAddress` is checked again and the socket dropped before any request
 * is written, should some future path dial around `lookup`.
 *
 * Refusals are `FaceVerifyError('URL_NOT_ALLOWED')`; the address and range go in the error's `cause`
 * (for logs), never in the message a caller sees.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import type { LookupAddress, LookupOptions } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector } from 'undici';
import { FaceVerifyError } from '../errors.js';
import { forbiddenRange, isAllowed, normaliseHost, type Allowlist } from './address-policy.js';

/** Resolves a host name to all its addresses (`dns.lookup` with `all: true` by default). */
export type ResolveHost = (hostname: string) => Promise<readonly LookupAddress[]>;

export interface AddressGate {
  /** Allow every address (an intranet deployment that fetches from its own network). */
  allowPrivate: boolean;
  /** Hosts and address blocks allowed even though the policy forbids them. */
  allowlist: Allowlist;
}

export interface GuardedDispatcherOptions extends AddressGate {
  connectTimeoutMs: number;
  /** For tests: resolve names without real DNS. */
  lookup?: ResolveHost;
}

const defaultResolve: ResolveHost = (hostname) => dnsLookup(hostname, { all: true });

/**
 * The refusal for connecting to `address` for the URL host `hostname`, or undefined if it is allowed.
 *
 * @example
 * refusal({ allowPrivate: false, allowlist: [] }, 'localhost', '127.0.0.1'); // FaceVerifyError
 */
export function refusal(gate: AddressGate, hostname: string, address: string): FaceVerifyError | undefined {
  if (gate.allowPrivate) return undefined;
  const range = forbiddenRange(address);
  if (range === undefined || isAllowed({ hostname, address }, gate.allowlist)) return undefined;
  return new FaceVerifyError(
    'URL_NOT_ALLOWED',
    'The image URL points to an address that is not allowed',
    undefined,
    {
      cause: new Error(`${normaliseHost(hostname)} -> ${address} (${range})`),
    },
  );
}

function wantedFamily(family: LookupOptions['family']): 0 | 4 | 6 {
  if (family === 4 || family === 'IPv4') return 4;
  if (family === 6 || family === 'IPv6') return 6;
  return 0;
}

/**
 * A `lookup` for `net.connect`: resolves once, checks every address, and passes on only what it
 * checked. Answers in both shapes Node asks for (`all: true` with happy eyeballs, or one address).
 */
export function guardedLookup(gate: AddressGate, resolve: ResolveHost = defaultResolve): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname).then(
      (resolved) => {
        for (const { address } of resolved) {
          const refused = refusal(gate, hostname, address);
          if (refused) return callback(refused, []);
        }
        const family = wantedFamily(options.family);
        const usable = resolved.filter((a) => family === 0 || a.family === family);
        const first = usable[0];
        if (!first) {
          const err: NodeJS.ErrnoException = new Error(`getaddrinfo ENOTFOUND ${hostname}`);
          err.code = 'ENOTFOUND';
          return callback(err, []);
        }
        if (options.all)
          return callback(
            null,
            usable.map(({ address, family: f }) => ({ address, family: f })),
          );
        return callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, []),
    );
  };
}

/**
 * Wraps a connector: IP-literal hosts are checked before dialling (Node never calls `lookup` for them)
 * and every connected socket's remote address is checked before it is handed to undici.
 */
export function guardConnector(
  connect: buildConnector.connector,
  gate: AddressGate,
): buildConnector.connector {
  return (options, callback) => {
    const hostname = normaliseHost(options.hostname);
    if (isIP(hostname)) {
      const refused = refusal(gate, hostname, hostname);
      if (refused) return callback(refused, null);
    }
    connect(options, (...args) => {
      const [err, socket] = args;
      if (err) return callback(err, null);
      const remote = socket.remoteAddress;
      const refused =
        remote === undefined
          ? new FaceVerifyError('DOWNLOAD_FAILED', 'The connection to the image server was lost')
          : refusal(gate, hostname, remote);
      if (refused) {
        socket.destroy();
        return callback(refused, null);
      }
      callback(null, socket);
    });
  };
}

/**
 * An undici `Agent` for untrusted URLs: connects only to addresses the policy or the gate allows.
 *
 * @example
 * const dispatcher = createGuardedDispatcher({ allowPrivate: false, allowlist: [], connectTimeoutMs: 5000 });
 * await fetchImage('https://example.com/face.jpg', { ...DEFAULT_FETCH_OPTIONS, dispatcher });
 */
export function createGuardedDispatcher(options: GuardedDispatcherOptions): Agent {
  const gate: AddressGate = { allowPrivate: options.allowPrivate, allowlist: options.allowlist };
  const connector = buildConnector({
    timeout: options.connectTimeoutMs,
    lookup: guardedLookup(gate, options.lookup),
  });
  return new Agent({ connect: guardConnector(connector, gate) });
}
