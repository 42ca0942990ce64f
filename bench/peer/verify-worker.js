/**
 * A child process that verifies pairs with one engine, driven by bench/peer.ts over IPC, so that each
 * engine's throughput and memory are its own (plain `node`, no TypeScript loader in the numbers).
 *
 *   engine "ours":  faceverify's library as a user imports it (`faceverify`, i.e. dist/: build first)
 *   engine "human": the peer (human-peer.js)
 *
 * Protocol: the child sends { type: 'ready', loadMs }; then, for each message
 *   { type: 'warmup', pairs, count }                      → { type: 'warm' }
 *   { type: 'run', pairs, inFlight, seconds | count }     → { type: 'done', pairs, ms, maxRssMb, rssMb }
 * and exits when the parent disconnects. `pairs` are [Uint8Array, Uint8Array] image pairs (sent with
 * advanced serialisation); a run cycles through them with `inFlight` verifications at once, either for
 * `seconds` or for exactly `count` pairs. maxRssMb is the process's peak RSS so far: VmHWM of /proc/self/status, which belongs to the
 * process's own address space. (`process.resourceUsage().maxRSS` is not: Linux carries the parent's
 * peak over fork and exec into it, so every child of a large benchmark process reported the parent's.)
 */
/* global process */
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';

const engine = process.argv[2];

async function load() {
  if (engine === 'ours') {
    // As the service runs it: one inference thread per core (INFERENCE_THREADS=auto).
    const { createVerifier } = await import('faceverify');
    const verifier = await createVerifier({ threads: availableParallelism() });
    return (a, b) => verifier.verify(a, b);
  }
  if (engine === 'human') {
    const { createHumanPeer } = await import('./human-peer.js');
    const peer = await createHumanPeer();
    return (a, b) => peer.verify(a, b);
  }
  throw new Error(`unknown engine ${engine}`);
}

const t0 = performance.now();
const verify = await load();
const send = (msg) => new Promise((resolve) => process.send?.(msg, undefined, undefined, resolve));

/** Peak resident set of this process's address space, in MB (Linux; resourceUsage elsewhere). */
function peakRssMb() {
  try {
    const hwm = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (hwm) return Number(hwm[1]) / 1024;
  } catch {
    // not Linux
  }
  return process.resourceUsage().maxRSS / 1024;
}

async function run({ pairs, inFlight = 1, seconds, count }) {
  let next = 0;
  let done = 0;
  const start = performance.now();
  const end = seconds ? start + seconds * 1000 : Infinity;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end && (count === undefined || next < count)) {
        const [a, b] = pairs[next++ % pairs.length];
        await verify(a, b);
        done++;
      }
    }),
  );
  const ms = performance.now() - start;
  return {
    pairs: done,
    ms,
    maxRssMb: peakRssMb(),
    rssMb: process.memoryUsage().rss / 2 ** 20,
  };
}

process.on('message', (msg) => {
  const job =
    msg.type === 'warmup'
      ? run({ pairs: msg.pairs, count: msg.count }).then(() => ({ type: 'warm' }))
      : run(msg).then((r) => ({ type: 'done', ...r }));
  job.then(send, (err) => send({ type: 'error', message: String(err?.stack ?? err) }));
});
process.on('disconnect', () => process.exit(0));
await send({ type: 'ready', loadMs: performance.now() - t0 });
