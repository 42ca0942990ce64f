// Types of human-peer.js (plain JavaScript so that child processes run it without a loader).
// Human's own typings are not imported: they pull @webgpu/types, whose global DOM-like declarations
// (HTMLCanvasElement, navigator.gpu, …) would leak into the type-check of src/ and test/.

export declare const HUMAN_MODELS_DIR: string;
export declare const WASM_DIR: string;
export declare function installModelFetch(dir?: string): void;
export declare const HUMAN_CONFIG: Readonly<Record<string, unknown>>;

export interface HumanFace {
  /** faceres descriptor (1024 values). */
  embedding: number[];
  score: number;
  box: [number, number, number, number];
}

export interface HumanPeer {
  /** The Human instance; only its last call's stage timings (ms) are read here. */
  human: { readonly performance: Readonly<Record<string, number>> };
  /** Decode + detect + descriptor of one image; throws when no face is found. */
  analyze(bytes: Uint8Array): Promise<HumanFace>;
  verify(a: Uint8Array, b: Uint8Array): Promise<{ similarity: number }>;
  versions: { human: string; tfjs: string; backend: string; simd: boolean; multithread: boolean };
}

export declare function createHumanPeer(): Promise<HumanPeer>;
