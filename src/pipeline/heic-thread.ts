/**
 * The body of the HEIC decoding thread (see heic-decoder.ts): libheif compiled to WebAssembly
 * (`libheif-js`, with libde265 for HEVC). One request at a time is answered; the thread only ever sees
 * bytes and answers with pixels or a reason, so a bug in the decoder can at worst end this thread.
 *
 * Messages in: `{ id, bytes, maxInputPixels }`.
 * Messages out: `{ id, kind: 'pixels', width, height, data }` (interleaved RGB, 8 bit, irot/imir
 * applied), `{ id, kind: 'size', width, height }` when the header declares more than `maxInputPixels`
 * (nothing decoded), `{ id, kind: 'invalid', message }` for a file libheif refuses, and after each
 * answer the size of the WebAssembly heap, which only grows (`heapBytes`).
 */
import { createRequire } from 'node:module';
import { parentPort } from 'node:worker_threads';

/** The parts of libheif's embind API used here (the package ships no types for its CommonJS entry). */
/** libheif's error codes arrive as embind enum values (`{ value }`); 0 is heif_error_Ok. */
interface HeifError {
  code: number | { value: number };
  message?: string;
}
interface HeifChannel {
  id: unknown;
  width: number;
  height: number;
  stride: number;
  data: Uint8Array;
}
interface HeifDecoded extends Partial<HeifError> {
  image: unknown;
  channels?: HeifChannel[];
}
interface LibHeif {
  ready: Promise<unknown>;
  HEAPU8: Uint8Array;
  heif_context_alloc(): unknown;
  heif_context_free(ctx: unknown): void;
  heif_context_read_from_memory(ctx: unknown, bytes: Uint8Array): HeifError;
  heif_js_context_get_primary_image_handle(ctx: unknown): unknown;
  heif_image_handle_get_width(handle: unknown): number;
  heif_image_handle_get_height(handle: unknown): number;
  heif_image_handle_release(handle: unknown): void;
  heif_js_decode_image2(handle: unknown, colorspace: unknown, chroma: unknown): Promise<HeifDecoded>;
  heif_image_release(image: unknown): void;
  heif_colorspace: { heif_colorspace_RGB: unknown };
  heif_chroma: { heif_chroma_interleaved_RGB: unknown };
}

export interface HeicRequest {
  id: number;
  bytes: Uint8Array;
  maxInputPixels: number;
}

export type HeicAnswer = { id: number; heapBytes: number } & (
  | { kind: 'pixels'; width: number; height: number; data: Uint8Array }
  | { kind: 'size'; width: number; height: number }
  | { kind: 'invalid'; message: string }
);

const port = parentPort;
if (!port) throw new Error('heic-thread must run in a worker thread');

const lib = createRequire(import.meta.url)('libheif-js/wasm-bundle') as LibHeif;
await lib.ready;

/** The error in a result (a handle or an error object), or null when the call worked. */
function errorOf(value: unknown): string | null {
  if (!value) return 'no result';
  const raw = (value as Partial<HeifError>).code;
  const code = typeof raw === 'object' ? raw.value : raw;
  if (code === undefined || code === 0) return null;
  return (value as HeifError).message ?? `libheif error ${code}`;
}

async function decode(request: HeicRequest): Promise<HeicAnswer> {
  const base = { id: request.id, heapBytes: 0 };
  const ctx = lib.heif_context_alloc();
  let handle: unknown = null;
  let image: unknown = null;
  try {
    const readError = errorOf(lib.heif_context_read_from_memory(ctx, request.bytes));
    if (readError) return { ...base, kind: 'invalid', message: readError };
    handle = lib.heif_js_context_get_primary_image_handle(ctx);
    const handleError = errorOf(handle);
    if (handleError) {
      handle = null;
      return { ...base, kind: 'invalid', message: handleError };
    }
    // The size after irot/imir/clap, from the header boxes: checked before any pixel is decoded.
    const width = lib.heif_image_handle_get_width(handle);
    const height = lib.heif_image_handle_get_height(handle);
    if (width <= 0 || height <= 0 || width * height > request.maxInputPixels) {
      return { ...base, kind: 'size', width, height };
    }
    const decoded = await lib.heif_js_decode_image2(
      handle,
      lib.heif_colorspace.heif_colorspace_RGB,
      lib.heif_chroma.heif_chroma_interleaved_RGB,
    );
    const decodeError = errorOf(decoded);
    if (decodeError) return { ...base, kind: 'invalid', message: decodeError };
    image = decoded.image;
    const plane = decoded.channels?.[0];
    if (!plane || plane.width !== width || plane.height !== height || plane.stride < width * 3) {
      return { ...base, kind: 'invalid', message: 'unexpected pixel layout' };
    }
    const rowBytes = width * 3;
    let data: Uint8Array;
    if (plane.stride === rowBytes) data = plane.data.slice(0, rowBytes * height);
    else {
      data = new Uint8Array(rowBytes * height);
      for (let y = 0; y < height; y++) {
        data.set(plane.data.subarray(y * plane.stride, y * plane.stride + rowBytes), y * rowBytes);
      }
    }
    return { ...base, kind: 'pixels', width, height, data };
  } finally {
    if (image) lib.heif_image_release(image);
    if (handle) lib.heif_image_handle_release(handle);
    lib.heif_context_free(ctx);
  }
}

port.on('message', (request: HeicRequest) => {
  let broken = false;
  void decode(request)
    .catch((err: unknown): HeicAnswer => {
      // A throw out of the module (an abort, out of memory) may leave its state corrupt: answer, then end.
      broken = true;
      const message = err instanceof Error ? err.message : String(err);
      return { id: request.id, heapBytes: 0, kind: 'invalid', message };
    })
    .then((answer) => {
      answer.heapBytes = lib.HEAPU8.length;
      const transfer = answer.kind === 'pixels' ? [answer.data.buffer as ArrayBuffer] : [];
      port.postMessage(answer, transfer);
      if (broken) port.close();
    });
});
port.postMessage({ ready: true });
