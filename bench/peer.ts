/**
 * Peer benchmark (not a test): faceverify against @vladmandic/human 3.3.6 (BlazeFace + `faceres` on
 * tfjs-backend-wasm 4.22.0, the fastest backend that installs offline) in one run, on the same real
 * photos, plus the FLOPs floor of our models. Writes bench/results/peer.json and prints Markdown.
 *
 *   npm run build && npx tsx bench/peer.ts [--runs 40] [--seconds 8] [--rounds 3] [--cold 7]
 *                                          [--mem-pairs 30] [--in-flight 2,4] [--gflops 50]
 *
 * What is measured, and how bias from a shared machine is kept down (the lead runs other work here):
 * - time per image (decode + detect + descriptor, one image at a time, after warm-up), in this process:
 *   ours (`analyze`: decode, MTCNN, align, MobileFaceNet on the crop and its mirror) and human
 *   (sharp decode → tensor → `human.detect`) alternate image by image, which one goes first swapping;
 * - verify pairs per second with both cores busy, each engine in its own child process(es) running plain
 *   `node` (ours: one process with one inference thread per core and several verifications in flight, the best of the `--in-flight`
 *   settings; human: one single-threaded WASM process per core, its best arrangement, also shown with
 *   one process); rounds alternate engines;
 * - cold start: a whole process from spawn to printed answer of a two-image verify (ours: the CLI;
 *   human: bench/peer/human-cold-verify.js), one unmeasured run each, then alternating runs, median;
 * - memory: peak RSS (VmHWM, the address space's own peak) of a fresh process doing a bounded loop of
 *   verifications (ours with its largest in-flight setting, human sequentially), alternating, median;
 * - the floor: multiply-adds of our four nets (bench/peer/model-flops.ts) with the MTCNN candidate
 *   counts observed on these images, as milliseconds at `--gflops` GFLOP/s on one core.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { performance } from 'node:perf_hooks';
import sharp from 'sharp';
import { MOBILEFACENET, MTCNN } from '../src/models/builtin.js';
import type { ModelSource } from '../src/models/manifest.js';
import { prepareModel, resolveSourcePath } from '../src/models/prepare.js';
import { MtcnnDetector, pyramidScales } from '../src/pipeline/mtcnn/mtcnn.js';
import { createVerifier } from '../src/create-verifier.js';
import { createSession, type InferenceSession } from '../src/runtime/onnx-session.js';
import { FACES_DIR } from './faces-dir.js';
import { createHumanPeer } from './peer/human-peer.js';
import { countTflite, loadCounted } from './peer/model-flops.js';
import { ask, startWorker, stop, type Worker } from './peer/worker-client.js';
import { numberArg } from './args.js';
import { lfwSample } from './inputs.js';
import { median, pageFaultMicros, stats, type Stats } from './stats.js';

const runs = numberArg('runs', 40);
const seconds = numberArg('seconds', 8);
const rounds = numberArg('rounds', 3);
const coldRuns = numberArg('cold', 7);
const memPairs = numberArg('mem-pairs', 30);
const inFlightArg = process.argv.indexOf('--in-flight');
const inFlights =
  inFlightArg > 0
    ? (process.argv[inFlightArg + 1] ?? '')
        .split(',')
        .map(Number)
        .filter((k) => k > 0)
    : [2, 4];
if (inFlights.length === 0) throw new Error('--in-flight takes a list such as 2,4');
const memInFlight = Math.max(...inFlights);
const gflops = numberArg('gflops', 50);
const warmup = 5;
const r2 = (v: number): number => Math.round(v * 100) / 100;
const cores = cpus().length;

const root = new URL('..', import.meta.url).pathname;
const cli = `${root}bin/faceverify.js`;
if (!existsSync(`${root}dist/index.js`)) throw new Error('dist/ is missing: run `npm run build` first');
const log = (msg: string): void => void process.stderr.write(`${msg}\n`);
const loadStart = loadavg();

// ---------------------------------------------------------------------------------------------------
// Images: 250×250 LFW crops of different people, and real photos resized in memory to 640×480
// (cover, keeping the top: portraits have the face there). Only images in which both engines find a face.
const lfwFiles = lfwSample(12);
const photoFiles = [
  'obama/obama-480p.jpg',
  'obama/obama2.jpg',
  'obama/obama.jpg',
  'obama/obama1.jpg',
  'obama/obama3.jpg',
  'biden/biden.jpg',
  'biden/biden2.jpg',
  'kit_harington/john1.jpeg',
  'kit_harington/john2.jpeg',
  'rose_leslie/rose_leslie_img1.jpg',
  'rose_leslie/rose_leslie_img2.jpg',
  'alex_lacamoire/alex_lacamoire1.jpg',
  'alex_lacamoire/alex_lacamoire_img1.jpg',
  'lin_manuel_miranda/lin-manuel-miranda.png',
].map((f) => `sanity/face_recognition/${f}`);

const readImage = (p: string): Buffer => readFileSync(`${FACES_DIR}/${p}`);
const to640 = (p: string): Promise<Buffer> =>
  sharp(readImage(p))
    .rotate()
    .resize(640, 480, { fit: 'cover', position: 'north' })
    .jpeg({ quality: 90 })
    .toBuffer();

log('loading both engines…');
const ours = await createVerifier();
const peer = await createHumanPeer();

async function usable(files: string[], load: (p: string) => Buffer | Promise<Buffer>) {
  const out: { file: string; bytes: Buffer }[] = [];
  const skipped: string[] = [];
  for (const file of files) {
    const bytes = await load(file);
    try {
      await ours.analyze(bytes);
      await peer.analyze(bytes);
      out.push({ file, bytes });
    } catch (err) {
      skipped.push(`${file}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return { images: out, skipped };
}
const lfw = await usable(lfwFiles, readImage);
const photos = await usable(photoFiles, to640);
for (const s of [...lfw.skipped, ...photos.skipped]) log(`skipped ${s}`);
if (lfw.images.length < 4 || photos.images.length < 4) throw new Error('too few usable images');

// ---------------------------------------------------------------------------------------------------
// 1. Time per image, interleaved image by image.
interface PerImage {
  images: number;
  ours: Stats;
  peer: Stats;
  ours_stages: { decode: Stats; detect: Stats; align_embed: Stats };
  peer_engine: Stats;
}
async function perImage(label: string, images: { bytes: Buffer }[]): Promise<PerImage> {
  log(`time per image: ${label}`);
  const o: number[] = [];
  const h: number[] = [];
  const stages = { decode: [] as number[], detect: [] as number[], embed: [] as number[] };
  const hEngine: number[] = [];
  const oursOnce = async (bytes: Buffer, keep: boolean) => {
    const t = performance.now();
    const r = await ours.analyze(bytes);
    if (!keep) return;
    o.push(performance.now() - t);
    stages.decode.push(r.timings.decode);
    stages.detect.push(r.timings.detect);
    stages.embed.push(r.timings.embed);
  };
  const peerOnce = async (bytes: Buffer, keep: boolean) => {
    const t = performance.now();
    await peer.analyze(bytes);
    if (!keep) return;
    h.push(performance.now() - t);
    // human's own account of its detect call (detector + descriptor, without our decode).
    hEngine.push(peer.human.performance.total ?? NaN);
  };
  for (let i = 0; i < warmup + runs; i++) {
    const { bytes } = images[i % images.length] as { bytes: Buffer };
    const keep = i >= warmup;
    if (i % 2) {
      await oursOnce(bytes, keep);
      await peerOnce(bytes, keep);
    } else {
      await peerOnce(bytes, keep);
      await oursOnce(bytes, keep);
    }
  }
  return {
    images: images.length,
    ours: stats(o),
    peer: stats(h),
    ours_stages: {
      decode: stats(stages.decode),
      detect: stats(stages.detect),
      align_embed: stats(stages.embed),
    },
    peer_engine: stats(hEngine.filter(Number.isFinite)),
  };
}
const perImageResults = {
  'LFW 250×250': await perImage('LFW 250×250', lfw.images),
  '640×480': await perImage('640×480', photos.images),
};

// ---------------------------------------------------------------------------------------------------
// 2. The FLOPs floor, with MTCNN's candidate counts observed on these images.
const counted = async (name: string, source: ModelSource) => {
  const graph = await loadCounted(name, source);
  return {
    graph,
    sha256: createHash('sha256')
      .update(readFileSync(resolveSourcePath(source)))
      .digest('hex'),
  };
};
const pnet = await counted('mtcnn-pnet', MTCNN.stages.pnet);
const rnet = await counted('mtcnn-rnet', MTCNN.stages.rnet);
const onet = await counted('mtcnn-onet', MTCNN.stages.onet);
const mfn = await counted('mobilefacenet', MOBILEFACENET.source);
const perCrop = { rnet: countTflite(rnet.graph), onet: countTflite(onet.graph), mfn: countTflite(mfn.graph) };

/** Wraps a session to record the batch size (or spatial size) of every run. */
function recording(session: InferenceSession, seen: (dims: readonly number[]) => void): InferenceSession {
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    device: session.device,
    run(feeds) {
      const first = Object.values(feeds)[0];
      if (first) seen(first.dims);
      return session.run(feeds);
    },
    release: () => session.release(),
  };
}
const sessionOf = async (name: string, source: ModelSource) =>
  createSession((await prepareModel(name, source)).onnx);
let calls = { pnetLevels: [] as number[][], rnet: 0, onet: 0 };
const detector = new MtcnnDetector(MTCNN, {
  pnet: recording(await sessionOf('mtcnn-pnet', MTCNN.stages.pnet), (d) => calls.pnetLevels.push([...d])),
  rnet: recording(await sessionOf('mtcnn-rnet', MTCNN.stages.rnet), (d) => (calls.rnet += d[0] ?? 0)),
  onet: recording(await sessionOf('mtcnn-onet', MTCNN.stages.onet), (d) => (calls.onet += d[0] ?? 0)),
});

async function floor(label: string, width: number, height: number, images: { bytes: Buffer }[]) {
  const detect = ours.analyzer.settings.detect;
  // P-Net over the pyramid, level sizes as our detector makes them (ceil of size · scale, ≥ 12).
  const levels = pyramidScales(width, height, detect).map((s) => [
    Math.max(12, Math.ceil(width * s)),
    Math.max(12, Math.ceil(height * s)),
  ]);
  const pnetMacs = levels.reduce(
    (sum, [w, h]) => sum + countTflite(pnet.graph, [w as number, h as number]).macs,
    0,
  );
  const rnetCrops: number[] = [];
  const onetCrops: number[] = [];
  for (const { bytes } of images) {
    const { data, info } = await sharp(bytes).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    calls = { pnetLevels: [], rnet: 0, onet: 0 };
    await detector.detect({ data, width: info.width, height: info.height, channels: 3 }, detect);
    const observed = calls.pnetLevels.map((d) => [d[2], d[3]].join('×')).sort();
    const expected = levels.map(([w, h]) => `${w}×${h}`).sort();
    if (info.width === width && observed.join() !== expected.join()) {
      throw new Error(`P-Net levels ${observed.join()} differ from the computed ${expected.join()}`);
    }
    rnetCrops.push(calls.rnet);
    onetCrops.push(calls.onet);
  }
  const nR = median(rnetCrops);
  const nO = median(onetCrops);
  const detectMacs = pnetMacs + nR * perCrop.rnet.macs + nO * perCrop.onet.macs;
  // MobileFaceNet on the aligned crop and on its mirror (manifest `flip`).
  const embeds = MOBILEFACENET.flip ? 2 : 1;
  const embedMacs = embeds * perCrop.mfn.macs;
  const ms = (macs: number): number => Math.round(((2 * macs) / (gflops * 1e9)) * 1e5) / 100;
  const measured = perImageResults[label as keyof typeof perImageResults];
  return {
    image: `${width}×${height}`,
    min_face: detect.minFaceSize,
    scale_factor: detect.scaleFactor,
    pnet_levels: levels.map(([w, h]) => `${w}×${h}`),
    pnet_macs: pnetMacs,
    rnet_crops_median: nR,
    onet_crops_median: nO,
    detect_macs: detectMacs,
    embed_networks_per_face: embeds,
    embed_macs: embedMacs,
    total_macs: detectMacs + embedMacs,
    total_gflop: Math.round((2 * (detectMacs + embedMacs)) / 1e6) / 1e3,
    floor_ms_at_gflops: { detect: ms(detectMacs), embed: ms(embedMacs), total: ms(detectMacs + embedMacs) },
    measured_median_ms: {
      detect: measured.ours_stages.detect.median,
      align_embed: measured.ours_stages.align_embed.median,
      whole_image: measured.ours.median,
    },
    // What the measured medians amount to (the embed time includes the 112×112 warp).
    achieved_gflops: {
      detect: r2((2 * detectMacs) / (measured.ours_stages.detect.median * 1e6)),
      embed: r2((2 * embedMacs) / (measured.ours_stages.align_embed.median * 1e6)),
    },
  };
}
log('FLOPs floor');
const floors = {
  'LFW 250×250': await floor('LFW 250×250', 250, 250, lfw.images),
  '640×480': await floor('640×480', 640, 480, photos.images),
};
await detector.release();
await ours.close();

const networks = {
  mtcnn_pnet_12x12: { ...countTflite(pnet.graph, [12, 12]), sha256: pnet.sha256.slice(0, 12) },
  mtcnn_rnet_24x24: { ...perCrop.rnet, sha256: rnet.sha256.slice(0, 12) },
  mtcnn_onet_48x48: { ...perCrop.onet, sha256: onet.sha256.slice(0, 12) },
  mobilefacenet_112x112: { ...perCrop.mfn, sha256: mfn.sha256.slice(0, 12) },
};

// ---------------------------------------------------------------------------------------------------
// 3. Throughput and memory in child processes (plain node, own heaps).
const pairs = photos.images.map((img, k) => [
  img.bytes,
  (photos.images[(k + 1) % photos.images.length] as { bytes: Buffer }).bytes,
]);

async function runGroup(ws: Worker[], msg: object) {
  const done = await Promise.all(ws.map((w) => ask(w, { type: 'run', ...msg }, 'done')));
  const total = done.reduce((s, d) => s + d.pairs, 0);
  const ms = Math.max(...done.map((d) => d.ms));
  return { pairsPerS: (total * 1000) / ms, rssMb: done.reduce((s, d) => s + d.rssMb, 0) };
}

log(`throughput: ${rounds} rounds of ${seconds} s per engine`);
const oursW = [await startWorker('ours')];
const humanW = await Promise.all(Array.from({ length: cores }, () => startWorker('human')));
for (const w of oursW) await ask(w, { type: 'warmup', pairs, count: 8 }, 'warm');
await Promise.all(humanW.map((w) => ask(w, { type: 'warmup', pairs, count: 3 }, 'warm')));
const tp = {
  ours: new Map(inFlights.map((k) => [k, [] as number[]])),
  oursRss: new Map(inFlights.map((k) => [k, [] as number[]])),
  human: [] as number[],
  humanRss: [] as number[],
  human1: [] as number[],
};
for (let r = 0; r < rounds; r++) {
  const runOurs = async () => {
    for (const k of r % 2 ? inFlights : [...inFlights].reverse()) {
      const o = await runGroup(oursW, { pairs, seconds, inFlight: k });
      tp.ours.get(k)?.push(o.pairsPerS);
      tp.oursRss.get(k)?.push(o.rssMb);
    }
  };
  const runHuman = async () => {
    const h = await runGroup(humanW, { pairs, seconds, inFlight: 1 });
    tp.human.push(h.pairsPerS);
    tp.humanRss.push(h.rssMb);
    tp.human1.push((await runGroup(humanW.slice(0, 1), { pairs, seconds, inFlight: 1 })).pairsPerS);
  };
  if (r % 2) {
    await runOurs();
    await runHuman();
  } else {
    await runHuman();
    await runOurs();
  }
}
await Promise.all([...oursW, ...humanW].map(stop));

log(`memory: ${memPairs} verifications per fresh process, 3 times each`);
const mem = { ours: [] as number[], human: [] as number[] };
for (let r = 0; r < 3; r++) {
  for (const engine of r % 2 ? (['human', 'ours'] as const) : (['ours', 'human'] as const)) {
    const w = await startWorker(engine);
    const d = await ask(
      w,
      { type: 'run', pairs, count: memPairs, inFlight: engine === 'ours' ? memInFlight : 1 },
      'done',
    );
    mem[engine].push(d.maxRssMb);
    await stop(w);
  }
}

// ---------------------------------------------------------------------------------------------------
// 4. Cold start: whole processes, two LFW photos of one person.
const pa = `${FACES_DIR}/lfw/images/Abel_Pacheco/Abel_Pacheco_0001.jpg`;
const pb = `${FACES_DIR}/lfw/images/Abel_Pacheco/Abel_Pacheco_0004.jpg`;
const coldCmd = {
  ours: [cli, 'verify', pa, pb, '--json'],
  human: [new URL('peer/human-cold-verify.js', import.meta.url).pathname, pa, pb],
};
const coldOnce = (engine: 'ours' | 'human'): number => {
  const t = performance.now();
  const out = execFileSync(process.execPath, coldCmd[engine], { encoding: 'utf8' });
  const ms = performance.now() - t;
  JSON.parse(out); // the answer was printed
  return ms;
};
log(`cold start: ${coldRuns} runs each`);
coldOnce('ours');
coldOnce('human');
const cold = { ours: [] as number[], human: [] as number[] };
for (let r = 0; r < coldRuns; r++) {
  for (const engine of r % 2 ? (['human', 'ours'] as const) : (['ours', 'human'] as const)) {
    cold[engine].push(coldOnce(engine));
  }
}

// ---------------------------------------------------------------------------------------------------
// Report.
// Read from the installed package.json files (human's "exports" map does not expose its own).
const version = (pkg: string): string =>
  (
    JSON.parse(
      readFileSync(
        pkg === 'faceverify' ? `${root}package.json` : `${root}node_modules/${pkg}/package.json`,
        'utf8',
      ),
    ) as { version: string }
  ).version;
// ours/peer as asked, and how many times better ours is (> 1: ours better) for reading at a glance.
const ratio = (a: number, b: number, higherIsBetter = false) => ({
  ours_over_peer: r2(a / b),
  ours_better_by: r2(higherIsBetter ? a / b : b / a),
});
const bestInFlight = inFlights.reduce((best, k) =>
  median(tp.ours.get(k) ?? []) > median(tp.ours.get(best) ?? []) ? k : best,
);
const tpOurs = median(tp.ours.get(bestInFlight) ?? []);
const tpHuman = median(tp.human);
const coldOurs = stats(cold.ours);
const coldHuman = stats(cold.human);
const memOurs = median(mem.ours);
const memHuman = median(mem.human);

const result = {
  date: new Date().toISOString(),
  machine: {
    cpu: cpus()[0]?.model,
    cores,
    memory_gb: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    page_fault_us: pageFaultMicros(),
    load_average_1m: { start: r2(loadStart[0] ?? NaN), end: r2(loadavg()[0] ?? NaN) },
    note: 'possibly shared with other work: engines alternate per image, per round and per run',
  },
  node: process.version,
  versions: {
    faceverify: version('faceverify'),
    'onnxruntime-node': version('onnxruntime-node'),
    sharp: version('sharp'),
    '@vladmandic/human': version('@vladmandic/human'),
    '@tensorflow/tfjs': version('@tensorflow/tfjs'),
    '@tensorflow/tfjs-backend-wasm': version('@tensorflow/tfjs-backend-wasm'),
  },
  peer: {
    config: 'BlazeFace detector + faceres descriptor; no mesh, iris, emotion, body, hand, filters, caching',
    backend: peer.versions.backend,
    wasm_simd: peer.versions.simd,
    wasm_multithread: peer.versions.multithread,
  },
  settings: {
    runs,
    warmup,
    seconds,
    rounds,
    cold_runs: coldRuns,
    mem_pairs: memPairs,
    in_flight: inFlights,
  },
  images: {
    lfw: lfw.images.map((i) => i.file),
    photos_640x480: photos.images.map((i) => i.file),
    skipped: [...lfw.skipped, ...photos.skipped],
  },
  time_per_image_ms: perImageResults,
  verify_pairs_per_s: {
    ours: {
      median: r2(tpOurs),
      processes: 1,
      in_flight: bestInFlight,
      by_in_flight: Object.fromEntries(
        inFlights.map((k) => [
          k,
          { median: r2(median(tp.ours.get(k) ?? [])), rounds: tp.ours.get(k)?.map(r2) },
        ]),
      ),
    },
    peer: { median: r2(tpHuman), rounds: tp.human.map(r2), processes: cores, in_flight: 1 },
    peer_one_process: { median: r2(median(tp.human1)), rounds: tp.human1.map(r2) },
    rss_mb_end_of_run: {
      ours: r2(median(tp.oursRss.get(bestInFlight) ?? [])),
      peer_all_processes: r2(median(tp.humanRss)),
    },
  },
  cold_start_ms: { ours: coldOurs, peer: coldHuman, commands: coldCmd },
  peak_rss_mb: {
    ours: { median: r2(memOurs), runs: mem.ours.map(r2), in_flight: memInFlight },
    peer: { median: r2(memHuman), runs: mem.human.map(r2), in_flight: 1 },
    pairs_per_process: memPairs,
  },
  ratios: {
    time_per_image_lfw: ratio(
      perImageResults['LFW 250×250'].ours.median,
      perImageResults['LFW 250×250'].peer.median,
    ),
    time_per_image_640x480: ratio(
      perImageResults['640×480'].ours.median,
      perImageResults['640×480'].peer.median,
    ),
    verify_pairs_per_s: ratio(tpOurs, tpHuman, true),
    cold_start: ratio(coldOurs.median, coldHuman.median),
    peak_rss: ratio(memOurs, memHuman),
  },
  flops: { gflops_assumed_single_core: gflops, networks, floors },
};
writeFileSync(new URL('results/peer.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);

const R = result.ratios;
const t = perImageResults;
const row = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;
console.log(
  [
    `# faceverify vs @vladmandic/human ${result.versions['@vladmandic/human']} (${result.date})`,
    '',
    `machine: ${result.machine.cpu}, ${cores} cores, ${result.machine.memory_gb} GB, Linux ${result.machine.kernel}, ${result.machine.page_fault_us} µs per fresh 4 KiB page; node ${result.node}`,
    `load average (1 min) ${result.machine.load_average_1m.start} at start, ${result.machine.load_average_1m.end} at end — the machine may be shared: ours and the peer alternate per image, per round and per run.`,
    `versions: ${Object.entries(result.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(
        ', ',
      )}; peer on ${peer.versions.backend} (SIMD ${String(peer.versions.simd)}, threads ${String(peer.versions.multithread)})`,
    `models: ${Object.entries(networks)
      .map(([k, v]) => `${k} ${v.sha256}`)
      .join(', ')}`,
    `images: ${lfw.images.length} LFW 250×250, ${photos.images.length} photos resized to 640×480 in memory; ${runs} runs after ${warmup} warm-up`,
    '',
    row(['measure', 'ours', 'peer (human)', 'ours/peer', 'ours better by']),
    row(['---', '---', '---', '---', '---']),
    row([
      'time per image, LFW 250×250 (ms, median / p90)',
      `${t['LFW 250×250'].ours.median} / ${t['LFW 250×250'].ours.p90}`,
      `${t['LFW 250×250'].peer.median} / ${t['LFW 250×250'].peer.p90}`,
      R.time_per_image_lfw.ours_over_peer,
      `${R.time_per_image_lfw.ours_better_by}×`,
    ]),
    row([
      'time per image, 640×480 (ms, median / p90)',
      `${t['640×480'].ours.median} / ${t['640×480'].ours.p90}`,
      `${t['640×480'].peer.median} / ${t['640×480'].peer.p90}`,
      R.time_per_image_640x480.ours_over_peer,
      `${R.time_per_image_640x480.ours_better_by}×`,
    ]),
    row([
      `verify pairs/s, 640×480, both cores busy (median of ${rounds} × ${seconds} s)`,
      `${r2(tpOurs)} (1 process, ${bestInFlight} in flight; ${inFlights
        .map((k) => `${k}: ${r2(median(tp.ours.get(k) ?? []))}`)
        .join(', ')})`,
      `${r2(tpHuman)} (${cores} processes; 1 process: ${r2(median(tp.human1))})`,
      R.verify_pairs_per_s.ours_over_peer,
      `${R.verify_pairs_per_s.ours_better_by}×`,
    ]),
    row([
      `cold start, two-image verify process (ms, median of ${coldRuns} / p90)`,
      `${coldOurs.median} / ${coldOurs.p90}`,
      `${coldHuman.median} / ${coldHuman.p90}`,
      R.cold_start.ours_over_peer,
      `${R.cold_start.ours_better_by}×`,
    ]),
    row([
      `peak RSS, ${memPairs} verifications in a fresh process (MB, median of 3)`,
      `${r2(memOurs)} (${memInFlight} in flight)`,
      `${r2(memHuman)} (1 process)`,
      R.peak_rss.ours_over_peer,
      `${R.peak_rss.ours_better_by}×`,
    ]),
    '',
    `Ours per stage (median ms): LFW decode ${t['LFW 250×250'].ours_stages.decode.median}, detect ${t['LFW 250×250'].ours_stages.detect.median}, align+embed ${t['LFW 250×250'].ours_stages.align_embed.median}; 640×480 decode ${t['640×480'].ours_stages.decode.median}, detect ${t['640×480'].ours_stages.detect.median}, align+embed ${t['640×480'].ours_stages.align_embed.median}. Peer's own detect time (without decode): LFW ${t['LFW 250×250'].peer_engine.median}, 640×480 ${t['640×480'].peer_engine.median}.`,
    'Per image, both engines run one model at a time in one thread (onnxruntime-node runs a model synchronously in the calling thread; human on one WASM thread, no WASM threads under Node), while decoding and resizing use libvips threads. Pairs per second use both cores for both: ours with one inference thread per core, human with one process per core.',
    '',
    `## FLOPs floor of our models (multiply-adds of Conv and FC layers; FLOPs = 2 · MACs; at ${gflops} GFLOP/s on one core)`,
    '',
    row(['network', 'input', 'MMACs', 'weights']),
    row(['---', '---', '---', '---']),
    ...Object.entries(networks).map(([k, v]) => {
      const [name, size] = k.split(/_(?=\d+x\d+$)/);
      return row([name ?? k, size ?? '', r2(v.macs / 1e6), v.weights]);
    }),
    '',
    row([
      'image',
      'P-Net levels',
      'R-Net / O-Net crops (median)',
      'GFLOP detect + embed',
      `floor ms detect / embed / total`,
      'measured ms detect / align+embed / whole',
      'achieved GFLOP/s detect / embed',
    ]),
    row(['---', '---', '---', '---', '---', '---', '---']),
    ...Object.values(floors).map((f) =>
      row([
        f.image,
        f.pnet_levels.join(', '),
        `${f.rnet_crops_median} / ${f.onet_crops_median}`,
        `${r2((2 * f.detect_macs) / 1e9)} + ${r2((2 * f.embed_macs) / 1e9)} (MobileFaceNet ×${f.embed_networks_per_face}: crop and mirror)`,
        `${f.floor_ms_at_gflops.detect} / ${f.floor_ms_at_gflops.embed} / ${f.floor_ms_at_gflops.total}`,
        `${f.measured_median_ms.detect} / ${f.measured_median_ms.align_embed} / ${f.measured_median_ms.whole_image}`,
        `${f.achieved_gflops.detect} / ${f.achieved_gflops.embed}`,
      ]),
    ),
    '',
    'Commands: `npm run build && npx tsx bench/peer.ts`; cold start: `node bin/faceverify.js verify A B --json` vs `node bench/peer/human-cold-verify.js A B`.',
  ].join('\n'),
);
