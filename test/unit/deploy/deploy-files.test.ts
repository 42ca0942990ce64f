/**
 * The deployment files (Dockerfile, .dockerignore, compose.yaml, deploy/*.yaml) checked against the
 * real code. No Docker engine or cluster runs here, so this is what keeps them from drifting: every
 * start command is a faceverify subcommand whose options the real CLI parser accepts, every probe is a
 * route that answers 200 without an API key, every environment variable is a setting of
 * src/config/config.ts whose value loadConfig accepts, ports and grace periods agree with the server,
 * and the Dockerfile has the stages, model cache and non-root user the manifests rely on.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { createCache } from '../../../src/cache/create-cache.js';
import type { Cache } from '../../../src/cache/cache.js';
import { jsonCodec } from '../../../src/cache/codecs.js';
import { commands, type CommandContext } from '../../../src/cli/commands/index.js';
import { main } from '../../../src/cli/main.js';
import { loadConfig, SCHEMA } from '../../../src/config/config.js';
import { buildApp } from '../../../src/http/app.js';
import { createTaskQueue } from '../../../src/jobs/create-queue.js';
import { ServiceMetrics } from '../../../src/metrics/metrics.js';

const ROOT = new URL('../../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');

// ---------------------------------------------------------------- YAML

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const obj = (v: unknown): Obj => (isObj(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (v: unknown): string[] => arr(v).map(String);

/** Every document of a YAML file; fails on any parse error or warning. Merge keys (`<<`) as Compose reads them. */
function yamlDocs(path: string): Obj[] {
  const docs = parseAllDocuments(read(path), { merge: true });
  if (!Array.isArray(docs)) throw new Error(`${path}: not a YAML stream`);
  return docs.map((d) => {
    const problems = [...d.errors, ...d.warnings].map((e) => e.message);
    if (problems.length > 0) throw new Error(`${path}: ${problems.join('; ')}`);
    return obj(d.toJS());
  });
}

const DEPLOY_FILES = readdirSync(new URL('deploy/', ROOT))
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => `deploy/${f}`);
const K8S = DEPLOY_FILES.filter((f) => !f.endsWith('kustomization.yaml')).flatMap((file) =>
  yamlDocs(file).map((doc) => ({ file, doc })),
);
const k8s = (kind: string, name: string): Obj => {
  const found = K8S.find(({ doc }) => doc.kind === kind && obj(doc.metadata).name === name);
  if (!found) throw new Error(`deploy/: no ${kind} ${name}`);
  return found.doc;
};
const podSpec = (deployment: Obj): Obj => obj(obj(obj(deployment.spec).template).spec);
const containers = (deployment: Obj): Obj[] => arr(podSpec(deployment).containers).map(obj);
/** The Deployments that run the faceverify image (not Redis). */
const FACEVERIFY_DEPLOYMENTS = K8S.filter(
  ({ doc }) =>
    doc.kind === 'Deployment' && containers(doc).some((c) => String(c.image).startsWith('faceverify')),
).map(({ doc }) => doc);

const COMPOSE = yamlDocs('compose.yaml')[0] ?? {};
const SERVICES = obj(COMPOSE.services);
const composeService = (name: string): Obj => obj(SERVICES[name]);

// ---------------------------------------------------------------- Dockerfile

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions with continuation lines joined and comments dropped. */
function dockerInstructions(text: string): Instruction[] {
  const out: Instruction[] = [];
  let buf = '';
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.trim().startsWith('#') || (buf === '' && line.trim() === '')) continue;
    if (line.endsWith('\\')) {
      buf += `${line.slice(0, -1)} `;
      continue;
    }
    buf += line;
    const m = /^\s*([A-Za-z]+)\s+([\s\S]*)$/.exec(buf);
    if (m?.[1] && m[2] !== undefined) out.push({ keyword: m[1].toUpperCase(), args: m[2].trim() });
    buf = '';
  }
  return out;
}

interface Stage {
  name: string;
  image: string;
  instructions: Instruction[];
}

function dockerStages(instructions: Instruction[]): { args: Record<string, string>; stages: Stage[] } {
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const [image = '', as, name = ''] = ins.args.split(/\s+/);
      expect(as?.toUpperCase(), `FROM ${ins.args} names its stage`).toBe('AS');
      stages.push({
        name,
        image: image.replace(/\$\{(\w+)\}/g, (_, a: string) => args[a] ?? ''),
        instructions: [],
      });
    } else if (stages.length === 0 && ins.keyword === 'ARG') {
      const [k = '', v = ''] = ins.args.split('=');
      args[k] = v;
    } else {
      stages.at(-1)?.instructions.push(ins);
    }
  }
  return { args, stages };
}

const envOf = (stage: Stage): Record<string, string> =>
  Object.fromEntries(
    stage.instructions
      .filter((i) => i.keyword === 'ENV')
      .flatMap((i) =>
        [...i.args.matchAll(/(\w+)=("[^"]*"|\S+)/g)].map((m) => [m[1], m[2]?.replace(/"/g, '')]),
      ),
  ) as Record<string, string>;

const DOCKER = dockerStages(dockerInstructions(read('Dockerfile')));
const stage = (name: string): Stage => {
  const s = DOCKER.stages.find((x) => x.name === name);
  if (!s) throw new Error(`Dockerfile: no stage "${name}"`);
  return s;
};
const only = (s: Stage, keyword: string): Instruction[] =>
  s.instructions.filter((i) => i.keyword === keyword);

// ---------------------------------------------------------------- commands and settings

/** Every faceverify command line in the files: [where, argv]. */
function commandLines(): [string, string[]][] {
  const lines: [string, string[]][] = [];
  for (const s of DOCKER.stages) {
    for (const ins of s.instructions) {
      if (ins.keyword === 'CMD') lines.push([`Dockerfile ${s.name} CMD`, JSON.parse(ins.args) as string[]]);
      if (ins.keyword === 'RUN') {
        for (const part of ins.args.split('&&')) {
          const argv = part.trim().split(/\s+/);
          if (argv[1] === 'bin/faceverify.js') lines.push([`Dockerfile ${s.name} RUN`, argv]);
        }
      }
    }
  }
  for (const [name, svc] of Object.entries(SERVICES)) {
    const s = obj(svc);
    if (String(s.image).startsWith('faceverify')) lines.push([`compose ${name}`, strs(s.command)]);
  }
  for (const d of FACEVERIFY_DEPLOYMENTS) {
    for (const c of containers(d)) {
      lines.push([`deploy ${String(obj(d.metadata).name)}`, [...strs(c.command), ...strs(c.args)]]);
    }
  }
  return lines;
}

const SETTINGS = new Set(
  Object.values(SCHEMA).flatMap((s: { env: string; aliases?: string[] }) => [s.env, ...(s.aliases ?? [])]),
);
/** Variables that are not faceverify settings but are documented where they are used. */
const OTHER_VARIABLES: Record<string, string> = {
  NODE_ENV: 'Node.js convention: production',
  ORT_DISABLE_TELEMETRY: "ONNX Runtime's switch for its telemetry uploader and database",
  ONNXRUNTIME_NODE_INSTALL: "onnxruntime-node's install script (build stage): skip the CUDA download",
};

/** Compose's `${NAME:-default}` as Compose would expand it with NAME unset. */
const composeValue = (v: unknown): string => String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1');

/** The environment of each faceverify process: its role, its variables and their values. */
function processEnvironments(): { where: string; argv: string[]; env: Record<string, string> }[] {
  const out: { where: string; argv: string[]; env: Record<string, string> }[] = [];
  for (const [name, svc] of Object.entries(SERVICES)) {
    const s = obj(svc);
    if (!String(s.image).startsWith('faceverify')) continue;
    const env = Object.fromEntries(Object.entries(obj(s.environment)).map(([k, v]) => [k, composeValue(v)]));
    out.push({ where: `compose ${name}`, argv: strs(s.command), env });
  }
  const configMap = obj(k8s('ConfigMap', 'faceverify-config').data);
  const secret = obj(k8s('Secret', 'faceverify-secrets').stringData);
  for (const d of FACEVERIFY_DEPLOYMENTS) {
    for (const c of containers(d)) {
      const env: Record<string, string> = {};
      for (const from of arr(c.envFrom).map(obj)) {
        if (from.configMapRef) Object.assign(env, configMap);
        if (from.secretRef) Object.assign(env, secret);
      }
      for (const e of arr(c.env).map(obj)) env[String(e.name)] = String(e.value);
      out.push({ where: `deploy ${String(obj(d.metadata).name)}`, argv: strs(c.command), env });
    }
  }
  return out;
}

const BUDGET_S = (() => {
  // The forced exit of `faceverify serve`/`worker` after SIGTERM (src/cli/commands/serve.ts).
  const m = /shutdown took too long[\s\S]*?\},\s*([\d_]+)\s*\)/.exec(read('src/cli/commands/serve.ts'));
  if (!m?.[1]) throw new Error('serve.ts: shutdown budget not found; update this test');
  return Number(m[1].replace(/_/g, '')) / 1000;
})();
const PORT = SCHEMA.port.default;

// ---------------------------------------------------------------- the real app, for probes and metrics

let app: FastifyInstance;
let queue: ReturnType<typeof createTaskQueue>;
let metrics: ServiceMetrics;

beforeAll(async () => {
  queue = createTaskQueue({ backend: 'memory' });
  const caches: Cache<unknown>[] = ['embeddings', 'results'].map((name) =>
    createCache<unknown>({ backend: 'memory', name, ttlSeconds: 60, maxEntries: 10, codec: jsonCodec() }),
  );
  metrics = new ServiceMetrics();
  metrics.attach({ queue, caches });
  app = await buildApp({
    queue,
    caches,
    metrics,
    redis: undefined,
    modelsReady: () => ({ ready: true, model: 'mobilefacenet', detail: 'test' }),
    limits: { maxImageBytes: 1 << 20, batchMaxPairs: 5, syncTimeoutMs: 1000 },
    adminApiKeys: [],
    memoryLimitMb: 0,
    version: 'test',
    // API keys on, as with the Secret: probes must still answer without one.
    security: {
      apiKeys: ['a-key'],
      rateLimit: { max: 0, windowS: 60, redis: undefined, prefix: 'test' },
      corsOrigins: [],
    },
    trustProxy: false,
    logger: false,
    webUi: false,
  });
});

afterAll(async () => {
  await app?.close();
  await queue?.close();
  metrics?.close();
});

// ---------------------------------------------------------------- tests

describe('YAML files', () => {
  it('all parse (compose.yaml and every deploy/*.yaml), each Kubernetes object named', () => {
    expect(Object.keys(SERVICES).sort()).toEqual(['api', 'redis', 'worker']);
    expect(K8S.length).toBeGreaterThan(0);
    for (const { file, doc } of K8S) {
      expect(typeof doc.apiVersion, file).toBe('string');
      expect(typeof doc.kind, file).toBe('string');
      expect(typeof obj(doc.metadata).name, file).toBe('string');
    }
  });

  it('kustomization.yaml lists every manifest but the example Secret (its placeholder keys would be live)', () => {
    const k = yamlDocs('deploy/kustomization.yaml')[0] ?? {};
    const listed = strs(k.resources).map((r) => `deploy/${r}`);
    for (const f of listed) expect(existsSync(new URL(f, ROOT)), `${f} exists`).toBe(true);
    const expected = DEPLOY_FILES.filter((f) => !/kustomization|secret\.example/.test(f));
    expect(listed.sort()).toEqual(expected.sort());
    const images = arr(k.images).map((i) => String(obj(i).name));
    for (const d of FACEVERIFY_DEPLOYMENTS)
      for (const c of containers(d)) expect(images).toContain(String(c.image).split(':')[0]);
  });
});

describe('start commands', () => {
  it('are `node bin/faceverify.js <command>` with a real command and options the CLI parser accepts', async () => {
    const lines = commandLines();
    // Dockerfile CMD and RUNs, compose api and worker, both Deployments.
    expect(lines.length).toBeGreaterThanOrEqual(7);
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      for (const [where, argv] of lines) {
        expect(argv.slice(0, 2), where).toEqual(['node', 'bin/faceverify.js']);
        expect(Object.keys(commands), where).toContain(argv[2]);
        // --help makes main() stop after parsing: 0 when every option is known, 2 otherwise.
        expect(await main([...argv.slice(2), '--help']), `${where}: ${argv.join(' ')}`).toBe(0);
      }
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });

  it('the Dockerfile build steps succeed: `models prepare` into an empty MODEL_CACHE_DIR, then `self-check`', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'faceverify-deploy-models-'));
    try {
      const config = loadConfig({ MODEL_CACHE_DIR: dir, LOG_LEVEL: 'silent' });
      const runs = commandLines().filter(([where]) => where.includes(' RUN'));
      expect(runs.map(([, argv]) => argv[2])).toEqual(['models', 'self-check']);
      for (const [where, argv] of runs) {
        const command = commands[argv[2] ?? ''];
        const ctx: CommandContext = {
          args: argv.slice(3),
          json: true,
          facePolicy: undefined,
          threshold: undefined,
          out: undefined,
          options: {},
          config,
          print: () => undefined,
        };
        expect(await command?.(ctx), `${where}: ${argv.join(' ')}`).toBe(0);
      }
      expect(readdirSync(dir).filter((f) => f.endsWith('.onnx')).length).toBeGreaterThanOrEqual(4);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('API-only nodes and workers get REDIS_URL (they refuse to start without it)', () => {
    const needsRedis = (argv: string[]): boolean =>
      argv[2] === 'worker' || (argv[2] === 'serve' && argv.includes('--no-worker'));
    const envs = processEnvironments();
    expect(envs.filter((e) => needsRedis(e.argv)).length).toBe(4);
    for (const e of envs.filter((x) => needsRedis(x.argv)))
      expect(e.env.REDIS_URL, e.where).toMatch(/^redis:\/\//);
  });

  it('REDIS_URL points at the Redis service of the same file', () => {
    const compose = processEnvironments().filter((e) => e.where.startsWith('compose'));
    for (const e of compose) expect(new URL(e.env.REDIS_URL ?? '').host, e.where).toBe('redis:6379');
    const svc = k8s('Service', 'faceverify-redis');
    const port = obj(arr(obj(svc.spec).ports)[0]).port;
    for (const e of processEnvironments().filter((x) => x.where.startsWith('deploy')))
      expect(new URL(e.env.REDIS_URL ?? '').host, e.where).toBe(`faceverify-redis:${String(port)}`);
  });
});

describe('environment variables', () => {
  it('are faceverify settings (src/config/config.ts SCHEMA) or documented others', () => {
    const names = new Map<string, string>();
    for (const s of DOCKER.stages)
      for (const k of Object.keys(envOf(s))) names.set(k, `Dockerfile ${s.name}`);
    for (const e of processEnvironments()) for (const k of Object.keys(e.env)) names.set(k, e.where);
    expect(names.size).toBeGreaterThan(5);
    for (const [name, where] of names) {
      expect(SETTINGS.has(name) || name in OTHER_VARIABLES, `${name} (${where}) is a known variable`).toBe(
        true,
      );
    }
  });

  it('have values the configuration accepts, for every process as it would start', () => {
    const runtime = envOf(stage('runtime'));
    for (const e of processEnvironments()) {
      expect(() => loadConfig({ ...runtime, ...e.env }), e.where).not.toThrow();
    }
  });

  it('ConfigMap and Secret values are strings (Kubernetes refuses numbers and booleans there)', () => {
    for (const [kind, name, field] of [
      ['ConfigMap', 'faceverify-config', 'data'],
      ['Secret', 'faceverify-secrets', 'stringData'],
    ] as const) {
      for (const [k, v] of Object.entries(obj(k8s(kind, name)[field])))
        expect(typeof v, `${name} ${k}`).toBe('string');
    }
    for (const d of FACEVERIFY_DEPLOYMENTS)
      for (const c of containers(d))
        for (const e of arr(c.env).map(obj)) expect(typeof e.value, String(e.name)).toBe('string');
  });

  it('the envFrom references name the ConfigMap and the Secret that exist', () => {
    for (const d of FACEVERIFY_DEPLOYMENTS) {
      for (const c of containers(d)) {
        for (const from of arr(c.envFrom).map(obj)) {
          if (from.configMapRef) k8s('ConfigMap', String(obj(from.configMapRef).name));
          if (from.secretRef) k8s('Secret', String(obj(from.secretRef).name));
        }
      }
    }
  });
});

describe('probes and metrics', () => {
  it('/health/live and /health/ready are routes that answer 200 without an API key', async () => {
    for (const url of ['/health/live', '/health/ready']) {
      expect(app.hasRoute({ method: 'GET', url }), url).toBe(true);
      expect((await app.inject({ method: 'GET', url })).statusCode, url).toBe(200);
    }
  });

  it('the API Deployment probes readiness and liveness on those routes, on its named port', () => {
    const api = k8s('Deployment', 'faceverify-api');
    const [c] = containers(api);
    const ready = obj(obj(c?.readinessProbe).httpGet);
    const live = obj(obj(c?.livenessProbe).httpGet);
    expect(ready.path).toBe('/health/ready');
    expect(live.path).toBe('/health/live');
    const ports = arr(c?.ports).map(obj);
    for (const p of [ready.port, live.port])
      expect(ports.some((x) => x.name === p || x.containerPort === p)).toBe(true);
  });

  it('the Docker and compose health checks call those routes on PORT', () => {
    const hc = only(stage('runtime'), 'HEALTHCHECK')[0]?.args ?? '';
    expect(hc).toContain('/health/live');
    expect(hc).toContain('process.env.PORT||8000');
    const api = obj(composeService('api').healthcheck);
    expect(strs(api.test).join(' ')).toContain(`127.0.0.1:${PORT}/health/ready`);
  });

  it('workers serve no HTTP, so compose disables the image health check for them and no Service selects them', () => {
    expect(obj(composeService('worker').healthcheck).disable).toBe(true);
    const worker = k8s('Deployment', 'faceverify-worker');
    const labels = obj(obj(obj(worker.spec).template).metadata).labels;
    for (const { doc } of K8S.filter((x) => x.doc.kind === 'Service')) {
      const sel = obj(obj(doc.spec).selector);
      const selects = Object.entries(sel).every(([k, v]) => obj(labels)[k] === v);
      expect(selects, `Service ${String(obj(doc.metadata).name)} selects no worker`).toBe(false);
    }
    for (const c of containers(worker)) expect(c.ports).toBeUndefined();
  });

  it('the autoscaler scales the worker Deployment on the PENDING queue gauge that /metrics serves', async () => {
    const hpa = k8s('HorizontalPodAutoscaler', 'faceverify-worker');
    const spec = obj(hpa.spec);
    expect(obj(spec.scaleTargetRef)).toMatchObject({ kind: 'Deployment', name: 'faceverify-worker' });
    const metricsList = arr(spec.metrics).map(obj);
    const external = obj(metricsList.find((m) => m.type === 'External')?.external);
    const name = String(obj(external.metric).name);
    const labels = obj(obj(obj(external.metric).selector).matchLabels);
    expect(labels).toEqual({ state: 'PENDING' });
    expect(metricsList.some((m) => m.type === 'Resource' && obj(m.resource).name === 'cpu')).toBe(true);
    const res = await app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { accept: 'text/plain', 'x-api-key': 'a-key' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(new RegExp(`^${name}\\{state="PENDING"\\} \\d+$`, 'm'));
  });
});

describe('ports and shutdown', () => {
  it('the container port, EXPOSE, compose mapping and Service target all agree with PORT', () => {
    expect(only(stage('runtime'), 'EXPOSE').map((i) => i.args)).toEqual([String(PORT)]);
    expect(strs(composeService('api').ports)).toEqual([`${PORT}:${PORT}`]);
    const api = k8s('Deployment', 'faceverify-api');
    const [c] = containers(api);
    const envPort = arr(c?.env)
      .map(obj)
      .find((e) => e.name === 'PORT')?.value;
    const port = envPort === undefined ? PORT : Number(envPort);
    expect(arr(c?.ports).map((p) => obj(p).containerPort)).toEqual([port]);
    expect(obj(obj(obj(api.spec).template).metadata).annotations).toMatchObject({
      'prometheus.io/port': String(port),
    });
    const svcPort = obj(arr(obj(k8s('Service', 'faceverify-api').spec).ports)[0]);
    expect(arr(c?.ports).map((p) => obj(p).name)).toContain(svcPort.targetPort);
  });

  it(`grace periods exceed the ${BUDGET_S} s shutdown budget of serve/worker (plus the API's preStop)`, () => {
    for (const d of FACEVERIFY_DEPLOYMENTS) {
      const name = String(obj(d.metadata).name);
      const preStop = strs(obj(obj(obj(containers(d)[0]?.lifecycle).preStop).exec).command);
      const sleep = preStop[0] === 'sleep' ? Number(preStop[1]) : 0;
      const grace = Number(podSpec(d).terminationGracePeriodSeconds);
      expect(grace, name).toBeGreaterThanOrEqual(Math.max(35, BUDGET_S + sleep + 5));
    }
    for (const name of ['api', 'worker']) {
      const m = /^(\d+)s$/.exec(String(composeService(name).stop_grace_period));
      expect(Number(m?.[1]), `compose ${name}`).toBeGreaterThanOrEqual(BUDGET_S + 5);
    }
  });

  it('compose: the API waits for a healthy Redis, two workers, Redis without eviction (BullMQ needs it)', () => {
    for (const name of ['api', 'worker'])
      expect(obj(composeService(name).depends_on)).toEqual({ redis: { condition: 'service_healthy' } });
    expect(obj(composeService('worker').deploy).replicas).toBe(2);
    expect(strs(composeService('redis').command).join(' ')).toContain('--maxmemory-policy noeviction');
    const redis = containers(k8s('Deployment', 'faceverify-redis'))[0];
    expect(strs(redis?.args).join(' ')).toContain('--maxmemory-policy noeviction');
  });
});

describe('Dockerfile', () => {
  it('has a Debian Node 20 build stage and a runtime stage, the last one', () => {
    expect(DOCKER.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    for (const s of DOCKER.stages) expect(s.image, 'glibc, not Alpine').toMatch(/^node:20-bookworm/);
  });

  it('builds with npm ci, prunes dev dependencies and prepares the models into the runtime MODEL_CACHE_DIR', () => {
    const runs = only(stage('build'), 'RUN').map((i) => i.args);
    expect(runs.some((r) => /\bnpm ci\b/.test(r))).toBe(true);
    expect(runs.some((r) => /\bnpm prune --omit=dev\b/.test(r))).toBe(true);
    expect(runs.some((r) => r.includes('bin/faceverify.js models prepare'))).toBe(true);
    const dir = envOf(stage('runtime')).MODEL_CACHE_DIR;
    expect(dir).toBe('/app/models');
    expect(envOf(stage('build')).MODEL_CACHE_DIR).toBe(dir);
    expect(envOf(stage('runtime')).NODE_ENV).toBe('production');
    expect(envOf(stage('runtime')).ORT_DISABLE_TELEMETRY).toBe('1');
  });

  it('copies into the runtime stage what runs: package.json (version), bin, dist, node_modules, web, models', () => {
    const copies = only(stage('runtime'), 'COPY').map((i) =>
      i.args.split(/\s+/).at(-1)?.replace(/^\.\//, ''),
    );
    for (const need of ['package.json', 'bin', 'dist', 'node_modules', 'web', 'models'])
      expect(copies).toContain(need);
  });

  it('copies from the build context only files that exist and that .dockerignore lets through', () => {
    const ignored = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const need of ['node_modules', 'dist', '.cache', '.git', 'scratch', 'test-output'])
      expect(ignored).toContain(need);
    for (const s of DOCKER.stages) {
      for (const ins of only(s, 'COPY').filter((i) => !i.args.startsWith('--from'))) {
        for (const src of ins.args.split(/\s+/).slice(0, -1)) {
          expect(existsSync(new URL(src, ROOT)), `${src} exists`).toBe(true);
          expect(ignored, `${src} is not ignored`).not.toContain(src.split('/')[0]);
        }
      }
    }
  });

  it('runs as a numeric non-root user, the one the Kubernetes pods run as, with a read-only root filesystem', () => {
    const users = only(stage('runtime'), 'USER').map((i) => i.args);
    expect(users).toHaveLength(1);
    const uid = Number(users[0]?.split(':')[0]);
    expect(uid).toBeGreaterThan(0);
    for (const d of FACEVERIFY_DEPLOYMENTS) {
      expect(podSpec(d).securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: uid });
      for (const c of containers(d)) {
        expect(c.securityContext).toMatchObject({
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
        });
      }
    }
  });

  it("keeps the API's readiness memory limit below its container's memory limit", () => {
    const [c] = containers(k8s('Deployment', 'faceverify-api'));
    const limitMb = Number(
      arr(c?.env)
        .map(obj)
        .find((e) => e.name === 'WORKER_MEMORY_LIMIT_MB')?.value,
    );
    // WORKER_MEMORY_LIMIT_MB is compared with RSS in units of 2^20 bytes, as Kubernetes' Mi.
    const mem = /^(\d+)(Mi|Gi)$/.exec(String(obj(obj(c?.resources).limits).memory));
    const containerMi = Number(mem?.[1]) * (mem?.[2] === 'Gi' ? 1024 : 1);
    expect(limitMb).toBeGreaterThan(0);
    expect(limitMb).toBeLessThan(containerMi);
  });
});
