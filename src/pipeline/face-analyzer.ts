/**
 * The face analyzer: image bytes in, one {@link FaceAnalysis} out, by the stages of
 * analysis-stages.ts over models loaded once and shared by concurrent calls.
 *
 * Pure with respect to the outside world: no HTTP, queue, environment or threads. onnxruntime-node's
 * `run()` blocks the calling thread while a model runs, so an in-thread analyzer runs one model at a
 * time however many calls overlap; src/runtime/analyzer-pool.ts runs analyzers on worker threads
 * behind the same {@link Analyzer} interface.
 */
import { createHash } from 'node:crypto';
import type { RocTable } from '../core/operating-point.js';
import type { ModelScoring } from '../core/scoring.js';
import { FaceVerifyError } from '../errors.js';
import { LFW_ROC } from '../models/lfw-roc.js';
import type { DetectorManifest, EmbedderManifest, ModelSource } from '../models/manifest.js';
import { DEFAULT_MODEL_CACHE_DIR, locateModel } from '../models/prepare.js';
import { ModelRegistry } from '../models/registry.js';
import {
  createSession,
  DEFAULT_SESSION_OPTIONS,
  type InferenceSession,
  type SessionOptions,
} from '../runtime/onnx-session.js';
import {
  ANALYSIS_STAGES,
  DETECTION_STAGES,
  finishAnalysis,
  reportIn,
  runStages,
  type AnalysisModels,
  type AnalysisSettings,
} from './analysis-stages.js';
import { DEFAULT_DECODE_OPTIONS, type DecodedImage } from './decode.js';
import { Embedder } from './embedder.js';
import { chipToEmbed, cutFaceChip, decodeFaceChip, encodeFaceChip } from './face-chip.js';
import { EnsembleEmbedder, type FaceEmbedder } from './ensemble-embedder.js';
import type { FaceAnalysis, FacePolicy, FaceReport } from './face-analysis.js';
import { DEFAULT_DETECT_OPTIONS, MtcnnDetector, type DetectedFace } from './mtcnn/mtcnn.js';

export type { AnalysisSettings };

export interface AnalyzerOptions extends AnalysisSettings {
  registry: ModelRegistry;
  /** Where converted models are cached. */
  modelCacheDir: string;
  session: SessionOptions;
}

export const DEFAULT_ANALYZER_OPTIONS: Omit<AnalyzerOptions, 'registry'> = {
  model: 'mobilefacenet',
  detector: 'mtcnn',
  modelCacheDir: DEFAULT_MODEL_CACHE_DIR,
  session: DEFAULT_SESSION_OPTIONS,
  decode: DEFAULT_DECODE_OPTIONS,
  detect: DEFAULT_DETECT_OPTIONS,
  tooSmallFloor: 20,
  facePolicy: 'strict',
  orientationSearch: true,
  lowLightRetry: true,
  faceExposure: true,
  faceDeblur: true,
  qualityFilter: 'none',
};

/** Per-call choices. */
export interface AnalyzeOptions {
  facePolicy?: FacePolicy;
  /**
   * Also cut the face chip kept for re-embedding (src/pipeline/face-chip.ts) and answer it encoded as
   * `faceChip`. Not part of the FaceAnalysis (nor of its caches): only enrolling with
   * RETAIN_FACE_CROPS asks for it.
   */
  faceChip?: boolean;
}

/** An analysis, with the encoded face chip when {@link AnalyzeOptions.faceChip} asked for it. */
export type Analysis = FaceAnalysis & { faceChip?: Uint8Array };

/** The embedding model an analyzer runs: its name, id (name and weights' hash) and scoring. */
export interface AnalyzerModel extends ModelScoring {
  name: string;
  /** `name@<sha256 prefix of the weights>`: vectors of different ids are never compared or cached together. */
  id: string;
  embeddingSize: number;
  /** sha256 of a single model's weights (absent for an ensemble: see its members). */
  sha256?: string;
  /** Whether a single model embeds the mirrored face too (absent for an ensemble). */
  flip?: boolean;
}

/** What callers of the pipeline use: an analyzer in this thread, or a pool of them on threads. */
export interface Analyzer {
  readonly model: AnalyzerModel;
  readonly settings: AnalysisSettings;
  /**
   * Analyses one image: the chosen face and its embedding.
   *
   * @example
   * const { face, embedding } = await analyzer.analyze(await readFile('a.jpg'));
   */
  analyze(bytes: Uint8Array, options?: AnalyzeOptions): Promise<Analysis>;
  /** Whether it can analyse images now, and where it runs them (for health checks). */
  status(): { ready: boolean; detail: string };
  close(): Promise<void>;
}

/**
 * The id of an embedding model: its name and a hash of its weights' hashes (an ensemble's members').
 *
 * @example
 * modelId(registry, 'mobilefacenet'); // 'mobilefacenet@d8ba40c0127fb8ca'
 */
export function modelId(registry: ModelRegistry, name: string): string {
  const scorer = registry.scorer(name);
  if (scorer.kind === 'embedder') return `${name}@${scorer.source.sha256.slice(0, 16)}`;
  const members = scorer.members.map((m) => `${modelId(registry, m.model)}*${m.weight}`).join(',');
  return `${name}@${createHash('sha256').update(members).digest('hex').slice(0, 16)}`;
}

/** The settings part of analyzer options (what is passed to threads and keys). */
export function analysisSettings(options: AnalysisSettings): AnalysisSettings {
  const { model, detector, decode, detect, tooSmallFloor, facePolicy } = options;
  const { orientationSearch, lowLightRetry, faceExposure, faceDeblur, qualityFilter } = options;
  return {
    model,
    detector,
    decode,
    detect,
    tooSmallFloor,
    facePolicy,
    orientationSearch,
    lowLightRetry,
    faceExposure,
    faceDeblur,
    qualityFilter,
  };
}

/** Options completed with the defaults, and the registry (built-ins plus the user's models). */
export async function resolveAnalyzerOptions(options: Partial<AnalyzerOptions>): Promise<AnalyzerOptions> {
  // User-registered models (`faceverify models pull|add`) live in the model cache folder.
  const registry =
    options.registry ??
    (await ModelRegistry.withUserModels(options.modelCacheDir ?? DEFAULT_ANALYZER_OPTIONS.modelCacheDir));
  return { ...DEFAULT_ANALYZER_OPTIONS, ...options, registry };
}

/**
 * A model's LFW ROC table, if known here: its manifest's, or the built-in table for its name.
 *
 * @example
 * modelRoc(registry, 'mobilefacenet')?.fittedOn; // 'LFW View 2, 6000 pairs …'
 */
export function modelRoc(registry: ModelRegistry, name: string): RocTable | undefined {
  const known = registry.list().some((m) => m.name === name && m.kind !== 'detector');
  if (!known) return undefined;
  const scorer = registry.scorer(name);
  return scorer.roc ?? (scorer.origin ? undefined : LFW_ROC[name]);
}

/** The embedding model's description from the registry. */
export function analyzerModel(registry: ModelRegistry, name: string): AnalyzerModel {
  const scorer = registry.scorer(name);
  const embeddingSize =
    scorer.kind === 'ensemble'
      ? scorer.members.reduce((s, m) => s + registry.embedder(m.model).embeddingSize, 0)
      : scorer.embeddingSize;
  return {
    name,
    id: modelId(registry, name),
    embeddingSize,
    threshold: scorer.threshold,
    calibration: scorer.calibration,
    ...(modelRoc(registry, name) ? { roc: modelRoc(registry, name) } : {}),
    ...(scorer.kind === 'embedder' ? { sha256: scorer.source.sha256, flip: scorer.flip } : {}),
  };
}

/** The pipeline in the calling thread: ONNX Runtime's `run()` blocks it while a model runs. */
export class FaceAnalyzer implements Analyzer {
  readonly settings: AnalysisSettings;

  private constructor(
    readonly options: AnalyzerOptions,
    readonly model: AnalyzerModel,
    readonly models: AnalysisModels,
    /** The single models behind the embedder (one, or an ensemble's members). */
    readonly members: readonly Embedder[],
  ) {
    this.settings = analysisSettings(options);
  }

  /** Loads (and on first use converts) the models. */
  static async create(options: Partial<AnalyzerOptions> = {}): Promise<FaceAnalyzer> {
    const opts = await resolveAnalyzerOptions(options);
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
    const detector = new MtcnnDetector(detManifest, { pnet, rnet, onet });
    return new FaceAnalyzer(opts, analyzerModel(opts.registry, opts.model), { detector, embedder }, members);
  }

  status(): { ready: boolean; detail: string } {
    return { ready: true, detail: 'loaded in the calling thread' };
  }

  async analyze(bytes: Uint8Array, options: AnalyzeOptions = {}): Promise<Analysis> {
    const settings = options.facePolicy
      ? { ...this.settings, facePolicy: options.facePolicy }
      : this.settings;
    const state = await runStages(ANALYSIS_STAGES, bytes, settings, this.models, { modelId: this.model.id });
    const analysis = finishAnalysis(state);
    const pixels = state.embedded ?? state.image;
    if (!options.faceChip || !pixels || !state.face) return analysis;
    // From the pixels the embedder saw (turned, brightened), so a re-embedding sees them too.
    const chip = cutFaceChip({ ...pixels, channels: 3 }, state.face);
    return { ...analysis, faceChip: await encodeFaceChip(chip) };
  }

  /**
   * This analyzer's embedding of a face chip kept at enrolment (another model's, usually): the model's
   * own alignment, sampled from the chip (src/pipeline/face-chip.ts).
   *
   * @example
   * const embedding = await dlibAnalyzer.embedFaceChip(chipBytes); // 128-d
   */
  async embedFaceChip(bytes: Uint8Array): Promise<Float32Array> {
    const chip = await decodeFaceChip(bytes);
    const [embedding] = await this.models.embedder.embed([chipToEmbed(chip)]);
    if (!embedding) throw new FaceVerifyError('INFERENCE_FAILED', 'The embedder returned no embedding');
    return embedding;
  }

  /**
   * Decodes an image and finds all faces, for `faceverify detect`: `image` and `faces` are the pixels
   * the faces were found in (brightened or turned if that was needed), `reports` the same faces in the
   * original photo's pixels.
   */
  async detectAll(
    bytes: Uint8Array,
  ): Promise<{ image: DecodedImage; faces: DetectedFace[]; reports: FaceReport[] }> {
    const state = await runStages(DETECTION_STAGES, bytes, this.settings, this.models);
    const faces = state.faces ?? [];
    return { image: state.image as DecodedImage, faces, reports: faces.map((f) => reportIn(state, f)) };
  }

  async close(): Promise<void> {
    await Promise.all([this.models.detector.release(), this.models.embedder.release()]);
  }
}
