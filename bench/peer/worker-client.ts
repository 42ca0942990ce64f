/**
 * The parent's side of bench/peer/verify-worker.js: start a child process running one engine (plain
 * `node`, no TypeScript loader, so its time and memory are the engine's own), send it jobs, read replies.
 */
import { fork, type ChildProcess } from 'node:child_process';

export type Reply =
  | { type: 'ready'; loadMs: number }
  | { type: 'warm' }
  | { type: 'done'; pairs: number; ms: number; maxRssMb: number; rssMb: number }
  | { type: 'error'; message: string };
export interface Worker {
  child: ChildProcess;
  next: () => Promise<Reply>;
}
const workerPath = new URL('verify-worker.js', import.meta.url).pathname;

/** A fresh child process with the engine loaded (ours: dist/, so build first). */
export async function startWorker(engine: 'ours' | 'human'): Promise<Worker> {
  // execArgv: [] so the child does not inherit tsx's loader: it runs as a user would run it.
  const child = fork(workerPath, [engine], { serialization: 'advanced', execArgv: [], stdio: 'inherit' });
  const queue: Reply[] = [];
  const waiting: ((r: Reply) => void)[] = [];
  child.on('message', (m) => {
    const r = m as Reply;
    const w = waiting.shift();
    if (w) w(r);
    else queue.push(r);
  });
  const next = async (): Promise<Reply> => {
    const r = queue.shift() ?? (await new Promise<Reply>((resolve) => waiting.push(resolve)));
    if (r.type === 'error') throw new Error(`${engine} worker: ${r.message}`);
    return r;
  };
  const ready = await next();
  if (ready.type !== 'ready') throw new Error(`${engine} worker did not start`);
  return { child, next };
}
export async function ask<T extends Reply['type']>(w: Worker, msg: object, want: T) {
  w.child.send(msg);
  const r = await w.next();
  if (r.type !== want) throw new Error(`expected ${want}, got ${r.type}`);
  return r as Extract<Reply, { type: T }>;
}
export const stop = (w: Worker): Promise<void> =>
  new Promise((resolve) => {
    w.child.once('exit', () => resolve());
    w.child.disconnect();
  });
