/**
 * LFW identification (1:N) with the real pipeline and the real gallery: the tool behind
 * `faceverify eval --identify` (docs/identities.md).
 *
 * Protocol. People are the sub-folders of the images folder, photos their files in name order. Every
 * person with at least two photos is enrolled with the first one; each of their other photos is a
 * mated probe. People with one photo are not enrolled: their photo is a non-mated probe (open set).
 * Every photo is analysed once by the configured analyzer (face policy `center`, as the LFW pair
 * evaluation), optionally through an {@link AnalysisFileCache}.
 *
 * The gallery is a real {@link GalleryStore} (the embedded SQLite backend in a temporary folder,
 * deleted afterwards, whatever DATABASE_URL says: an evaluation never writes to the user's
 * galleries), and each probe is answered by `searchGallery` (src/gallery/gallery-scoring.ts) — the
 * function behind `POST /galleries/{g}/search` and `faceverify gallery search` — twice: with threshold
 * −1 and limit 5 (the ranks, ignoring the threshold) and with the threshold in force and limit 1 (what
 * a user is answered). The figures are computed by src/eval/identification-metrics.ts.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { ErrorCode } from '../errors.js';
import { createGalleryStore } from '../gallery/create-gallery-store.js';
import { searchGallery } from '../gallery/gallery-scoring.js';
import type { FacePolicy } from '../pipeline/face-analysis.js';
import type { Verifier } from '../pipeline/verifier.js';
import type { SearchThreshold } from '../core/scoring.js';
import type { AnalysisFileCache } from './analysis-cache.js';
import {
  identificationMetrics,
  missReason,
  type IdentificationMetrics,
  type MatedProbe,
  type NonMatedProbe,
} from './identification-metrics.js';
import { analyseImage, forEachConcurrent, type EvalVerifier, type ImageOutcome } from './run-eval.js';

export interface Person {
  name: string;
  /** Photo paths, in file-name order. */
  photos: string[];
}

export interface IdentificationPlan {
  people: number;
  /** One per person with ≥ 2 photos: their first photo. */
  enrol: { subject: string; path: string }[];
  /** The other photos of the enrolled people. */
  mated: { subject: string; path: string }[];
  /** The photo of each person with one photo. */
  nonMated: { subject: string; path: string }[];
}

/** The people of an LFW-style folder (one sub-folder per person), in name order. */
export async function listPeople(imagesDir: string): Promise<Person[]> {
  const names = (await readdir(imagesDir)).sort();
  const people: Person[] = [];
  for (const name of names) {
    const dir = join(imagesDir, name);
    if (!(await stat(dir)).isDirectory()) continue; // stat follows symbolic links
    const photos = (await readdir(dir))
      .filter((f) => /\.(jpe?g|png|webp)$/i.test(f))
      .sort()
      .map((f) => join(dir, f));
    if (photos.length > 0) people.push({ name, photos });
  }
  return people;
}

/**
 * Enrol the first photo of everyone with two or more; the rest are mated probes, single photos
 * non-mated ones.
 *
 * @example
 * planIdentification([{ name: 'A', photos: ['a1', 'a2'] }, { name: 'B', photos: ['b1'] }]);
 * // enrol [A a1], mated [A a2], nonMated [B b1]
 */
export function planIdentification(people: readonly Person[]): IdentificationPlan {
  const plan: IdentificationPlan = { people: people.length, enrol: [], mated: [], nonMated: [] };
  for (const p of people) {
    const [first, ...rest] = p.photos as [string, ...string[]];
    if (rest.length === 0) {
      plan.nonMated.push({ subject: p.name, path: first });
      continue;
    }
    plan.enrol.push({ subject: p.name, path: first });
    for (const path of rest) plan.mated.push({ subject: p.name, path });
  }
  return plan;
}

export interface RunIdentifyOptions {
  imagesDir: string;
  /** The configured verifier: its analyzer analyses, its scoring answers the searches. */
  verifier: Verifier;
  facePolicy?: FacePolicy;
  concurrency?: number;
  cache?: AnalysisFileCache;
  /** Second attempt for photos without a face of MIN_FACE_SIZE (as `faceverify eval`), or none. */
  fallbackVerifier?: EvalVerifier;
  onProgress?: (p: { done: number; total: number; failed: number; elapsedMs: number; etaMs: number }) => void;
  signal?: AbortSignal;
  /** SEARCH_FPIR: the searches "as a user gets them" raise the threshold for the gallery's size. */
  searchFpir?: number;
}

export interface ImageError {
  path: string;
  role: 'enrol' | 'mated' | 'non-mated';
  code: ErrorCode;
  message: string;
}

/** A mated probe that was not identified at rank 1 at the threshold, and why. */
export interface Miss {
  path: string;
  subject: string;
  reason: NonNullable<ReturnType<typeof missReason>>;
  /** The first answer ignoring the threshold. */
  top: { subject: string; score: number } | null;
  /** The probe's own subject's rank (1–5) ignoring the threshold, or null (not in the first 5). */
  ownRank: number | null;
  ownScore: number | null;
}

export interface IdentifyReport {
  createdAt: string;
  imagesDir: string;
  model: { name: string; id: string; embeddingSize: number };
  facePolicy: FacePolicy;
  threshold: {
    cosine_similarity: number;
    source: SearchThreshold['source'];
    minConfidence: number | null;
    /** With source open-set: the target FPIR and the number of subjects it was raised for. */
    openSet?: { fpir: number; subjects: number };
  };
  detection: { minFaceSize: number; fallbackMinFaceSize: number | null };
  counts: {
    people: number;
    peopleEnrolled: number;
    /** People with ≥ 2 photos whose first photo gave no face: not in the gallery. */
    enrolFailed: number;
    singlePhotoPeople: number;
    images: number;
    matedProbes: number;
    nonMatedProbes: number;
    failedImages: number;
    failuresByCode: Partial<Record<ErrorCode, number>>;
    fallbackTried: number;
    fallbackRescued: number;
    imagesWithSeveralFaces: number;
    analysesFromCache: number;
  };
  metrics: IdentificationMetrics;
  timings: { totalSeconds: number; analyseSeconds: number; searchSeconds: number; concurrency: number };
  environment: { node: string; platform: string; cpus: number; cpuModel: string; loadAverage: number[] };
  errors: ImageError[];
  misses: Miss[];
}

export interface IdentifyRun {
  report: IdentifyReport;
  mated: MatedProbe[];
  nonMated: NonMatedProbe[];
}

const GALLERY = 'lfw-identify';
const ACTOR = 'eval';

/**
 * @example
 * const verifier = await createVerifier({ threads: 2 });
 * const { report } = await runIdentify({ imagesDir: '../shared/faces/lfw/images', verifier });
 * report.metrics.mated.rank1; report.metrics.openSet[1].dir; // DIR at 1 % FPIR
 */
export async function runIdentify(options: RunIdentifyOptions): Promise<IdentifyRun> {
  const started = performance.now();
  const facePolicy = options.facePolicy ?? 'center';
  const { verifier } = options;
  const plan = planIdentification(await listPeople(options.imagesDir));
  const roles = new Map<string, ImageError['role']>();
  for (const p of plan.enrol) roles.set(p.path, 'enrol');
  for (const p of plan.mated) roles.set(p.path, 'mated');
  for (const p of plan.nonMated) roles.set(p.path, 'non-mated');
  const paths = [...roles.keys()];

  const hitsBefore = options.cache?.hits ?? 0;
  const outcomes = new Map<string, ImageOutcome>();
  let failed = 0;
  const analyseStart = performance.now();
  await forEachConcurrent(
    paths,
    options.concurrency ?? 4,
    async (path) => {
      const o = await analyseImage(path, {
        verifier: verifier.analyzer,
        facePolicy,
        ...(options.cache && { cache: options.cache }),
        ...(options.fallbackVerifier && { fallbackVerifier: options.fallbackVerifier }),
      });
      outcomes.set(path, o);
      if (o.failure) failed++;
      const elapsedMs = performance.now() - analyseStart;
      options.onProgress?.({
        done: outcomes.size,
        total: paths.length,
        failed,
        elapsedMs,
        etaMs: (elapsedMs / outcomes.size) * (paths.length - outcomes.size),
      });
    },
    options.signal,
  );
  const analyseSeconds = (performance.now() - analyseStart) / 1000;
  const outcome = (path: string): ImageOutcome => outcomes.get(path) as ImageOutcome;

  const searchStart = performance.now();
  const dataDir = await mkdtemp(join(tmpdir(), 'faceverify-identify-'));
  const store = createGalleryStore({ dataDir });
  let searchChoice: SearchThreshold | undefined;
  let answeredWith: SearchThreshold | undefined;
  const mated: MatedProbe[] = [];
  const nonMated: NonMatedProbe[] = [];
  try {
    await store.open();
    const enrolled = new Set<string>();
    for (const { subject, path } of plan.enrol) {
      const a = outcome(path).analysis;
      if (!a) continue;
      await store.enrol({
        gallery: GALLERY,
        subject,
        modelId: a.modelId,
        embedding: a.embedding,
        face: a.face,
        actor: ACTOR,
      });
      enrolled.add(subject);
    }
    searchChoice = verifier.scoring.searchThreshold(
      await store.subjectCount(GALLERY),
      options.searchFpir ?? 0,
    );
    const ask = async (
      path: string,
    ): Promise<{ candidates: MatedProbe['candidates']; accepted: string | null }> => {
      const analysis = outcome(path).analysis;
      if (!analysis || enrolled.size === 0) return { candidates: [], accepted: null };
      const ranked = await searchGallery(verifier, store, {
        gallery: GALLERY,
        analysis,
        limit: 5,
        threshold: -1,
        actor: ACTOR,
      });
      const answered = await searchGallery(verifier, store, {
        gallery: GALLERY,
        analysis,
        limit: 1,
        fpir: options.searchFpir ?? 0,
        actor: ACTOR,
      });
      answeredWith = answered.choice;
      return {
        candidates: ranked.matches.map((m) => ({ subject: m.subject, score: m.cosine_similarity })),
        accepted: answered.matches[0]?.subject ?? null,
      };
    };
    for (const { subject, path } of plan.mated) {
      const { candidates, accepted } = await ask(path);
      const error = outcome(path).failure?.code ?? null;
      mated.push({ subject, path, error, enrolled: enrolled.has(subject), candidates, accepted });
    }
    for (const { subject, path } of plan.nonMated) {
      const { candidates, accepted } = await ask(path);
      const error = outcome(path).failure?.code ?? null;
      nonMated.push({ subject, path, error, best: candidates[0] ?? null, accepted });
    }
  } finally {
    await store.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  const searchSeconds = (performance.now() - searchStart) / 1000;

  const all = paths.map((path) => ({ path, o: outcome(path) }));
  const errors: ImageError[] = all.flatMap(({ path, o }) =>
    o.failure
      ? [
          {
            path,
            role: roles.get(path) as ImageError['role'],
            code: o.failure.code,
            message: o.failure.message,
          },
        ]
      : [],
  );
  const failuresByCode: Partial<Record<ErrorCode, number>> = {};
  for (const e of errors) failuresByCode[e.code] = (failuresByCode[e.code] ?? 0) + 1;
  const misses: Miss[] = mated.flatMap((p) => {
    const reason = missReason(p);
    if (!reason) return [];
    const own = p.candidates.findIndex((c) => c.subject === p.subject);
    return [
      {
        path: p.path,
        subject: p.subject,
        reason,
        top: p.candidates[0] ?? null,
        ownRank: own >= 0 ? own + 1 : null,
        ownScore: own >= 0 ? (p.candidates[own]?.score ?? null) : null,
      },
    ];
  });
  const model = verifier.model;
  const choice = answeredWith ?? searchChoice ?? verifier.scoring.choice();
  const enrolFailed = plan.enrol.filter((e) => !outcome(e.path).analysis).length;
  const report: IdentifyReport = {
    createdAt: new Date().toISOString(),
    imagesDir: options.imagesDir,
    model: { name: model.name, id: model.id, embeddingSize: model.embeddingSize },
    facePolicy,
    threshold: {
      cosine_similarity: choice.threshold,
      source: choice.source,
      minConfidence: verifier.scoring.settings.minConfidence ?? null,
      ...('open_set' in choice ? { openSet: choice.open_set } : {}),
    },
    detection: {
      minFaceSize: verifier.analyzer.settings.detect.minFaceSize,
      fallbackMinFaceSize: options.fallbackVerifier?.settings.detect.minFaceSize ?? null,
    },
    counts: {
      people: plan.people,
      peopleEnrolled: plan.enrol.length - enrolFailed,
      enrolFailed,
      singlePhotoPeople: plan.nonMated.length,
      images: paths.length,
      matedProbes: plan.mated.length,
      nonMatedProbes: plan.nonMated.length,
      failedImages: errors.length,
      failuresByCode,
      fallbackTried: all.filter(({ o }) => o.fallbackTried).length,
      fallbackRescued: all.filter(({ o }) => o.fallbackRescued).length,
      imagesWithSeveralFaces: all.filter(({ o }) => o.faceCount > 1).length,
      analysesFromCache: (options.cache?.hits ?? 0) - hitsBefore,
    },
    metrics: identificationMetrics(mated, nonMated),
    timings: {
      totalSeconds: (performance.now() - started) / 1000,
      analyseSeconds,
      searchSeconds,
      concurrency: options.concurrency ?? 4,
    },
    environment: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      loadAverage: loadavg().map((v) => Math.round(v * 100) / 100),
    },
    errors,
    misses,
  };
  return { report, mated, nonMated };
}
