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
 *     [--only calling,one,auto,arena2,jemalloc] [--rounds 1]
 * Other settings for --only: arena3, arena4, hugetlb, arena2-hugetlb, store200, t1…t4 (see SETTINGS).
 *
 *   npx tsx bench/memory.ts --budget [--phases 4]
 * The memory budget (issue #17): at most 150 MB for the process without inference threads plus at most
 * 200 MB per inference thread, at full load. A thread's share cannot be read off one process (threads
 * share its address space and libraries), so servers with 1, 2, 3 and 4 inference threads are run at
 * full load (2 connections per thread, at least 4) and a line is fitted to their peaks: its slope is
 * what each thread adds, its intercept what the process needs without them. Each server is also
 * compared with its own budget, 150 + 200 · threads MB.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
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

async function measure(label: string, env: Record<string, string>, conns = connections) {
  const { child, url } = await startServer({ ...env, MAX_CONCURRENT_TASKS: String(conns) });
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
      connections: conns,
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
    connections: conns,
    requests,
    pairs_per_s: Math.round((requests / (phases * seconds)) * 10) / 10,
    rss_mb: { idle, peak, after_each_phase: afterPhase, growth_first_to_last: last - first },
  };
}

const threads = `${cpus().length} inference threads`;
const TWO = { INFERENCE_THREADS: 'auto' };
const HUGE_PAGES = 'glibc.malloc.hugetlb=1';
/** The server settings compared, by key (`--only` picks some; `--rounds` repeats them in turn). */
const SETTINGS: Record<string, [string, Record<string, string>]> = {
  calling: ['calling thread (INFERENCE_THREADS=0)', { INFERENCE_THREADS: '0' }],
  one: ['1 inference thread', { INFERENCE_THREADS: '1' }],
  auto: [`${threads} (auto, the default)`, TWO],
  arena2: [`${threads}, MALLOC_ARENA_MAX=2`, { ...TWO, MALLOC_ARENA_MAX: '2' }],
  arena3: [`${threads}, MALLOC_ARENA_MAX=3`, { ...TWO, MALLOC_ARENA_MAX: '3' }],
  arena4: [`${threads}, MALLOC_ARENA_MAX=4`, { ...TWO, MALLOC_ARENA_MAX: '4' }],
  hugetlb: [`${threads}, ${HUGE_PAGES}`, { ...TWO, GLIBC_TUNABLES: HUGE_PAGES }],
  'arena2-hugetlb': [
    `${threads}, MALLOC_ARENA_MAX=2 and ${HUGE_PAGES}`,
    { ...TWO, MALLOC_ARENA_MAX: '2', GLIBC_TUNABLES: HUGE_PAGES },
  ],
  // jemalloc instead of glibc's malloc, where Debian's libjemalloc2 is installed.
  jemalloc: [`${threads}, jemalloc`, { ...TWO, LD_PRELOAD: JEMALLOC }],
  // The task store held small, to tell its growth from anything else's in a long run.
  store200: [`${threads}, MAX_STORED_RESULTS=200`, { ...TWO, MAX_STORED_RESULTS: '200' }],
};
/** Servers with a fixed number of inference threads, for the budget's fit. */
const BUDGET_THREADS = [1, 2, 3, 4];
for (const n of BUDGET_THREADS)
  SETTINGS[`t${n}`] = [`${n} inference thread${n > 1 ? 's' : ''}`, { INFERENCE_THREADS: String(n) }];
const budget = process.argv.includes('--budget');
const only = budget
  ? BUDGET_THREADS.map((n) => `t${n}`)
  : process.argv.includes('--only')
    ? (process.argv[process.argv.indexOf('--only') + 1] ?? '').split(',')
    : ['calling', 'one', 'auto', 'arena2', 'jemalloc'];
for (const key of only) if (!SETTINGS[key]) throw new Error(`--only: unknown setting ${key}`);
const chosen = only.filter((key) => key !== 'jemalloc' || existsSync(JEMALLOC));
const runs: Awaited<ReturnType<typeof measure>>[] = [];
for (let round = 0; round < numberArg('rounds', 1); round++) {
  for (const key of chosen) {
    const [label, env] = SETTINGS[key] as [string, Record<string, string>];
    const threadCount = /^t(\d)$/.exec(key)?.[1];
    runs.push(
      await measure(label, env, threadCount ? Math.max(connections, 2 * Number(threadCount)) : connections),
    );
  }
}
/** Least-squares line through (threads, peak RSS) of the budget's servers. */
function budgetFit() {
  const points = runs.flatMap((r) => {
    const n = Number(r.env.INFERENCE_THREADS);
    return Number.isInteger(n) && n > 0 ? [[n, r.rss_mb.peak] as const] : [];
  });
  if (points.length < 2) return undefined;
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length;
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length;
  const slope =
    points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0) /
    points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return {
    per_thread_mb: Math.round(slope),
    without_threads_mb: Math.round(my - slope * mx),
    budget: { without_threads_mb: 150, per_thread_mb: 200 },
    servers: points.map(([n, peak]) => ({ threads: n, peak_mb: peak, budget_mb: 150 + 200 * n })),
  };
}
const fit = budgetFit();
const result = {
  date: new Date().toISOString(),
  loadavg: loadavg(),
  machine: { cpu: cpus()[0]?.model, cores: cpus().length },
  node: process.version,
  phases,
  seconds,
  connections,
  runs,
  ...(fit ? { budget_fit: fit } : {}),
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
if (fit) {
  console.log(
    `\nBudget fit over ${fit.servers.length} servers: ${fit.without_threads_mb} MB without inference threads (budget 150) + ${fit.per_thread_mb} MB per thread (budget 200).`,
  );
  for (const sv of fit.servers) {
    console.log(
      `- ${sv.threads} thread(s): peak ${sv.peak_mb} MB, budget ${sv.budget_mb} MB (${sv.peak_mb <= sv.budget_mb ? 'within' : 'OVER'})`,
    );
  }
}
