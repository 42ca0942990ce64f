/**
 * `faceverify models list|prepare|pull|add|remove|calibrate`: the model registry from the command line.
 *
 *   models pull facenet-vggface2 [--from FILE] [--url URL] [--sha256 HEX]
 *   models add NAME --onnx FILE --input N --norm arcface|facenet|mobilefacenet|raw --template arcface112
 *              [--embedding-size D] [--channels RGB|BGR] [--threshold T] [--license TEXT] [--description TEXT]
 *   models remove NAME
 *   models calibrate NAME --report report.json      (threshold and calibration from `faceverify eval`)
 *
 * User models live in `<MODEL_CACHE_DIR>/user-models/` (a JSON manifest and an ONNX file each) and are
 * picked with `MODEL=NAME`.
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { verifierOptions } from '../../config/verifier-options.js';
import { atThreshold } from '../../core/operating-point.js';
import { ARCFACE_TEMPLATE_112, scaleTemplate } from '../../core/similarity-transform.js';
import { FaceVerifyError } from '../../errors.js';
import {
  FACENET_CHECKPOINTS,
  pullFacenet,
  uncalibrated,
  UNCALIBRATED_THRESHOLD,
} from '../../models/facenet/pull-facenet.js';
import type { EmbedderManifest, ModelManifest, ModelSource, Normalization } from '../../models/manifest.js';
import { DEFAULT_MODEL_CACHE_DIR, prepareModel, sha256, writeAtomically } from '../../models/prepare.js';
import {
  checkUserModelName,
  ModelRegistry,
  removeUserModel,
  saveUserModel,
  userModelFileName,
  userModelsDir,
} from '../../models/registry.js';
import { modelRoc } from '../../pipeline/face-analyzer.js';
import { createSession } from '../../runtime/onnx-session.js';
import type { Command, CommandContext } from './command.js';

const USAGE = `Usage: faceverify models list|prepare
       faceverify models pull facenet-vggface2 [--from FILE] [--url URL] [--sha256 HEX] [--alignment box --margin PX]
       faceverify models add NAME --onnx FILE --input N --norm arcface|facenet|mobilefacenet|raw --template arcface112 [--embedding-size D] [--channels RGB|BGR] [--threshold T] [--license TEXT] [--description TEXT]
       faceverify models remove NAME
       faceverify models calibrate NAME --report report.json`;

/** Pixel normalisations by the name users know them by. */
const NORMALIZATIONS: Record<string, Omit<Normalization, 'channels'>> = {
  // InsightFace ArcFace models: (v − 127.5) / 127.5.
  arcface: { mean: 127.5, std: 127.5 },
  // facenet-pytorch's fixed_image_standardization: (v − 127.5) / 128.
  facenet: { mean: 127.5, std: 128 },
  mobilefacenet: { mean: 127.5, std: 128 },
  // Models that normalise inside the graph (InsightFace's MXNet exports start with Sub and Mul nodes).
  raw: { mean: 0, std: 1 },
};

const TEMPLATES = ['arcface112'] as const;
const MAX_ONNX_BYTES = 2 * 1024 * 1024 * 1024 - 1;

/** The files behind a model; an ensemble has none of its own (its members are listed themselves). */
function sources(m: ModelManifest): [string, ModelSource][] {
  if (m.kind === 'ensemble') return [];
  return m.kind === 'detector'
    ? Object.entries(m.stages).map(([stage, s]) => [`${m.name}-${stage}`, s])
    : [[m.name, m.source]];
}

function usage(message?: string): FaceVerifyError {
  return new FaceVerifyError('INVALID_INPUT', message ? `${message}\n${USAGE}` : USAGE);
}

function warnProblems(registry: ModelRegistry): void {
  for (const p of registry.problems) {
    process.stderr.write(`warning: skipped model manifest ${p.file}: ${p.message}\n`);
  }
}

function intOption(ctx: CommandContext, name: string, min: number, max: number): number | undefined {
  const raw = ctx.options[name];
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min || v > max)
    throw usage(`--${name} must be a whole number from ${min} to ${max}`);
  return v;
}

/** A progress bar on stderr when it is a terminal (nothing otherwise). */
function progressBar(label: string): {
  update: (received: number, total: number | undefined) => void;
  done: () => void;
} {
  if (!process.stderr.isTTY) return { update: () => undefined, done: () => undefined };
  let last = 0;
  let drawn = false;
  const mib = (n: number): string => (n / 1024 / 1024).toFixed(1);
  return {
    update(received, total) {
      const now = performance.now();
      if (now - last < 100 && received !== total) return;
      last = now;
      drawn = true;
      const width = 30;
      const line =
        total !== undefined
          ? `${'█'.repeat(Math.round((received / total) * width)).padEnd(width, '░')} ${String(Math.floor((received / total) * 100)).padStart(3)} %  ${mib(received)} / ${mib(total)} MiB`
          : `${mib(received)} MiB`;
      process.stderr.write(`\r${label} ${line}`);
    },
    done() {
      if (drawn) process.stderr.write('\n');
    },
  };
}

const pct = (v: number): string => `${(v * 100).toFixed(v < 0.01 ? 2 : 1)} %`;

/** A model's operating point at its threshold on LFW, when a ROC table is known for it. */
function operatingPoint(
  registry: ModelRegistry,
  name: string,
): { threshold: number; far: number; tar: number; fitted_on: string } | null {
  const roc = modelRoc(registry, name);
  if (!roc) return null;
  const { threshold, far, tar } = atThreshold(roc, registry.scorer(name).threshold);
  return { threshold, far, tar, fitted_on: roc.fittedOn };
}

/**
 * The registered models (built-in and the user's), each with its operating point on LFW, then the
 * models `models pull` can fetch that are not registered yet (`installed: false`, with source,
 * licence and the accuracy their authors published).
 */
async function listModels(ctx: CommandContext, registry: ModelRegistry): Promise<number> {
  warnProblems(registry);
  const installed = registry.list().map((m) => ({
    name: m.name,
    kind: m.kind,
    description: m.description,
    license: m.license,
    user: !registry.isBuiltin(m.name),
    installed: true,
    ...(m.kind === 'embedder'
      ? {
          embedding_size: m.embeddingSize,
          input_size: m.inputSize,
          threshold: m.threshold,
          calibrated: !m.calibration.fittedOn.startsWith('uncalibrated'),
          flip: m.flip,
          ...(m.origin ? { origin: m.origin } : {}),
        }
      : {}),
    ...(m.kind === 'ensemble' ? { threshold: m.threshold } : {}),
    ...(m.kind !== 'detector' ? { operating_point: operatingPoint(registry, m.name) } : {}),
    ...(FACENET_CHECKPOINTS[m.name] ? { published: FACENET_CHECKPOINTS[m.name]?.published } : {}),
    files: sources(m).map(([name, s]) => ({
      name,
      format: s.format,
      package: s.package,
      path: s.path,
      sha256: s.sha256,
    })),
    default: m.name === ctx.config.model || m.kind === 'detector',
  }));
  const known = new Set(installed.map((r) => r.name));
  const pullable = Object.entries(FACENET_CHECKPOINTS)
    .filter(([name]) => !known.has(name))
    .map(([name, c]) => ({
      name,
      kind: 'embedder' as const,
      description: c.description,
      license: c.license,
      user: true,
      installed: false,
      published: c.published,
      pull: { command: `faceverify models pull ${name}`, url: c.url, sha256: c.sha256, bytes: c.bytes },
    }));
  if (ctx.json) {
    ctx.print(JSON.stringify([...installed, ...pullable]));
    return 0;
  }
  for (const r of installed) {
    const notes = [r.user ? 'user model' : '', 'calibrated' in r && !r.calibrated ? 'uncalibrated' : '']
      .filter(Boolean)
      .join(', ');
    ctx.print(`${r.default ? '*' : ' '} ${r.name} (${r.kind}${notes ? `; ${notes}` : ''}): ${r.description}`);
    ctx.print(`    license: ${r.license}`);
    if (r.published) ctx.print(`    published: ${r.published}`);
    const op = r.operating_point;
    if (op)
      ctx.print(`    threshold ${op.threshold}: FAR ${pct(op.far)}, TAR ${pct(op.tar)} on ${op.fitted_on}`);
    else if (r.kind !== 'detector' && 'threshold' in r)
      ctx.print(`    threshold ${r.threshold}: no LFW ROC for this model (faceverify eval measures one)`);
  }
  if (pullable.length > 0) {
    ctx.print('');
    ctx.print('Can be pulled (not installed):');
    for (const r of pullable) {
      ctx.print(`  ${r.name} (${r.kind}): ${r.description}`);
      ctx.print(`    source: ${r.pull.url} (${(r.pull.bytes / 1e6).toFixed(0)} MB, sha256 ${r.pull.sha256})`);
      ctx.print(`    license: ${r.license}`);
      ctx.print(`    published: ${r.published}`);
      ctx.print(`    install: ${r.pull.command}`);
    }
  }
  return 0;
}

async function prepareModels(
  ctx: CommandContext,
  registry: ModelRegistry,
  cacheDir: string,
): Promise<number> {
  warnProblems(registry);
  const results = [];
  for (const m of registry.list()) {
    for (const [name, source] of sources(m)) {
      const t = performance.now();
      const p = await prepareModel(name, source, cacheDir);
      results.push({
        name,
        converted: p.converted,
        path: p.cachePath,
        ms: Math.round(performance.now() - t),
      });
    }
  }
  if (ctx.json) ctx.print(JSON.stringify(results));
  else
    for (const r of results) {
      ctx.print(`${r.name}: ${r.converted ? 'converted' : 'cached'} ${r.path ?? '(in memory)'} (${r.ms} ms)`);
    }
  return 0;
}

async function pull(ctx: CommandContext, cacheDir: string): Promise<number> {
  const [, name, ...extra] = ctx.args;
  if (!name || extra.length > 0) throw usage();
  if (ctx.options.from && ctx.options.url) throw usage('--from and --url exclude each other');
  const align = ctx.options.alignment;
  if (align !== undefined && align !== 'box' && align !== 'landmarks')
    throw usage('--alignment is box or landmarks');
  const margin = Number(ctx.options.margin ?? 0);
  if (!Number.isFinite(margin) || margin < 0 || margin >= 160)
    throw usage('--margin is 0 to 159 output pixels');
  const bar = progressBar(name);
  let result;
  try {
    result = await pullFacenet(name, {
      cacheDir,
      from: ctx.options.from,
      url: ctx.options.url,
      sha256: ctx.options.sha256,
      onProgress: bar.update,
      ...(ctx.options.alignment === 'box'
        ? { alignment: { kind: 'box' as const, margin: Number(ctx.options.margin ?? 0) } }
        : {}),
    });
  } finally {
    bar.done();
  }
  const { manifest, checkpoint, timings } = result;
  if (ctx.json) {
    ctx.print(
      JSON.stringify({
        name: manifest.name,
        manifest: result.manifestPath,
        onnx: manifest.source.path,
        checkpoint,
        embedding_size: manifest.embeddingSize,
        input_size: manifest.inputSize,
        fetch_ms: Math.round(timings.fetchMs),
        convert_ms: Math.round(timings.convertMs),
      }),
    );
  } else {
    ctx.print(`${manifest.name}: ${checkpoint.format} checkpoint from ${checkpoint.from}`);
    ctx.print(
      `  sha256 ${checkpoint.sha256} ${checkpoint.checked ? '(checked)' : '(not checked: no known hash)'}`,
    );
    ctx.print(`  converted to ${manifest.source.path} in ${(timings.convertMs / 1000).toFixed(1)} s`);
    ctx.print(
      `  ${manifest.embeddingSize}-d, input ${manifest.inputSize} px; use it with MODEL=${manifest.name}`,
    );
    ctx.print(
      `  threshold and calibration are placeholders: run faceverify eval with MODEL=${manifest.name},`,
    );
    ctx.print(`  then faceverify models calibrate ${manifest.name} --report <out>/report.json`);
  }
  return 0;
}

async function add(ctx: CommandContext, cacheDir: string): Promise<number> {
  const [, name, ...extra] = ctx.args;
  const { onnx, norm, template } = ctx.options;
  if (!name || extra.length > 0 || !onnx || !norm || !template) throw usage();
  checkUserModelName(name);
  const inputSize = intOption(ctx, 'input', 16, 1024);
  if (inputSize === undefined) throw usage('--input is required');
  const wantedSize = intOption(ctx, 'embedding-size', 1, 65536);
  const normalization = NORMALIZATIONS[norm];
  if (!normalization) throw usage(`--norm must be one of ${Object.keys(NORMALIZATIONS).join(', ')}`);
  if (!(TEMPLATES as readonly string[]).includes(template))
    throw usage(`--template must be one of ${TEMPLATES.join(', ')}`);
  const channels = (ctx.options.channels ?? 'RGB').toUpperCase();
  if (channels !== 'RGB' && channels !== 'BGR') throw usage('--channels must be RGB or BGR');
  const threshold =
    ctx.options.threshold === undefined ? UNCALIBRATED_THRESHOLD : Number(ctx.options.threshold);
  if (!Number.isFinite(threshold) || threshold < -1 || threshold > 1) {
    throw usage('--threshold must be a cosine similarity from -1 to 1');
  }

  let bytes: Uint8Array;
  try {
    if ((await stat(onnx)).size > MAX_ONNX_BYTES) throw usage(`${onnx} is larger than 2 GiB`);
    bytes = await readFile(onnx);
  } catch (err) {
    if (err instanceof FaceVerifyError) throw err;
    throw new FaceVerifyError('INVALID_INPUT', `Cannot read ${onnx}`, undefined, { cause: err });
  }
  // Run it once as the pipeline will: a batch of two (a face and its mirror), NCHW at the input size.
  const session = await createSession(bytes);
  let embeddingSize: number;
  try {
    const input = session.inputNames[0] as string;
    let out;
    try {
      out = await session.run({
        [input]: {
          data: new Float32Array(2 * 3 * inputSize * inputSize),
          dims: [2, 3, inputSize, inputSize],
        },
      });
    } catch (err) {
      throw new FaceVerifyError(
        'MODEL_INVALID',
        `The model does not run on a [2, 3, ${inputSize}, ${inputSize}] input (batch of 2, NCHW)`,
        undefined,
        { cause: err },
      );
    }
    const first = out[session.outputNames[0] as string];
    if (!first || first.data.length % 2 !== 0 || first.data.length === 0) {
      throw new FaceVerifyError(
        'MODEL_INVALID',
        'The model did not return one vector per image of the batch',
      );
    }
    embeddingSize = first.data.length / 2;
  } finally {
    await session.release();
  }
  if (wantedSize !== undefined && wantedSize !== embeddingSize) {
    throw new FaceVerifyError(
      'INVALID_INPUT',
      `The model returns ${embeddingSize}-d vectors, not ${wantedSize}-d`,
    );
  }

  const hash = sha256(bytes);
  const path = join(userModelsDir(cacheDir), userModelFileName(name, hash));
  await writeAtomically(path, bytes);
  const manifest: EmbedderManifest = {
    kind: 'embedder',
    name,
    description: ctx.options.description ?? `User ONNX embedder (${embeddingSize}-d, ${inputSize} px)`,
    license: ctx.options.license ?? 'unknown (user-provided model)',
    source: { format: 'onnx', path, sha256: hash },
    inputSize,
    normalization: { ...normalization, channels },
    template: scaleTemplate(ARCFACE_TEMPLATE_112, 112, inputSize),
    embeddingSize,
    threshold,
    calibration: uncalibrated(threshold),
    flip: true,
    origin: { kind: 'add', from: onnx, sha256: hash, addedAt: new Date().toISOString() },
  };
  const manifestPath = await saveUserModel(cacheDir, manifest);
  if (ctx.json) {
    ctx.print(
      JSON.stringify({
        name,
        manifest: manifestPath,
        onnx: path,
        sha256: hash,
        embedding_size: embeddingSize,
      }),
    );
  } else {
    ctx.print(`${name}: ${embeddingSize}-d, input ${inputSize} px, sha256 ${hash}`);
    ctx.print(`  registered in ${manifestPath}; use it with MODEL=${name}`);
    ctx.print(`  threshold ${threshold} is a placeholder: run faceverify eval with MODEL=${name}`);
  }
  return 0;
}

async function remove(ctx: CommandContext, cacheDir: string): Promise<number> {
  const [, name, ...extra] = ctx.args;
  if (!name || extra.length > 0) throw usage();
  await removeUserModel(cacheDir, name);
  if (ctx.json) ctx.print(JSON.stringify({ name, removed: true }));
  else ctx.print(`${name}: removed`);
  return 0;
}

/** Takes the threshold and Platt calibration of a `faceverify eval` report into a user model. */
async function calibrate(ctx: CommandContext, registry: ModelRegistry, cacheDir: string): Promise<number> {
  const [, name, ...extra] = ctx.args;
  const reportPath = ctx.options.report;
  if (!name || extra.length > 0 || !reportPath) throw usage();
  const manifest = registry.embedder(name);
  if (registry.isBuiltin(name))
    throw usage(`"${name}" is built in; its calibration is in src/models/builtin.ts`);
  let report: {
    model?: { name?: unknown; sha256?: unknown };
    recommendedThreshold?: unknown;
    calibration?: { a?: unknown; b?: unknown; fittedOn?: unknown };
  };
  try {
    report = JSON.parse(await readFile(reportPath, 'utf8')) as typeof report;
  } catch (err) {
    throw new FaceVerifyError('INVALID_INPUT', `Cannot read the report ${reportPath}`, undefined, {
      cause: err,
    });
  }
  if (report.model?.name !== name || report.model.sha256 !== manifest.source.sha256) {
    throw new FaceVerifyError('INVALID_INPUT', `The report is not of this version of "${name}"`);
  }
  const { recommendedThreshold: t, calibration: c } = report;
  if (
    typeof t !== 'number' ||
    t < -1 ||
    t > 1 ||
    typeof c?.a !== 'number' ||
    typeof c.b !== 'number' ||
    typeof c.fittedOn !== 'string'
  ) {
    throw new FaceVerifyError('INVALID_INPUT', 'The report has no threshold and calibration');
  }
  const updated: EmbedderManifest = {
    ...manifest,
    threshold: t,
    calibration: { method: 'platt', a: c.a, b: c.b, fittedOn: c.fittedOn },
  };
  await saveUserModel(cacheDir, updated);
  if (ctx.json) ctx.print(JSON.stringify({ name, threshold: t, calibration: updated.calibration }));
  else
    ctx.print(
      `${name}: threshold ${t.toFixed(4)}, Platt a ${c.a.toFixed(4)} b ${c.b.toFixed(4)} (${c.fittedOn})`,
    );
  return 0;
}

export const modelsCommand: Command = async (ctx) => {
  const sub = ctx.args[0];
  const cacheDir = verifierOptions(ctx.config).modelCacheDir ?? DEFAULT_MODEL_CACHE_DIR;
  const registry = await ModelRegistry.withUserModels(cacheDir);
  switch (sub) {
    case 'list':
      return listModels(ctx, registry);
    case 'prepare':
      return prepareModels(ctx, registry, cacheDir);
    case 'pull':
      return pull(ctx, cacheDir);
    case 'add':
      return add(ctx, cacheDir);
    case 'remove':
      return remove(ctx, cacheDir);
    case 'calibrate':
      return calibrate(ctx, registry, cacheDir);
    default:
      throw usage();
  }
};
