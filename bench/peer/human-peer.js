/**
 * The peer: @vladmandic/human 3.3.6 on @tensorflow/tfjs-backend-wasm 4.22.0, configured as a face
 * verifier — BlazeFace detection and the `faceres` descriptor, nothing else (no mesh, iris, emotion,
 * body, hand, gesture, filters or frame caching), one image at a time.
 *
 * Plain JavaScript on purpose: the cold-start and memory children run it with `node` alone, as a user
 * of the peer would, so no TypeScript loader is timed or counted (types: human-peer.d.ts).
 *
 * Two things human needs under Node without tfjs-node:
 * - its loader fetches `<modelBasePath>/<name>.json` with the global fetch(), and tfjs only routes
 *   http(s) URLs to that loader; Node's fetch cannot read file:// anyway. `installModelFetch` serves the
 *   model files that ship in the npm package from disk under a reserved `.invalid` origin (RFC 6761:
 *   it never resolves, so a miss fails instead of reaching the network);
 * - the WASM backend needs the folder of its .wasm files (read from disk, `wasmPlatformFetch: false`).
 * Images are decoded with sharp to RGB (human decodes only through tfjs-node or a canvas).
 */
/* global URL, Response */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join, relative, isAbsolute } from 'node:path';
import sharp from 'sharp';

const require = createRequire(import.meta.url);
// human's "exports" map only offers its tfjs-node build; the WASM build sits next to it.
const HUMAN_DIST = dirname(require.resolve('@vladmandic/human'));
export const HUMAN_MODELS_DIR = join(HUMAN_DIST, '..', 'models');
export const WASM_DIR = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
const MODEL_ORIGIN = 'http://human-models.invalid/';

/** Serves human's model files from disk to its fetch()-based loader; other URLs pass through. */
export function installModelFetch(dir = HUMAN_MODELS_DIR) {
  const original = globalThis.fetch;
  /** @type {typeof fetch} */
  const wrapped = async (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    if (!url.startsWith(MODEL_ORIGIN)) return original(input, init);
    const file = join(dir, decodeURIComponent(new URL(url).pathname));
    const rel = relative(dir, file);
    if (rel.startsWith('..') || isAbsolute(rel)) return new Response(null, { status: 403 });
    try {
      const type = file.endsWith('.json') ? 'application/json' : 'application/octet-stream';
      return new Response(await readFile(file), { headers: { 'content-type': type } });
    } catch {
      return new Response(null, { status: 404 });
    }
  };
  globalThis.fetch = wrapped;
}

/** Human's configuration: detector + descriptor only, no caching between calls. */
export const HUMAN_CONFIG = {
  backend: 'wasm',
  wasmPath: `${WASM_DIR}/`,
  wasmPlatformFetch: false,
  modelBasePath: MODEL_ORIGIN,
  cacheModels: false,
  debug: false,
  async: true,
  warmup: 'none',
  cacheSensitivity: 0,
  skipAllowed: false,
  filter: { enabled: false },
  gesture: { enabled: false },
  face: {
    enabled: true,
    detector: { rotation: false, maxDetected: 1, skipFrames: 0, skipTime: 0, return: false },
    mesh: { enabled: false },
    attention: { enabled: false },
    iris: { enabled: false },
    emotion: { enabled: false },
    description: { enabled: true, skipFrames: 0, skipTime: 0 },
    antispoof: { enabled: false },
    liveness: { enabled: false },
  },
  body: { enabled: false },
  hand: { enabled: false },
  object: { enabled: false },
  segmentation: { enabled: false },
};

/** Loads human with the WASM backend and its two models; returns a small verifier around it. */
export async function createHumanPeer() {
  installModelFetch();
  const { Human } = require(join(HUMAN_DIST, 'human.node-wasm.js'));
  const human = new Human(HUMAN_CONFIG);
  await human.load();
  await human.tf.ready();
  if (human.tf.getBackend() !== 'wasm') throw new Error(`human runs on ${human.tf.getBackend()}, not wasm`);

  /** Decode + detect + descriptor of one image; throws when no face is found. */
  async function analyze(bytes) {
    const { data, info } = await sharp(bytes)
      .rotate()
      .removeAlpha()
      .toColourspace('srgb')
      .raw()
      .toBuffer({ resolveWithObject: true });
    const tensor = human.tf.tensor(data, [1, info.height, info.width, 3], 'int32');
    try {
      const result = await human.detect(tensor);
      const face = result.face[0];
      if (!face?.embedding?.length) throw new Error('human found no face');
      return { embedding: face.embedding, score: face.score, box: face.box };
    } finally {
      human.tf.dispose(tensor);
    }
  }

  return {
    human,
    analyze,
    /** Two images, one after the other (one WASM thread), then human's own similarity. */
    async verify(a, b) {
      const ea = await analyze(a);
      const eb = await analyze(b);
      return { similarity: human.match.similarity(ea.embedding, eb.embedding) };
    },
    versions: {
      human: human.version,
      tfjs: human.tf.version_core,
      backend: human.tf.getBackend(),
      simd: await human.tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
      multithread: await human.tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    },
  };
}
