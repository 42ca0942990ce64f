/**
 * Memory benchmark (not a test): the real server process (`faceverify serve`, embedded mode, caches
 * off so every request does the full work) under `POST /verify/sync` load from autocannon, its RSS
 * sampled from /proc every 250 ms. Reports the peak RSS and the growth from the end of the first load
 * phase to the end of the last (a leak shows as steady growth), for several settings side by side:
 * the calling thread, one inference thread, one per core, and one per core with glibc's malloc arenas
 * capped (MALLOC_ARENA_MAX=2) or replaced by jemalloc (when Debian's libjemalloc2 is installed).
 * Writes bench/results/memory.json.
 *
 *   npm run build && npx tsx bench/memory.ts [--phases 6] [--seconds 10] [--connections 4]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import autocannon from 'autocannon';
import { numberArg } from './args.js';
import { benchPair, multipartUpload } from './inputs.js';

const phases = numberArg('phases', 6);
const seconds = numberArg('seconds', 10);
const connections = numberArg('connections', 4);
const JEMALLOC = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2';

const { body, contentType } = multipartUpload(...(await benchPair()));

function rssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

async function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; url: string }> {
  const port = 18000 + Math.floor(Math.random() * 1000);
  const child = spawn(
    process.execPath,
    [new URL('../bin/faceverify.js', import.meta.url).pathname, 'serve'],
    {
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        RATE_LIMIT_MAX: '0',
        EMBEDDING_CACHE: 'off',
        MAX_CONCURRENT_TASKS: String(connections),
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(`${url}/health/ready`)).ok) return { child, url };
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('server did not become ready');
}

async function measure(label: string, env: Record<string, string>) {
  const { child, url } = await startServer(env);
  const pid = child.pid as number;
  const idle = rssMb(pid);
  let peak = idle;
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(pid))), 250);
  const afterPhase: number[] = [];
  let requests = 0;
  for (let p = 0; p < phases; p++) {
    const r = await autocannon({
      url: `${url}/verify/sync`,
      method: 'POST',
      headers: { 'content-type': contentType },
      body,
      connections,
      duration: seconds,
    });
    requests += r.requests.total;
    if (r.non2xx > 0) throw new Error(`${label}: ${r.non2xx} non-2xx answers`);
    afterPhase.push(rssMb(pid));
  }
  clearInterval(timer);
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  const first = afterPhase[0] as number;
  const last = afterPhase[afterPhase.length - 1] as number;
  return {
    label,
    env,
    requests,
    pairs_per_s: Math.round((requests / (phases * seconds)) * 10) / 10,
    rss_mb: { idle, peak, after_each_phase: afterPhase, growth_first_to_last: last - first },
  };
}

const runs = [
  await measure('calling thread (INFERENCE_THREADS=0)', { INFERENCE_THREADS: '0' }),
  await measure('1 inference thread', { INFERENCE_THREADS: '1' }),
  await measure(`${cpus().length} inference threads (auto, the default)`, { INFERENCE_THREADS: 'auto' }),
  await measure(`${cpus().length} inference threads, MALLOC_ARENA_MAX=2`, {
    INFERENCE_THREADS: 'auto',
    MALLOC_ARENA_MAX: '2',
  }),
  // jemalloc instead of glibc's malloc, where Debian's libjemalloc2 is installed.
  ...(existsSync(JEMALLOC)
    ? [
        await measure(`${cpus().length} inference threads, jemalloc`, {
          INFERENCE_THREADS: 'auto',
          LD_PRELOAD: JEMALLOC,
        }),
      ]
    : []),
];
const result = {
  date: new Date().toISOString(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length },
  node: process.version,
  phases,
  seconds,
  connections,
  runs,
};
writeFileSync(new URL('results/memory.json', import.meta.url), `${JSON.stringify(result, null, 2)}\n`);
console.log(`${phases} phases of ${seconds} s, ${connections} connections, caches off`);
console.log(
  '| server | pairs/s | idle MB | peak MB | growth first → last phase MB |\n| --- | --- | --- | --- | --- |',
);
for (const r of runs) {
  console.log(
    `| ${r.label} | ${r.pairs_per_s} | ${r.rss_mb.idle} | ${r.rss_mb.peak} | ${r.rss_mb.growth_first_to_last} (${r.rss_mb.after_each_phase.join(', ')}) |`,
  );
}
