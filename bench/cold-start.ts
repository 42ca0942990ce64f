/**
 * Cold-start A/B benchmark (not a test): `faceverify verify` of two LFW photos as a whole process,
 * for one or more builds side by side, interleaved round by round so that a machine whose speed drifts
 * (this one does) affects each build alike. Prints the median, minimum and maximum per build.
 *
 *   npx tsx bench/cold-start.ts [--rounds 12] [--peer] [BIN …]
 *
 * Each BIN is a `bin/faceverify.js` (default: this checkout's). `--peer` adds the peer's cold verify of
 * the same two photos (bench/peer/human-cold-verify.js, as in bench/peer.ts) to every round and prints
 * each build's speed-up over it (issue #17 asks for ≥ 2×). To compare with an older commit:
 *   git worktree add ../old <commit> && (cd ../old && ln -s ../main/node_modules && npx tsc)
 *   npx tsx bench/cold-start.ts ../old/bin/faceverify.js bin/faceverify.js
 */
import { execFileSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FACES_DIR } from './faces-dir.js';
import { pageFaultMicros, stats } from './stats.js';

const { values, positionals } = parseArgs({
  options: { rounds: { type: 'string', default: '12' }, peer: { type: 'boolean', default: false } },
  allowPositionals: true,
});
const rounds = Number(values.rounds);
const bins = (positionals.length > 0 ? positionals : ['bin/faceverify.js']).map((b) => resolve(b));
const a = `${FACES_DIR}/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg`;
const b = `${FACES_DIR}/lfw/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg`;

const PEER = 'peer (@vladmandic/human)';
const command = (bin: string): string[] =>
  bin === PEER
    ? [new URL('peer/human-cold-verify.js', import.meta.url).pathname, a, b]
    : [bin, 'verify', a, b, '--json'];
if (values.peer) bins.push(PEER);

// One run each first: converts and caches the models (and ONNX Runtime's optimised graphs) where a
// build has not run yet, so every timed run starts from a warm disk cache as after the first use.
for (const bin of bins) execFileSync(process.execPath, command(bin));

const times = new Map<string, number[]>(bins.map((bin) => [bin, []]));
for (let r = 0; r < rounds; r++) {
  for (const bin of bins) {
    const t = performance.now();
    execFileSync(process.execPath, command(bin));
    times.get(bin)?.push(performance.now() - t);
  }
}
console.log(
  `${rounds} interleaved rounds; ${pageFaultMicros()} µs per fresh 4 KiB page; load average ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const peerMedian = values.peer ? stats(times.get(PEER) ?? []).median : undefined;
for (const [bin, samples] of times) {
  const s = stats(samples);
  const vsPeer =
    peerMedian !== undefined && bin !== PEER
      ? `, ${(peerMedian / s.median).toFixed(2)}× faster than the peer`
      : '';
  console.log(
    `${bin}: median ${Math.round(s.median)} ms, min ${Math.round(s.min)}, p90 ${Math.round(s.p90)}${vsPeer}`,
  );
}
