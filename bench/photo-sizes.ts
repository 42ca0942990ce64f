/**
 * Photo-size benchmark (not a test): time and memory per image against the photo's size — 0.3, 1, 3, 12
 * and 24 megapixels — for faceverify and the peer (@vladmandic/human, bench/peer/human-peer.js) on the
 * same photos in the same run, with LFW crops as the yardstick. Writes bench/results/photo-sizes.json
 * and prints Markdown (docs/performance.md, "Large photos").
 *
 *   npm run build && npx tsx bench/photo-sizes.ts [--runs 20] [--mem-pairs 8]
 *
 * - Photos: four real portraits of the shared set, each placed on a real landscape at each size with
 *   camera-like noise (`largePhoto` in bench/inputs.ts), built in memory, never written.
 * - Time per image: `analyze` in this process (decode, detect, align, embed; calling thread) and the
 *   peer's decode + detect + descriptor, alternating image by image and which engine goes first;
 *   medians, and each size's median as a multiple of the LFW median of the same engine.
 * - Memory: per size and engine, a fresh child process (bench/peer/verify-worker.js, plain node) warms
 *   up on LFW pairs, runs `--mem-pairs` LFW pairs, then as many pairs of that size: peak RSS after each.
 *   Ours runs as the service does, one inference thread per core with two verifications in flight, so
 *   the growth over LFW is what large photos add at full load (the budget is per inference thread).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import { DEFAULT_DECODE_OPTIONS } from '../src/pipeline/decode.js';
import { FaceAnalyzer } from '../src/pipeline/face-analyzer.js';
import { numberArg } from './args.js';
import { FACES_DIR } from './faces-dir.js';
import { largePhoto, lfwSample } from './inputs.js';
import { createHumanPeer } from './peer/human-peer.js';
import { ask, startWorker, stop } from './peer/worker-client.js';
import { pageFaultMicros, stats, type Stats } from './stats.js';

const runs = numberArg('runs', 20);
const memPairs = numberArg('mem-pairs', 8);
const warmup = 3;
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
const loadStart = loadavg();

const SIZES: [label: string, width: number, height: number][] = [
  ['0.3 MP (640×480)', 640, 480],
  ['1 MP (1152×864)', 1152, 864],
  ['3 MP (2000×1500)', 2000, 1500],
  ['12 MP (4000×3000)', 4000, 3000],
  ['24 MP (6000×4000)', 6000, 4000],
];
const PORTRAITS = [
  'sanity/deepface/img57.jpg',
  'sanity/deepface/img9.jpg',
  'sanity/face_recognition/obama/obama3.jpg',
  'sanity/face_recognition/alex_lacamoire/alex_lacamoire1.jpg',
];

log('loading both engines…');
const ours = await FaceAnalyzer.create();
// The same pipeline decoding every photo at MAX_IMAGE_DIMENSION (before the reduced decode), to show
// what the reduction saves in the same run.
const plain = await FaceAnalyzer.create({ decode: { ...DEFAULT_DECODE_OPTIONS, minReducedDimension: 0 } });
const peer = await createHumanPeer();
const oursAnalyze = (bytes: Uint8Array) => ours.analyze(bytes, { facePolicy: 'largest' });

const sets: { label: string; images: Buffer[]; megabytes: number }[] = [
  { label: 'LFW 250×250', images: lfwSample(12).map((p) => readFileSync(`${FACES_DIR}/${p}`)), megabytes: 0 },
];
for (const [label, w, h] of SIZES) {
  log(`making ${label} photos…`);
  const images = await Promise.all(PORTRAITS.map((p) => largePhoto(p, w, h)));
  for (const bytes of images) {
    await oursAnalyze(bytes);
    await peer.analyze(bytes);
  }
  sets.push({ label, images, megabytes: 0 });
}
for (const set of sets)
  set.megabytes = set.images.reduce((s, b) => s + b.length, 0) / set.images.length / 1e6;

interface Timing {
  ours: Stats;
  ours_without_reduction: Stats;
  peer: Stats;
  ours_stages: { decode: Stats; detect: Stats; embed: Stats };
}
async function perImage(images: Buffer[]): Promise<Timing> {
  const o: number[] = [];
  const p: number[] = [];
  const h: number[] = [];
  const stages = { decode: [] as number[], detect: [] as number[], embed: [] as number[] };
  for (let i = 0; i < warmup + runs; i++) {
    const bytes = images[i % images.length] as Buffer;
    const keep = i >= warmup;
    const oursOnce = async () => {
      const t = performance.now();
      const r = await oursAnalyze(bytes);
      if (!keep) return;
      o.push(performance.now() - t);
      for (const k of ['decode', 'detect', 'embed'] as const) stages[k].push(r.timings[k]);
    };
    const plainOnce = async () => {
      const t = performance.now();
      await plain.analyze(bytes, { facePolicy: 'largest' });
      if (keep) p.push(performance.now() - t);
    };
    const peerOnce = async () => {
      const t = performance.now();
      await peer.analyze(bytes);
      if (keep) h.push(performance.now() - t);
    };
    const order = [oursOnce, plainOnce, peerOnce];
    for (let k = 0; k < order.length; k++) await (order[(i + k) % order.length] as () => Promise<void>)();
  }
  return {
    ours: stats(o),
    ours_without_reduction: stats(p),
    peer: stats(h),
    ours_stages: { decode: stats(stages.decode), detect: stats(stages.detect), embed: stats(stages.embed) },
  };
}

const timing: Record<string, Timing> = {};
for (const set of sets) {
  log(`time per image: ${set.label}`);
  timing[set.label] = await perImage(set.images);
}
await ours.close();
await plain.close();

const lfwPairs = (sets[0] as { images: Buffer[] }).images.map((b, k, all) => [b, all[(k + 1) % all.length]]);
interface Memory {
  ours: { lfw_peak_mb: number; peak_mb: number };
  peer: { lfw_peak_mb: number; peak_mb: number };
}
const memory: Record<string, Memory> = {};
for (const set of sets.slice(1)) {
  log(`memory: ${set.label}`);
  const pairs = set.images.map((b, k, all) => [b, all[(k + 1) % all.length]]);
  const one = async (engine: 'ours' | 'human') => {
    const w = await startWorker(engine);
    await ask(w, { type: 'warmup', pairs: lfwPairs, count: 2 }, 'warm');
    const inFlight = engine === 'ours' ? 2 : 1;
    const lfw = await ask(w, { type: 'run', pairs: lfwPairs, inFlight, count: memPairs }, 'done');
    const big = await ask(w, { type: 'run', pairs, inFlight, count: memPairs }, 'done');
    await stop(w);
    return { lfw_peak_mb: Math.round(lfw.maxRssMb), peak_mb: Math.round(big.maxRssMb) };
  };
  memory[set.label] = { ours: await one('ours'), peer: await one('human') };
}

const result = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    page_fault_us: pageFaultMicros(),
    load_average_start: loadStart.map((v) => Math.round(v * 10) / 10),
    load_average_end: loadavg().map((v) => Math.round(v * 10) / 10),
  },
  node: process.version,
  peer: peer.versions,
  runs,
  portraits: PORTRAITS,
  file_mb: Object.fromEntries(sets.map((s) => [s.label, Math.round(s.megabytes * 100) / 100])),
  per_image_ms: timing,
  memory,
};
writeFileSync(new URL('results/photo-sizes.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);

const lfw = timing['LFW 250×250'] as Timing;
const x = (v: number, base: number): string => `${(v / base).toFixed(2)}×`;
console.log(
  `machine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.page_fault_us} µs per fresh page, load ${result.machine.load_average_start.join(' ')} → ${result.machine.load_average_end.join(' ')}; node ${result.node}; peer human ${peer.versions.human} (${peer.versions.backend}); ${runs} runs after ${warmup} warm-up`,
);
console.log(
  '\n| photo | JPEG MB | ours ms (decode / detect / embed) | × our LFW | ours without the reduced decode | human ms | × human LFW | ours faster by |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const set of sets) {
  const t = timing[set.label] as Timing;
  const s = t.ours_stages;
  console.log(
    `| ${set.label} | ${set.megabytes.toFixed(2)} | ${t.ours.median} (${s.decode.median} / ${s.detect.median} / ${s.embed.median}) | ${x(t.ours.median, lfw.ours.median)} | ${t.ours_without_reduction.median} | ${t.peer.median} | ${x(t.peer.median, lfw.peer.median)} | ${x(t.peer.median, t.ours.median)} |`,
  );
}
console.log(
  `\nPeak RSS (MB) of a fresh process: ${memPairs} LFW pairs, then ${memPairs} pairs of the size (ours: 2 inference threads, 2 pairs in flight; human: one at a time)`,
);
console.log(
  '| photo | ours after LFW | ours after the size | growth | human after LFW | human after the size | growth |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const [label, m] of Object.entries(memory)) {
  console.log(
    `| ${label} | ${m.ours.lfw_peak_mb} | ${m.ours.peak_mb} | +${m.ours.peak_mb - m.ours.lfw_peak_mb} | ${m.peer.lfw_peak_mb} | ${m.peer.peak_mb} | +${m.peer.peak_mb - m.peer.lfw_peak_mb} |`,
  );
}
