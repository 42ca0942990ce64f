/**
 * The verification pipeline: decode → detect → select → align → embed → compare.
 *
 * Pure with respect to the outside world: it takes image bytes and options and returns plain data; it
 * knows nothing of HTTP, queues or environment variables. Models load once per verifier and are shared
 * by concurrent calls.
 *
 * Threads: onnxruntime-node's `run()` is synchronous on the calling thread (its promise wraps a
 * blocking native call), so an in-thread {@link Verifier} runs one model at a time however many calls
 * overlap. {@link createVerifier} with `threads > 0` gives a pool of inference threads instead
 * (src/runtime/verifier-pool.ts), each with its own sessions: images are analysed side by side and the
 * calling thread stays free.
 */
import { performance } from 'node:perf_hooks';
import type { Box } from '../core/box.js';
import type { Point } from '../core/similarity-transform.js';
import { FaceVerifyError } from '../errors.js';
import type { DetectorManifest, EmbedderManifest, ModelSource } from '../models/manifest.js';
import { locateModel, DEFAULT_MODEL_CACHE_DIR } from '../models/prepare.js';
import { ModelRegistry } from '../models/registry.js';
import {
  createSession,
  DEFAULT_SESSION_OPTIONS,
  type InferenceSession,
  type SessionOptions,
} from '../runtime/onnx-session.js';
import { compareEmbeddings, type Comparison } from './compare.js';
import { decodeImage, DEFAULT_DECODE_OPTIONS, type DecodedImage, type DecodeOptions } from './decode.js';
import { Embedder } from './embedder.js';
import { EnsembleEmbedder, type FaceEmbedder } from './ensemble-embedder.js';
import {
  DEFAULT_DETECT_OPTIONS,
  MtcnnDetector,
  type DetectedFace,
  type DetectOptions,
} from './mtcnn/mtcnn.js';
import { selectFace, type FacePolicy } from './select-face.js';

export interface VerifierOptions {
  /** Embedding model name (see `faceverify models list`). */
  model: string;
  detector: string;
  registry: ModelRegistry;
  /** Where converted models are cached. */
  modelCacheDir: string;
  session: SessionOptions;
  decode: DecodeOptions;
  detect: DetectOptions;
  /**
   * When no face of at least `detect.minFaceSize` is found, look again down to this size and answer
   * `FACE_TOO_SMALL` instead of `NO_FACE` if a smaller face is there (0 turns the check off).
   */
  tooSmallFloor: number;
  facePolicy: FacePolicy;
  /** Cosine threshold to use instead of the model's calibrated one. */
  threshold?: number;
  /**
   * Inference threads for {@link createVerifier}: 0 runs the pipeline in the calling thread; n > 0
   * starts n worker threads, each with its own copy of the models (about 40 MB each with the default
   * models), and analyses up to n images at once.
   */
  threads: number;
}

export const DEFAULT_VERIFIER_OPTIONS: Omit<VerifierOptions, 'registry'> = {
  model: 'mobilefacenet',
  detector: 'mtcnn',
  modelCacheDir: DEFAULT_MODEL_CACHE_DIR,
  session: DEFAULT_SESSION_OPTIONS,
  decode: DEFAULT_DECODE_OPTIONS,
  detect: DEFAULT_DETECT_OPTIONS,
  tooSmallFloor: 20,
  facePolicy: 'strict',
  threads: 0,
};

/** A face as reported to callers, in original image pixels. */
export interface FaceReport {
  box: { x: number; y: number; width: number; height: number };
  score: number;
  landmarks: [number, number][];
}

export interface StageTimings {
  decode: number;
  detect: number;
  embed: number;
}

/** One image analysed: the chosen face, every face found, and the embedding. */
export interface ImageAnalysis {
  face: FaceReport;
  faceCount: number;
  embedding: Float32Array;
  width: number;
  height: number;
  timings: StageTimings;
}

export interface VerifyResult extends Comparison {
  model: string;
  /** Seconds, as in the reference API. */
  processing_time: number;
  faces: [FaceReport, FaceReport];
  /** True when the service answered from its result cache. */
  cached?: boolean;
}

export interface PerCallOptions {
  facePolicy?: FacePolicy;
  threshold?: number;
}

interface Detection {
  image: DecodedImage;
  face: DetectedFace;
  faceCount: number;
  decodeMs: number;
  detectMs: number;
}

/** The longer side of a face's box, in decoded pixels. */
function faceSide(f: DetectedFace): number {
  return Math.max(f.box.x2 - f.box.x1, f.box.y2 - f.box.y1);
}

function round(v: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}

export function reportFace(face: DetectedFace, scale: number): FaceReport {
  const b: Box = face.box;
  return {
    box: {
      x: round(b.x1 * scale),
      y: round(b.y1 * scale),
      width: round((b.x2 - b.x1) * scale),
      height: round((b.y2 - b.y1) * scale),
    },
    score: round(face.score, 4),
    landmarks: face.landmarks.map(([x, y]: Point): [number, number] => [round(x * scale), round(y * scale)]),
  };
}

function imageLabel(err: unknown, index: number | undefined): unknown {
  if (index === undefined || !(err instanceof FaceVerifyError)) return err;
  return new FaceVerifyError(
    err.code,
    `Image ${index}: ${err.message}`,
    { ...(err.details ?? {}), image: index },
    { cause: err.cause },
  );
}

/** What callers of the pipeline use: in this thread ({@link Verifier}) or on a pool of threads. */
export interface FaceVerifier {
  readonly options: VerifierOptions;
  /** The embedding model's name, threshold and calibration. */
  readonly manifest: FaceEmbedder['manifest'];
  readonly modelName: string;
  threshold(perCall?: number): number;
  compare(a: Float32Array, b: Float32Array, threshold?: number): Comparison;
  analyze(bytes: Uint8Array, options?: PerCallOptions): Promise<ImageAnalysis>;
  verify(a: Uint8Array, b: Uint8Array, options?: PerCallOptions): Promise<VerifyResult>;
  /** Whether it can analyse images now, and where it runs them (for health checks). */
  status(): { ready: boolean; detail: string };
  close(): Promise<void>;
}

/** Compare and verify in terms of `analyze`, shared by the in-thread and the pooled verifier. */
export abstract class VerifierBase implements FaceVerifier {
  abstract readonly options: VerifierOptions;
  abstract readonly manifest: FaceEmbedder['manifest'];
  abstract analyze(bytes: Uint8Array, options?: PerCallOptions): Promise<ImageAnalysis>;
  abstract status(): { ready: boolean; detail: string };
  abstract close(): Promise<void>;

  get modelName(): string {
    return this.manifest.name;
  }

  /** The cosine threshold in force for a call. */
  threshold(perCall?: number): number {
    return perCall ?? this.options.threshold ?? this.manifest.threshold;
  }

  /** Compares two embeddings with this verifier's model, threshold and calibration. */
  compare(a: Float32Array, b: Float32Array, threshold?: number): Comparison {
    return compareEmbeddings(a, b, this.threshold(threshold), this.manifest.calibration);
  }

  /**
   * Are the two photos the same person? Both images are analysed concurrently (on two threads when
   * the verifier has them); an error names the image it is about.
   *
   * @example
   * const r = await verifier.verify(await readFile('a.jpg'), await readFile('b.jpg'));
   * console.log(r.is_match, r.confidence);
   */
  async verify(a: Uint8Array, b: Uint8Array, options: PerCallOptions = {}): Promise<VerifyResult> {
    const start = performance.now();
    const labelled = (bytes: Uint8Array, index: number) =>
      this.analyze(bytes, options).catch((err: unknown) => {
        throw imageLabel(err, index);
      });
    // Both settle before answering: when both images are bad the error is always image 1's, and no
    // work is left running after the call returns.
    const [ra, rb] = await Promise.allSettled([labelled(a, 1), labelled(b, 2)]);
    if (ra.status === 'rejected') throw ra.reason;
    if (rb.status === 'rejected') throw rb.reason;
    const [ea, eb] = [ra.value, rb.value];
    return {
      ...this.compare(ea.embedding, eb.embedding, options.threshold),
      model: this.modelName,
      processing_time: round((performance.now() - start) / 1000, 4),
      faces: [ea.face, eb.face],
    };
  }
}

/** The pipeline in the calling thread: ONNX Runtime's `run()` blocks it while a model runs. */
export class Verifier extends VerifierBase {
  private constructor(
    readonly options: VerifierOptions,
    readonly detector: MtcnnDetector,
    readonly embedder: FaceEmbedder,
    /** The single models behind `embedder` (one, or an ensemble's members). */
    readonly members: readonly Embedder[],
  ) {
    super();
  }

  /** Loads (and on first use converts) the models. */
  static async create(options: Partial<VerifierOptions> = {}): Promise<Verifier> {
    const opts = await resolveOptions(options);
    const detManifest: DetectorManifest = opts.registry.detector(opts.detector);
    const scorer = opts.registry.scorer(opts.model);
    const memberManifests: EmbedderManifest[] =
      scorer.kind === 'ensemble' ? scorer.members.map((m) => opts.registry.embedder(m.model)) : [scorer];
    const load = async (name: string, source: ModelSource) => {
      const file = await locateModel(name, source, opts.modelCacheDir);
      return createSession(file.read, opts.session, file.optimizedCacheBase);
    };
    const [pnet, rnet, onet, ...embs] = await Promise.all([
      load(`${detManifest.name}-pnet`, detManifest.stages.pnet),
      load(`${detManifest.name}-rnet`, detManifest.stages.rnet),
      load(`${detManifest.name}-onet`, detManifest.stages.onet),
      ...memberManifests.map((m) => load(m.name, m.source)),
    ]);
    const members = memberManifests.map((m, i) => new Embedder(m, embs[i] as InferenceSession));
    const embedder: FaceEmbedder =
      scorer.kind === 'ensemble'
        ? new EnsembleEmbedder(
            scorer,
            members.map((e, i) => ({ embedder: e, weight: scorer.members[i]?.weight ?? 0 })),
          )
        : (members[0] as Embedder);
    return new Verifier(opts, new MtcnnDetector(detManifest, { pnet, rnet, onet }), embedder, members);
  }

  get manifest(): FaceEmbedder['manifest'] {
    return this.embedder.manifest;
  }

  status(): { ready: boolean; detail: string } {
    return { ready: true, detail: 'loaded in the calling thread' };
  }

  /** Decodes an image and finds all faces (in decoded pixels). */
  async detectAll(
    bytes: Uint8Array,
  ): Promise<{ image: DecodedImage; faces: DetectedFace[]; decodeMs: number; detectMs: number }> {
    const t0 = performance.now();
    const image = await decodeImage(bytes, this.options.decode);
    const t1 = performance.now();
    const faces = await this.detector.detect({ ...image, channels: 3 }, this.options.detect);
    return { image, faces, decodeMs: t1 - t0, detectMs: performance.now() - t1 };
  }

  /**
   * Detects and picks the face to compare. Every face the detector finds counts for the strict
   * one-face rule; the face chosen must be at least `minFaceSize` on its longer side (MTCNN also finds
   * faces somewhat below its minimum), else FACE_TOO_SMALL. When nothing is found, a second look down
   * to `tooSmallFloor` tells FACE_TOO_SMALL from NO_FACE.
   */
  private async detectOne(bytes: Uint8Array, policy: FacePolicy): Promise<Detection> {
    const { image, faces, decodeMs, detectMs } = await this.detectAll(bytes);
    if (faces.length === 0) this.tooSmall(image, await this.findSmallFace(image));
    const face = selectFace(faces, policy, image, (all) => all.map((f) => reportFace(f, image.scale)));
    if (faceSide(face) < this.options.detect.minFaceSize) this.tooSmall(image, face);
    return { image, face, faceCount: faces.length, decodeMs, detectMs };
  }

  private async findSmallFace(image: DecodedImage): Promise<DetectedFace | undefined> {
    const { minFaceSize } = this.options.detect;
    const floor = this.options.tooSmallFloor;
    if (floor <= 0 || floor >= minFaceSize) return undefined;
    const small = await this.detector.detect(
      { ...image, channels: 3 },
      { ...this.options.detect, minFaceSize: floor, maxFaceSize: minFaceSize },
    );
    return small[0];
  }

  /** Throws FACE_TOO_SMALL for a face below the minimum size (no-op without one). */
  private tooSmall(image: DecodedImage, face: DetectedFace | undefined): void {
    if (!face) return;
    const side = Math.round(faceSide(face) * image.scale);
    const min = Math.round(this.options.detect.minFaceSize * image.scale);
    throw new FaceVerifyError(
      'FACE_TOO_SMALL',
      `The face is about ${side} px; faces of at least ${min} px are needed`,
      {
        face_size: side,
        min_face_size: min,
      },
    );
  }

  /**
   * Analyses one image: the chosen face and its embedding.
   *
   * @example
   * const { face, embedding } = await verifier.analyze(await readFile('a.jpg'));
   */
  async analyze(bytes: Uint8Array, options: PerCallOptions = {}): Promise<ImageAnalysis> {
    const d = await this.detectOne(bytes, options.facePolicy ?? this.options.facePolicy);
    const t = performance.now();
    const [embedding] = await this.embedder.embed([
      { image: { ...d.image, channels: 3 }, landmarks: d.face.landmarks, box: d.face.box },
    ]);
    return {
      face: reportFace(d.face, d.image.scale),
      faceCount: d.faceCount,
      embedding: embedding as Float32Array,
      width: d.image.originalWidth,
      height: d.image.originalHeight,
      timings: { decode: d.decodeMs, detect: d.detectMs, embed: performance.now() - t },
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.detector.release(), this.embedder.release()]);
  }
}

/** Options completed with the defaults, and the registry (built-ins plus the user's models). */
export async function resolveOptions(options: Partial<VerifierOptions>): Promise<VerifierOptions> {
  // User-registered models (`faceverify models pull|add`) live in the model cache folder.
  const registry =
    options.registry ??
    (await ModelRegistry.withUserModels(options.modelCacheDir ?? DEFAULT_VERIFIER_OPTIONS.modelCacheDir));
  return { ...DEFAULT_VERIFIER_OPTIONS, ...options, registry };
}

/**
 * Creates a verifier with the built-in models (converted and cached on first use): in the calling
 * thread, or with `threads: n` on n inference threads (faster on several cores; see docs/performance.md).
 *
 * @example
 * import { createVerifier } from 'faceverify';
 * const verifier = await createVerifier({ threads: 2 });
 * const result = await verifier.verify(bytesA, bytesB);
 * await verifier.close();
 */
export async function createVerifier(options: Partial<VerifierOptions> = {}): Promise<FaceVerifier> {
  if (!options.threads) return Verifier.create(options);
  const { VerifierPool } = await import('../runtime/verifier-pool.js');
  return VerifierPool.create(options);
}
