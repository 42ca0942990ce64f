/** What several CLI commands need: argument checks, a verifier built from the configuration, input bytes. */
import { verifierOptions } from '../../config/verifier-options.js';
import { FaceVerifyError } from '../../errors.js';
import { FACE_POLICIES, type FacePolicy } from '../../pipeline/select-face.js';
import { FaceAnalyzer, type Analyzer, type AnalyzerOptions } from '../../pipeline/face-analyzer.js';
import { scoringSettings, Verifier, type PerCallOptions } from '../../pipeline/verifier.js';
import { DEFAULT_SESSION_OPTIONS } from '../../runtime/onnx-session.js';
import { readInput } from '../read-input.js';
import type { CommandContext } from './command.js';

export function requireArgs(ctx: CommandContext, count: number, usage: string): string[] {
  if (ctx.args.length !== count) throw new FaceVerifyError('INVALID_INPUT', `Usage: faceverify ${usage}`);
  return ctx.args;
}

export function perCallOptions(ctx: CommandContext): PerCallOptions {
  const options: PerCallOptions = {};
  if (ctx.facePolicy !== undefined) {
    if (!FACE_POLICIES.includes(ctx.facePolicy as FacePolicy)) {
      throw new FaceVerifyError('INVALID_INPUT', `--face-policy must be one of ${FACE_POLICIES.join(', ')}`);
    }
    options.facePolicy = ctx.facePolicy as FacePolicy;
  }
  if (ctx.threshold !== undefined) {
    const t = Number(ctx.threshold);
    if (!Number.isFinite(t) || t < -1 || t > 1) {
      throw new FaceVerifyError('INVALID_INPUT', '--threshold must be a cosine similarity from -1 to 1');
    }
    options.threshold = t;
  }
  return options;
}

/**
 * An analyzer in this thread, for the one-shot commands (verify, embed, detect, self-check): starting
 * inference threads costs more than it saves on one or two images (docs/performance.md, cold start);
 * `faceverify eval` and the service use INFERENCE_THREADS.
 */
export function analyzerFor(ctx: CommandContext): Promise<FaceAnalyzer> {
  const options = verifierOptions(ctx.config);
  return FaceAnalyzer.create({
    ...options,
    session: {
      ...DEFAULT_SESSION_OPTIONS,
      ...options.session,
      onWarning: (message) => process.stderr.write(`warning: ${message}\n`),
    },
  });
}

/** A verifier in this thread with the configured scoring (the same mapping the service uses). */
export async function verifierFor(ctx: CommandContext): Promise<Verifier> {
  const analyzer = await analyzerFor(ctx);
  const settings = scoringSettings({ ...verifierOptions(ctx.config), registry: analyzer.options.registry });
  return new Verifier(analyzer, settings);
}

export function inputBytes(ctx: CommandContext, input: string): Promise<Uint8Array> {
  return readInput(input, ctx.config.maxImageSizeMb * 1024 * 1024);
}

/** `--name N` as a whole number ≥ min (`fallback` when absent). */
export function wholeNumber(value: string | undefined, fallback: number, name: string, min: number): number {
  const n = Number(value ?? fallback);
  if (!Number.isInteger(n) || n < min)
    throw new FaceVerifyError('INVALID_INPUT', `--${name} must be a whole number ≥ ${min}`);
  return n;
}

/**
 * The evaluations' second look at photos without a face of MIN_FACE_SIZE (`--fallback-min-face`; 0:
 * none). It sees few images (about 1 in 1000 on LFW), so it runs in this thread.
 */
export async function fallbackAnalyzer(
  options: Partial<AnalyzerOptions>,
  main: Pick<Analyzer, 'settings'>,
  minFaceSize: number,
): Promise<FaceAnalyzer | undefined> {
  if (minFaceSize <= 0) return undefined;
  return FaceAnalyzer.create({
    ...options,
    detect: { ...main.settings.detect, minFaceSize },
    tooSmallFloor: 0,
  });
}

/** An evaluation's answer: the report as JSON with --json, else its summary and the files written. */
export function printReport(
  ctx: CommandContext,
  report: unknown,
  summary: () => string,
  files: string[],
): void {
  if (ctx.json) return ctx.print(JSON.stringify(report));
  ctx.print(summary());
  if (files.length > 0) ctx.print(`report: ${files.join(', ')}`);
}
