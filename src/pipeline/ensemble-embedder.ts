/**
 * Score fusion as one embedding (docs/accuracy.md, `MODEL=accurate`): each member embeds the same faces
 * with its own alignment; the unit embeddings are scaled by √weight and concatenated, so the cosine of
 * two fused embeddings is Σ weightᵢ · cosᵢ and has unit length when the weights sum to 1. Compare,
 * threshold, calibration, caches and the eval tool therefore work unchanged. Members run one after
 * the other in the thread that owns them (onnxruntime-node's `run()` blocks it).
 */
import type { EnsembleManifest, PlattCalibration } from '../models/manifest.js';
import type { Embedded, Embedder, FaceToEmbed } from './embedder.js';

/** What the verifier needs of an embedder, single or fused. */
export interface FaceEmbedder {
  readonly manifest: {
    name: string;
    embeddingSize: number;
    threshold: number;
    calibration: PlattCalibration;
  };
  embed(faces: readonly FaceToEmbed[]): Promise<Float32Array[]>;
  /** {@link embed} with the raw output norm of each face (an ensemble: its first member's). */
  embedWithNorms(faces: readonly FaceToEmbed[]): Promise<Embedded[]>;
  release(): Promise<void>;
}

export class EnsembleEmbedder implements FaceEmbedder {
  readonly manifest: FaceEmbedder['manifest'];

  constructor(
    ensemble: EnsembleManifest,
    readonly members: readonly { embedder: Embedder; weight: number }[],
  ) {
    this.manifest = {
      name: ensemble.name,
      embeddingSize: members.reduce((s, m) => s + m.embedder.manifest.embeddingSize, 0),
      threshold: ensemble.threshold,
      calibration: ensemble.calibration,
    };
  }

  /**
   * @example
   * const [fused] = await ensemble.embed([{ image, landmarks, box }]);
   */
  async embed(faces: readonly FaceToEmbed[]): Promise<Float32Array[]> {
    return (await this.embedWithNorms(faces)).map((e) => e.embedding);
  }

  /** The fused embeddings; the norm is the first member's (MobileFaceNet's in `accurate`). */
  async embedWithNorms(faces: readonly FaceToEmbed[]): Promise<Embedded[]> {
    const perMember = await Promise.all(this.members.map((m) => m.embedder.embedWithNorms(faces)));
    return faces.map((_, i) => {
      const out = new Float32Array(this.manifest.embeddingSize);
      let at = 0;
      this.members.forEach((m, k) => {
        const e = (perMember[k]?.[i] as Embedded).embedding; // unit length
        const s = Math.sqrt(m.weight);
        for (let j = 0; j < e.length; j++) out[at + j] = s * (e[j] as number);
        at += e.length;
      });
      return { embedding: out, norm: (perMember[0]?.[i] as Embedded).norm };
    });
  }

  async release(): Promise<void> {
    await Promise.all(this.members.map((m) => m.embedder.release()));
  }
}
