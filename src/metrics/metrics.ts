/**
 * Service metrics, kept once and served two ways at GET /metrics: the reference's JSON (system,
 * tasks, latency percentiles, queue, caches) and Prometheus text (prom-client) for scrapers.
 * Latency percentiles in the JSON come from the last LATENCY_WINDOW finished tasks of this process.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Cache, CacheStats } from '../cache/cache.js';
import type { QueueCounts, TaskQueue } from '../jobs/task-queue.js';

const LATENCY_WINDOW = 1000;

export interface MetricsSources {
  queue: TaskQueue;
  caches: Cache<unknown>[];
}

export class ServiceMetrics {
  readonly registry = new Registry();
  private readonly started = Date.now();
  private readonly latencies: number[] = [];
  private readonly finished = { SUCCESS: 0, FAILURE: 0 };
  private readonly eventLoop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private sources: MetricsSources | undefined;

  readonly taskDuration = new Histogram({
    name: 'faceverify_task_duration_seconds',
    help: 'Time from a task starting to its result, by task name and outcome',
    labelNames: ['name', 'outcome'] as const,
    buckets: [0.025, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 30],
    registers: [this.registry],
  });

  readonly tasks = new Counter({
    name: 'faceverify_tasks_total',
    help: 'Tasks accepted, and finished by outcome',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });

  readonly stageDuration = new Histogram({
    name: 'faceverify_stage_duration_seconds',
    help: 'Time of pipeline stages (download, analyze = decode + detect + align + embed)',
    labelNames: ['stage'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });

  readonly httpErrors = new Counter({
    name: 'faceverify_http_errors_total',
    help: 'Error responses by code',
    labelNames: ['code', 'status'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'faceverify_' });
    this.eventLoop.enable();
    const queueCounts = (): Promise<QueueCounts | undefined> => this.queueCounts();
    const cacheStats = () => this.cacheStats();
    new Gauge({
      name: 'faceverify_queue_tasks',
      help: 'Tasks in the queue by state',
      labelNames: ['state'] as const,
      registers: [this.registry],
      async collect() {
        const counts = await queueCounts();
        if (!counts) return;
        for (const [state, n] of Object.entries(counts) as [string, number][]) this.set({ state }, n);
      },
    });
    for (const [field, help] of [
      ['hits', 'Cache hits'],
      ['misses', 'Cache misses'],
      ['size', 'Entries in the cache'],
      ['evictions', 'Entries evicted (memory caches)'],
    ] as const) {
      new Gauge({
        name: `faceverify_cache_${field}`,
        help,
        labelNames: ['cache'] as const,
        registers: [this.registry],
        async collect() {
          for (const s of await cacheStats()) {
            if ('error' in s.stats) continue;
            this.set({ cache: s.name }, s.stats[field]);
          }
        },
      });
    }
  }

  attach(sources: MetricsSources): void {
    this.sources = sources;
  }

  taskAccepted(): void {
    this.tasks.inc({ event: 'accepted' });
  }

  taskFinished(name: string, outcome: 'SUCCESS' | 'FAILURE', seconds: number): void {
    this.tasks.inc({ event: outcome });
    this.finished[outcome]++;
    this.taskDuration.observe({ name, outcome }, seconds);
    this.latencies.push(seconds * 1000);
    if (this.latencies.length > LATENCY_WINDOW) this.latencies.shift();
  }

  stage(stage: string, ms: number): void {
    this.stageDuration.observe({ stage }, ms / 1000);
  }

  private async queueCounts(): Promise<QueueCounts | undefined> {
    try {
      return await this.sources?.queue.counts();
    } catch {
      return undefined;
    }
  }

  async cacheStats(): Promise<{ name: string; stats: CacheStats | { error: string } }[]> {
    return Promise.all(
      (this.sources?.caches ?? []).map(async (c) => {
        try {
          return { name: c.name, stats: await c.stats() };
        } catch (err) {
          return { name: c.name, stats: { error: err instanceof Error ? err.message : 'unavailable' } };
        }
      }),
    );
  }

  /** The JSON view: system metrics and performance statistics. */
  async json(): Promise<Record<string, unknown>> {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const pct = (p: number): number | null =>
      sorted.length
        ? Math.round((sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] as number) * 10) / 10
        : null;
    const mem = process.memoryUsage();
    const mb = (v: number): number => Math.round((v / 2 ** 20) * 10) / 10;
    const counts = await this.queueCounts();
    return {
      system: {
        uptime_s: Math.round((Date.now() - this.started) / 1000),
        memory_mb: { rss: mb(mem.rss), heap_used: mb(mem.heapUsed), external: mb(mem.external) },
        event_loop_delay_ms: {
          p50: Math.round(this.eventLoop.percentile(50) / 1e4) / 100,
          p99: Math.round(this.eventLoop.percentile(99) / 1e4) / 100,
          max: Math.round(this.eventLoop.max / 1e4) / 100,
        },
        node: process.version,
        pid: process.pid,
      },
      tasks: {
        by_state: counts ?? null,
        finished_in_this_process: { ...this.finished },
      },
      performance: {
        latency_ms: { p50: pct(0.5), p90: pct(0.9), p99: pct(0.99), samples: sorted.length },
      },
      queue: {
        backend: this.sources?.queue.backend ?? null,
        depth: counts ? counts.PENDING + counts.RETRY : null,
        running: counts?.STARTED ?? null,
      },
      caches: Object.fromEntries((await this.cacheStats()).map((c) => [c.name, c.stats])),
    };
  }

  close(): void {
    this.eventLoop.disable();
  }
}
