/**
 * The body of one inference thread of an {@link AnalyzerPool}: it builds an in-thread `FaceAnalyzer`
 * (its own ONNX Runtime sessions) from the options it is started with, then analyses images on request.
 *
 * Messages in: `{ type: 'analyze', id, bytes, options }`, `{ type: 'close' }`.
 * Messages out: `{ type: 'ready', model }` or `{ type: 'failed', error }` once at start, then
 * `{ type: 'result', id, analysis }` or `{ type: 'error', id, error }` per request, and
 * `{ type: 'warning', message }` when model loading warns (e.g. the CUDA fallback).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { ModelRegistry } from '../models/registry.js';
import { FaceAnalyzer } from '../pipeline/face-analyzer.js';
import {
  ownsBuffer,
  serializeError,
  type FromThread,
  type ThreadData,
  type ToThread,
} from './thread-messages.js';

const port = parentPort;
if (!port) throw new Error('analyzer-thread must run in a worker thread');

function post(message: FromThread, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

/** Answers a request; if the answer cannot be sent (not cloneable), says so instead of dying. */
function answer(id: number, message: FromThread, transfer: ArrayBuffer[] = []): void {
  try {
    post(message, transfer);
  } catch (err) {
    post({
      type: 'error',
      id,
      error: {
        name: 'Error',
        message: `could not send the answer: ${err instanceof Error ? err.message : String(err)}`,
      },
    });
  }
}

const data = workerData as ThreadData;
let analyzer: FaceAnalyzer;
try {
  analyzer = await FaceAnalyzer.create({
    ...data.options,
    registry: new ModelRegistry(data.manifests),
    session: { ...data.options.session, onWarning: (message) => post({ type: 'warning', message }) },
  });
  post({ type: 'ready', model: analyzer.model });
} catch (err) {
  post({ type: 'failed', error: serializeError(err) });
  port.close();
  throw err;
}

port.on('message', (message: ToThread) => {
  if (message.type === 'close') {
    void analyzer.close().finally(() => port.close());
    return;
  }
  const { id, bytes, options } = message;
  analyzer.analyze(bytes, options).then(
    (analysis) => {
      // Transfer the embedding's memory only when the array owns all of it (not a view of more).
      const e = analysis.embedding;
      answer(id, { type: 'result', id, analysis }, ownsBuffer(e) ? [e.buffer as ArrayBuffer] : []);
    },
    (err: unknown) => answer(id, { type: 'error', id, error: serializeError(err) }),
  );
});
