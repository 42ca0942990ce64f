/**
 * Cold-start A/B benchmark (not a test): `faceverify verify` of two LFW photos as a whole process,
 * for one or more builds side by side, interleaved round by round so that a machine whose speed drifts
 * (this one does) affects each build alike. Prints the median, minimum and maximum per build.
 *
 *   npx tsx bench/cold-start.ts [--rounds 12] [BIN …]
 *
 * Each BIN is a `bin/faceverify.js` (default: this checkout's). To compare with an older commit:
 *   git worktree add ../old <commit> && (cd ../old && ln -s ../main/node_modules && npx tsc)
 *   npx tsx bench/cold-start.ts ../old/bin/faceverify.js bin/faceverify.js
 */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { FACES_DIR } from './faces-dir.js';
import { pageFaultMicros, stats } from './stats.js';

const { values, positionals } = parseArgs({
  options: { rounds: { type: 'string', default: '12' } },
  allowPositionals: true,
});
const rounds = Number(values.rounds);
const bins = (positionals.length > 0 ? positionals : ['bin/faceverify.js']).map((b) => resolve(b));
const a = `${FACES_DIR}/lfw/images/Aaron_Eckhart/Aaron_Eckhart_0001.jpg`;
const b = `${FACES_DIR}/lfw/images/Aaron_Peirsol/Aaron_Peirsol_0001.jpg`;

// One run each first: converts and caches the models (and ONNX Runtime's optimised graphs) where a
// build has not run yet, so every timed run starts from a warm disk cache as after the first use.
for (const bin of bins) execFileSync(process.execPath, [bin, 'verify', a, b, '--json']);

const times = new Map<string, number[]>(bins.map((bin) => [bin, []]));
for (let r = 0; r < rounds; r++) {
  for (const bin of bins) {
    const t = performance.now();
    execFileSync(process.execPath, [bin, 'verify', a, b, '--json']);
    times.get(bin)?.push(performance.now() - t);
  }
}
console.log(`${rounds} interleaved rounds; ${pageFaultMicros()} µs per fresh 4 KiB page`);
for (const [bin, samples] of times) {
  const s = stats(samples);
  console.log(
    `${bin}: median ${Math.round(s.median)} ms, min ${Math.round(s.min)}, p90 ${Math.round(s.p90)}`,
  );
}
