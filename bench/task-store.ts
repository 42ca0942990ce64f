/**
 * Task-store benchmark (not a test): what the in-process queue holds after an hour of full load. A
 * server that finishes ~28 tasks/s keeps every result for RESULT_TTL_S (1 h), ~100 000 records, unless
 * MAX_STORED_RESULTS bounds them. Runs `--tasks` verify tasks with a real verify result through a
 * MemoryQueue at the default bound and with the bound out of reach (the TTL alone), in one process, and
 * reports the V8 heap they keep (after full collections) and the queue's own time per task once that
 * many are stored. Writes bench/results/task-store.json.
 *
 *   node --expose-gc --import tsx bench/task-store.ts [--tasks 100000]
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { MemoryQueue } from '../src/jobs/memory-queue.js';
import { QUEUE_DEFAULTS } from '../src/jobs/queue-options.js';
import type { TaskPayload } from '../src/jobs/task-queue.js';
import { numberArg } from './args.js';

const tasks = numberArg('tasks', 100_000);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc --import tsx bench/task-store.ts');

// The result of a real POST /verify of two photos (two faces with box, score and landmarks).
const face = {
  box: [212.4, 96.1, 341.7, 262.9],
  score: 0.99987,
  landmarks: [
    [251.3, 163.2],
    [305.8, 160.7],
    [279.4, 193.5],
    [258.1, 225.9],
    [302.6, 223.8],
  ],
};
const result = {
  is_match: true,
  similarity: 0.7134,
  distance: 0.7571,
  confidence: 0.9981,
  threshold: 0.41,
  metric: 'cosine',
  model: 'mobilefacenet',
  face_policy: 'strict',
  image1: { width: 640, height: 480, faces: [face] },
  image2: { width: 640, height: 480, faces: [face] },
  cached: false,
  processing_time: 0.081,
};
const task: TaskPayload = {
  name: 'verify',
  data: { image1: { url: 'http://example.test/a.jpg' }, image2: { url: 'http://example.test/b.jpg' } },
};
const quiet = { warn: () => undefined, error: () => undefined };

async function measure(label: string, maxStoredResults: number) {
  gc?.();
  gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const queue = new MemoryQueue({ maxPending: 1000, maxStoredResults, logger: quiet });
  await queue.startWorker(() => Promise.resolve(structuredClone(result)), 8);
  for (let done = 0; done < tasks; done += 100) {
    const ids = await Promise.all(Array.from({ length: 100 }, () => queue.enqueue(task)));
    await Promise.all(ids.map((id) => queue.wait(id, 10_000)));
  }
  gc?.();
  gc?.();
  const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
  // The queue's own cost per task now that the store is full: enqueue, run, wait, one at a time.
  const t = performance.now();
  for (let i = 0; i < 1000; i++) await queue.wait(await queue.enqueue(task), 10_000);
  const microsPerTask = ((performance.now() - t) / 1000) * 1000;
  const kept = (await queue.counts()).SUCCESS;
  await queue.close();
  return {
    label,
    max_stored_results: maxStoredResults,
    kept,
    heap_mb: Math.round(heapMb * 10) / 10,
    bytes_per_kept_task: Math.round((heapMb * 2 ** 20) / kept),
    queue_us_per_task: Math.round(microsPerTask),
  };
}

const runs = [
  await measure(`TTL alone (bound ${tasks * 10})`, tasks * 10),
  await measure(
    `MAX_STORED_RESULTS=${QUEUE_DEFAULTS.maxStoredResults} (the default)`,
    QUEUE_DEFAULTS.maxStoredResults,
  ),
];
const out = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length },
  node: process.version,
  tasks,
  runs,
};
writeFileSync(new URL('results/task-store.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
console.log(`${tasks} verify tasks through the in-process queue`);
console.log(
  '| store | tasks kept | heap kept MB | bytes per task | queue µs per task |\n| --- | --- | --- | --- | --- |',
);
for (const r of runs) {
  console.log(
    `| ${r.label} | ${r.kept} | ${r.heap_mb} | ${r.bytes_per_kept_task} | ${r.queue_us_per_task} |`,
  );
}
const [ttl, bounded] = runs as [(typeof runs)[0], (typeof runs)[0]];
console.log(`heap: the bound keeps ${(ttl.heap_mb / bounded.heap_mb).toFixed(1)}× less`);
