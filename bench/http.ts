/**
 * Throughput benchmark (not a test): verify pairs per second and latency, through the library with
 * several verifications in flight, single images per second through the library (both cores busy),
 * and through the HTTP API (`POST /verify/sync`, multipart uploads of
 * two ~640×480 photos) with autocannon on loopback — in-process and Redis/BullMQ modes, with caches off
 * (every request does the full work) and on (repeated pairs answered from the result cache).
 * Writes bench/results/http.json and prints a table.
 *
 *   npx tsx bench/http.ts [--seconds 10] [--connections 4]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { loadConfig } from '../src/config/config.js';
import { createService } from '../src/container.js';
import { inferenceThreads } from '../src/config/verifier-options.js';
import { createVerifier } from '../src/create-verifier.js';
import type { Verifier } from '../src/pipeline/verifier.js';
import { FACES_DIR } from './faces-dir.js';
import { numberArg } from './args.js';
import { benchPair, lfwSample, multipartUpload } from './inputs.js';

const seconds = numberArg('seconds', 10);
const connections = numberArg('connections', 4);
const cores = cpus().length;

const [a, b] = await benchPair();

/** Operations per second with `inFlight` of them running at once, on a fresh verifier. */
async function rate(
  inFlight: number,
  threads: number,
  op: (verifier: Verifier, i: number) => Promise<unknown>,
): Promise<number> {
  const verifier = await createVerifier({ threads });
  for (let i = 0; i < 5; i++) await op(verifier, i);
  let done = 0;
  const end = performance.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (performance.now() < end) await op(verifier, done++);
    }),
  );
  await verifier.close();
  return Math.round((done / seconds) * 10) / 10;
}

// Library: N verifications in flight, in the calling thread or on inference threads; caches don't
// exist at this level.
async function library(
  inFlight: number,
  threads: number,
): Promise<{ pairs_per_s: number; in_flight: number; threads: number }> {
  const pairsPerS = await rate(inFlight, threads, (verifier) => verifier.verify(a, b));
  return { pairs_per_s: pairsPerS, in_flight: inFlight, threads };
}

// Library: single images analysed (decode, detect, align, embed) with both cores busy.
// The LFW crops in which a face is found (the policy takes the largest when there are several).
const checker = await createVerifier({ threads: 0 });
const lfwCrops: Buffer[] = [];
for (const p of lfwSample(12)) {
  const bytes = readFileSync(`${FACES_DIR}/${p}`);
  if (
    await checker.analyze(bytes, { facePolicy: 'largest' }).then(
      () => true,
      () => false,
    )
  )
    lfwCrops.push(bytes);
}
await checker.close();

async function images(
  label: string,
  set: Buffer[],
): Promise<{ images: string; count: number; images_per_s: number }> {
  const perS = await rate(2 * cores, cores, (verifier, i) =>
    verifier.analyze(set[i % set.length] as Buffer, { facePolicy: 'largest' }),
  );
  return { images: label, count: set.length, images_per_s: perS };
}

async function http(mode: 'memory' | 'redis', cache: 'on' | 'off', threads = 'auto') {
  const config = loadConfig({
    INFERENCE_THREADS: threads,
    LOG_LEVEL: 'silent',
    RATE_LIMIT_MAX: '0', // measure the service, not the rate limiter
    EMBEDDING_CACHE: cache,
    MAX_CONCURRENT_TASKS: String(connections),
    ...(mode === 'redis' ? { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' } : {}),
  });
  const service = await createService(config, 'both', { redisPrefix: `fvbench-${Date.now()}` });
  const app = service.app;
  if (!app) throw new Error('no app');
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  const { body, contentType } = multipartUpload(a, b);
  const run = (duration: number) =>
    autocannon({
      url: `${url}/verify/sync`,
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
      connections,
      duration,
    });
  await run(2); // warm-up
  const r = await run(seconds);
  const rss = Math.round(process.memoryUsage().rss / 2 ** 20);
  await service.queue.close();
  await service.close();
  return {
    mode,
    cache,
    threads: inferenceThreads(config),
    pairs_per_s: Math.round(r.requests.average * 10) / 10,
    latency_ms: { p50: r.latency.p50, p90: r.latency.p90, p99: r.latency.p99 },
    non_2xx: r.non2xx,
    errors: r.errors,
    rss_mb_after: rss,
  };
}

const results = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length },
  node: process.version,
  seconds,
  connections,
  library: [
    await library(1, 0),
    await library(2, 0),
    await library(1, cores),
    await library(2, cores),
    await library(4, cores),
  ],
  images: [await images('640×480 (the pair above)', [a, b]), await images('LFW 250×250', lfwCrops)],
  http: [
    await http('memory', 'off', '0'),
    await http('memory', 'off'),
    await http('memory', 'on'),
    await http('redis', 'off'),
    await http('redis', 'on'),
  ],
  // The machine's speed drifts during a run: the library once more after the HTTP rows, so the
  // HTTP/library ratio compares like with like (the mean of the library before and after).
  library_after_http: await library(4, cores),
};
const libraryBefore = results.library.at(-1)?.pairs_per_s ?? NaN;
const libraryMean = (libraryBefore + results.library_after_http.pairs_per_s) / 2;
const httpThreads = results.http[1]?.pairs_per_s ?? NaN;
writeFileSync(
  new URL('results/http.json', import.meta.url),
  `${JSON.stringify({ ...results, http_over_library: Math.round((httpThreads / libraryMean) * 100) / 100 }, null, 2)}\n`,
);
console.log(
  `machine: ${results.machine.cpu}, ${results.machine.cores} cores; ${seconds} s per run; ${connections} connections`,
);
console.log(
  '| through | mode | caches | pairs/s | p50 ms | p90 ms | p99 ms | non-2xx |\n| --- | --- | --- | --- | --- | --- | --- | --- |',
);
for (const l of results.library)
  console.log(
    `| library | ${l.threads ? `${l.threads} threads` : 'calling thread'}, ${l.in_flight} in flight | – | ${l.pairs_per_s} | | | | |`,
  );
console.log(`\nimages per second, library, ${cores} inference threads, ${2 * cores} in flight:`);
for (const i of results.images) console.log(`- ${i.images} (${i.count} images): ${i.images_per_s} images/s`);
console.log();
for (const h of results.http) {
  console.log(
    `| HTTP /verify/sync | ${h.mode}, ${h.threads ? `${h.threads} threads` : 'calling thread'} | ${h.cache} | ${h.pairs_per_s} | ${h.latency_ms.p50} | ${h.latency_ms.p90} | ${h.latency_ms.p99} | ${h.non_2xx} |`,
  );
}
console.log(
  `\nlibrary, ${cores} threads, 4 in flight, again after the HTTP rows: ${results.library_after_http.pairs_per_s} pairs/s; HTTP in-process (${cores} threads, caches off) / library (mean of before and after): ${Math.round((httpThreads / libraryMean) * 100)} %`,
);
