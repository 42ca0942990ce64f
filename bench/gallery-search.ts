/**
 * Gallery benchmark (not a test). Seeded random unit templates of 192 floats (MobileFaceNet's size):
 *
 * 1. search: SearchIndex at 10k, 100k and 1M faces (two per subject), threshold 0.4, limit 5 —
 *    median and spread of `--probes` searches, beside a plain (not unrolled) dot-product loop over the
 *    same array as the peer; memory = the index's Float32Array and the process RSS growth.
 * 2. enrol: faces per second through GalleryStore.enrol, one at a time and 8 at once, on SQLite (a temp
 *    folder) and PostgreSQL (a scratch schema, dropped after), with and without template encryption.
 * 3. restart: `--restart-faces` faces enrolled, then a new store's open() (migrations + reading,
 *    decrypting and indexing every template), median of 3, per backend.
 *
 *   node --expose-gc --import tsx bench/gallery-search.ts [--probes 50] [--restart-faces 100000] [--skip-1m]
 *     [--only search|enrol|restart] [--backends sqlite,postgres] [--fill-concurrency 32]
 *
 * Writes bench/results/gallery-search.json. PostgreSQL: POSTGRES_TEST_URL or
 * postgres://postgres@127.0.0.1:5432/postgres.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { createGalleryStore } from '../src/gallery/create-gallery-store.js';
import type { CreateGalleryStoreOptions } from '../src/gallery/create-gallery-store.js';
import type { GalleryStore } from '../src/gallery/gallery-store.js';
import { SearchIndex } from '../src/gallery/search-index.js';
import { TemplateCipher } from '../src/gallery/template-cipher.js';
import { prng } from '../test/support/prng.js';
import { numberArg } from './args.js';
import { stats } from './stats.js';

const DIM = 192;
const MODEL = 'mobilefacenet@d8ba40c0127f';
const probes = numberArg('probes', 50);
const restartFaces = numberArg('restart-faces', 100_000);
const sizes = process.argv.includes('--skip-1m') ? [10_000, 100_000] : [10_000, 100_000, 1_000_000];
const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1] : undefined;
const backendsArg = process.argv.includes('--backends')
  ? (process.argv[process.argv.indexOf('--backends') + 1] ?? '')
  : 'sqlite,postgres';
const fillConcurrency = numberArg('fill-concurrency', 32);
const POSTGRES_URL = process.env.POSTGRES_TEST_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

function unitVectors(seed: number): () => Float32Array {
  const random = prng(seed);
  return () => {
    const v = new Float32Array(DIM);
    let s = 0;
    for (let j = 0; j < DIM; j++) s += (v[j] = random() - 0.5) ** 2;
    for (let j = 0; j < DIM; j++) v[j] = (v[j] as number) / Math.sqrt(s);
    return v;
  };
}

/** The peer: the obvious loop, one accumulator, over the same kind of flat array. */
function plainScan(data: Float32Array, n: number, probe: Float32Array, threshold: number): number {
  let hits = 0;
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < DIM; j++) s += (data[i * DIM + j] as number) * (probe[j] as number);
    if (s >= threshold) hits++;
  }
  return hits;
}

function timeIt(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return performance.now() - t0;
}

function searchBench(n: number) {
  gc();
  const rss0 = process.memoryUsage().rss;
  const next = unitVectors(n);
  const index = new SearchIndex(DIM);
  const flat = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    const v = next();
    index.add(`f${i}`, `s${i >> 1}`, v);
    flat.set(v, i * DIM);
  }
  gc();
  const rssMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
  const probeOf = unitVectors(7);
  const warm = probeOf();
  for (let k = 0; k < 3; k++) index.search(warm, { limit: 5, threshold: 0.4 });
  const ours: number[] = [];
  const peer: number[] = [];
  const rounds = n >= 1_000_000 ? Math.min(probes, 20) : probes;
  for (let k = 0; k < rounds; k++) {
    const p = probeOf();
    ours.push(timeIt(() => index.search(p, { limit: 5, threshold: 0.4 })));
    peer.push(timeIt(() => plainScan(flat, n, p, 0.4)));
  }
  const noThreshold = Array.from({ length: Math.min(rounds, 10) }, () => {
    const p = probeOf();
    return timeIt(() => index.search(p, { limit: 5, threshold: -1 }));
  });
  return {
    faces: n,
    search_ms: stats(ours),
    plain_loop_ms: stats(peer),
    search_ms_without_threshold: stats(noThreshold),
    index_mb: Math.round(((index.allocatedFloats * 4) / 2 ** 20) * 10) / 10,
    rss_growth_mb_with_peer_copy: Math.round(rssMb),
  };
}

interface Backend {
  name: 'sqlite' | 'postgres';
  options(): CreateGalleryStoreOptions;
  cleanup(): Promise<void>;
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'fv-gallery-bench-'));
  return {
    name: 'sqlite',
    options: () => ({ dataDir: dir }),
    cleanup: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
  };
}

function postgresBackend(): Backend {
  const schema = `fvbench_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  return {
    name: 'postgres',
    options: () => ({ databaseUrl: POSTGRES_URL, schema, dataDir: '' }),
    async cleanup() {
      const admin = new pg.Client({ connectionString: POSTGRES_URL });
      await admin.connect();
      await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await admin.end();
    },
  };
}

async function enrolMany(
  store: GalleryStore,
  count: number,
  concurrency: number,
  seed: number,
): Promise<number> {
  const next = unitVectors(seed);
  const face = { box: [10, 20, 110, 140], score: 0.999, landmarks: [[40, 60]] };
  let i = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (i < count) {
        const k = i++;
        await store.enrol({
          gallery: 'bench',
          subject: `s${k >> 1}`,
          modelId: MODEL,
          embedding: next(),
          face,
          actor: 'bench',
        });
      }
    }),
  );
  return Math.round(count / ((performance.now() - t0) / 1000));
}

async function storeBench(make: () => Backend, cipher: TemplateCipher | undefined) {
  const backend = make();
  const store = createGalleryStore({ ...backend.options(), ...(cipher && { cipher }) });
  await store.open();
  try {
    return {
      backend: backend.name,
      encrypted: cipher !== undefined,
      enrol_per_s_sequential: await enrolMany(store, 2000, 1, 1),
      enrol_per_s_8_at_once: await enrolMany(store, 4000, 8, 2),
    };
  } finally {
    await store.close();
    await backend.cleanup();
  }
}

async function restartBench(make: () => Backend, cipher: TemplateCipher | undefined) {
  const backend = make();
  const options = { ...backend.options(), ...(cipher && { cipher }) };
  const store = createGalleryStore(options);
  await store.open();
  try {
    const fillPerS = await enrolMany(store, restartFaces, fillConcurrency, 3);
    await store.close();
    const opens: number[] = [];
    for (let k = 0; k < 3; k++) {
      gc();
      const t0 = performance.now();
      const again = createGalleryStore(options);
      await again.open();
      opens.push(performance.now() - t0);
      await again.close();
    }
    return {
      backend: backend.name,
      encrypted: cipher !== undefined,
      faces: restartFaces,
      fill_per_s: fillPerS,
      open_ms: stats(opens),
    };
  } finally {
    await backend.cleanup();
  }
}

const cipher = new TemplateCipher([{ id: 'bench', key: randomBytes(32) }]);
const makers = (
  [
    ['sqlite', sqliteBackend],
    ['postgres', postgresBackend],
  ] as const
)
  .filter(([name]) => backendsArg.includes(name))
  .map(([, make]) => make);
const search = only === undefined || only === 'search' ? sizes.map(searchBench) : [];
for (const s of search) {
  console.log(
    `search ${s.faces}: median ${s.search_ms.median} ms (p90 ${s.search_ms.p90}, min ${s.search_ms.min}); plain loop ${s.plain_loop_ms.median} ms; no threshold ${s.search_ms_without_threshold.median} ms; index ${s.index_mb} MB`,
  );
}
const enrol = [];
for (const make of only === undefined || only === 'enrol' ? makers : []) {
  for (const c of [undefined, cipher]) {
    const r = await storeBench(make, c);
    enrol.push(r);
    console.log(
      `enrol ${r.backend}${r.encrypted ? ' encrypted' : ''}: ${r.enrol_per_s_sequential}/s one at a time, ${r.enrol_per_s_8_at_once}/s 8 at once`,
    );
  }
}
const restart = [];
for (const make of only === undefined || only === 'restart' ? makers : []) {
  const r = await restartBench(make, cipher);
  restart.push(r);
  console.log(
    `restart ${r.backend} with ${r.faces} encrypted faces: open ${r.open_ms.median} ms (min ${r.open_ms.min}); filled at ${r.fill_per_s}/s`,
  );
}
const out = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length, shared: 'other sessions ran on the machine' },
  node: process.version,
  dim: DIM,
  search,
  enrol,
  restart,
};
writeFileSync(
  new URL(`results/gallery-search${only ? `-${only}` : ''}.json`, import.meta.url),
  `${JSON.stringify(out, null, 2)}\n`,
);
