/**
 * The face chips kept for re-embedding (not a test; docs/identities.md, "Face chips and
 * re-embedding"), on `--photos` LFW photos (the first photo of every k-th person, `facePolicy: center`):
 *
 * - fidelity: per model, the cosine between the embedding of the photo and the one re-computed from
 *   the 256×256 chip — and, for comparison, from a 112×112 ArcFace crop (the alternative design);
 * - size: the chip's bytes (PNG as stored; lossless WebP for comparison);
 * - cost: analysing with and without the chip, and re-embedding a SQLite gallery of those faces into
 *   dlib-resnet and `accurate` (faces/s).
 *
 *   npx tsx bench/face-chip.ts [--photos 60]
 *
 * Writes bench/results/face-chip.json.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { ARCFACE_TEMPLATE_112 } from '../src/core/similarity-transform.js';
import { warpAffine } from '../src/core/warp-affine.js';
import { createGalleryStore } from '../src/gallery/create-gallery-store.js';
import { reembedGallery } from '../src/gallery/reembed-gallery.js';
import { ANALYSIS_STAGES, runStages } from '../src/pipeline/analysis-stages.js';
import { alignmentTransform } from '../src/pipeline/embedder.js';
import { cutFaceChip, decodeFaceChip, encodeFaceChip } from '../src/pipeline/face-chip.js';
import { FaceAnalyzer, type Analysis } from '../src/pipeline/face-analyzer.js';
import { numberArg } from './args.js';
import { FACES_DIR } from './faces-dir.js';

const count = numberArg('photos', 60);
const root = join(FACES_DIR, 'lfw', 'images');
const people = readdirSync(root).sort();
const step = Math.floor(people.length / count);
const photos = Array.from({ length: count }, (_, i) => {
  const person = people[i * step] as string;
  return { person, file: join(root, person, readdirSync(join(root, person)).sort()[0] as string) };
});

const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, v, i) => s + v * (b[i] as number), 0);
const r4 = (v: number): number => Math.round(v * 1e4) / 1e4;
function summary(xs: number[]): { mean: number; p5: number; min: number } {
  const s = [...xs].sort((a, b) => a - b);
  return {
    mean: r4(xs.reduce((a, b) => a + b, 0) / xs.length),
    p5: r4(s[Math.floor(s.length * 0.05)] as number),
    min: r4(s[0] as number),
  };
}
const mean = (xs: number[]): number => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);

// Chips, the 112×112 alternative (same header, so embedFaceChip reads it), sizes and analysis cost.
const base = await FaceAnalyzer.create({ model: 'mobilefacenet', facePolicy: 'center' });
const chips: Uint8Array[] = [];
const crops112: Uint8Array[] = [];
const enrolled: Analysis[] = [];
const size = { png: [] as number[], webp: [] as number[] };
const ms = { withChip: [] as number[], without: [] as number[] };
for (const { file } of photos) {
  const bytes = readFileSync(file);
  let t = performance.now();
  const analysis = await base.analyze(bytes, { faceChip: true });
  ms.withChip.push(performance.now() - t);
  t = performance.now();
  await base.analyze(bytes);
  ms.without.push(performance.now() - t);
  enrolled.push(analysis);
  const chip = analysis.faceChip as Uint8Array;
  chips.push(chip);
  size.png.push(chip.byteLength);
  const state = await runStages(ANALYSIS_STAGES, bytes, base.settings, base.models, {
    modelId: base.model.id,
  });
  const image = { ...(state.image as NonNullable<typeof state.image>), channels: 3 };
  const face = state.face as NonNullable<typeof state.face>;
  const pixels = cutFaceChip(image, face).image;
  const webp = await sharp(pixels.data, { raw: { width: pixels.width, height: pixels.height, channels: 3 } })
    .webp({ lossless: true })
    .toBuffer();
  size.webp.push(webp.byteLength);
  const m = alignmentTransform(face.landmarks, ARCFACE_TEMPLATE_112);
  const warped = warpAffine(image, m, 112, 112);
  const data = Uint8Array.from(warped, (v) => Math.round(v));
  const header = await decodeFaceChip(chip);
  crops112.push(
    await encodeFaceChip({ ...header, image: { data, width: 112, height: 112, channels: 3 }, frame: m }),
  );
}
await base.close();

const fidelity: Record<string, unknown> = {};
for (const model of ['mobilefacenet', 'dlib-resnet', 'accurate']) {
  const analyzer = await FaceAnalyzer.create({ model, facePolicy: 'center' });
  const fromChip: number[] = [];
  const from112: number[] = [];
  for (const [i, { file }] of photos.entries()) {
    const e = (await analyzer.analyze(readFileSync(file))).embedding;
    fromChip.push(dot(e, await analyzer.embedFaceChip(chips[i] as Uint8Array)));
    from112.push(dot(e, await analyzer.embedFaceChip(crops112[i] as Uint8Array)));
  }
  fidelity[model] = { chip256: summary(fromChip), arcface112: summary(from112) };
  console.log(model, fidelity[model]);
  await analyzer.close();
}

const reembed: Record<string, unknown> = {};
for (const model of ['dlib-resnet', 'accurate']) {
  const dir = mkdtempSync(join(tmpdir(), 'fv-bench-chip-'));
  const store = createGalleryStore({ dataDir: dir, retainCrops: true });
  await store.open();
  for (const [i, a] of enrolled.entries()) {
    await store.enrol({
      gallery: 'g',
      subject: photos[i]?.person as string,
      modelId: a.modelId,
      embedding: a.embedding,
      face: a.face,
      crop: a.faceChip,
      actor: 'bench',
    });
  }
  const analyzer = await FaceAnalyzer.create({ model });
  const t = performance.now();
  const result = await reembedGallery(store, analyzer, { gallery: 'g', actor: 'bench' });
  const seconds = (performance.now() - t) / 1000;
  reembed[model] = {
    faces: result.faces,
    seconds: r4(seconds),
    faces_per_second: r4(result.faces / seconds),
  };
  console.log('reembed', model, reembed[model]);
  await analyzer.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}

const out = {
  date: new Date().toISOString(),
  machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((v) => r4(v)) },
  node: process.version,
  photos: count,
  bytes: { png: mean(size.png), webp_lossless: mean(size.webp) },
  analyze_ms_mean: { with_chip: mean(ms.withChip), without: mean(ms.without) },
  fidelity,
  reembed,
};
console.log(JSON.stringify(out, null, 2));
writeFileSync(new URL('./results/face-chip.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
