/**
 * The `faceverify` command line: a thin client of the library.
 *
 *   faceverify verify A B [--json] [--face-policy strict|largest|center] [--threshold T]
 *   faceverify detect IMG [--json] [--out FILE.png]
 *   faceverify embed IMG [--json]
 *   faceverify models list|prepare
 *   faceverify config example
 *   faceverify self-check
 *
 * A and B are file paths or http(s) URLs. Errors print `{ "status": "error", "error", "code" }` on
 * stderr and exit with status 1 (2 for usage errors).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, parseEnv } from 'node:util';
import { loadConfig } from '../config/config.js';
import { FaceVerifyError } from '../errors.js';
import { commands, type CommandContext } from './commands/index.js';

const USAGE = `Usage: faceverify <command> [options]

Commands:
  serve [--no-worker]  run the HTTP API (with a worker unless --no-worker; port PORT, default 8000)
  worker            process tasks from Redis (REDIS_URL), for API nodes started with --no-worker
  verify A B        are A and B (paths or http(s) URLs) the same person?
  detect IMG        list the faces in IMG (--out FILE.png draws them)
  embed IMG         print the embedding of the face in IMG
  models list       show the models (built-in and your own)
  models prepare    convert and cache the models (done on first use otherwise)
  models pull facenet-vggface2 [--from FILE]
                    download (or read) FaceNet's checkpoint, convert it, register it
  models add NAME --onnx FILE --input N --norm arcface|facenet|mobilefacenet|raw --template arcface112
                    register your own ONNX face embedder (then MODEL=NAME)
  models calibrate NAME --report report.json
                    take a model's threshold and calibration from a 'faceverify eval' report
  eval --pairs P --images DIR [--out DIR] [--cache FILE]
                    LFW protocol evaluation (10-fold accuracy, ROC, calibration)
  eval --identify --images DIR [--out DIR] [--cache FILE]
                    LFW identification (1:N) through a gallery: rank-1, rank-5, DIR at 1 % FPIR
                    (docs/identities.md)
  eval --degrade --pairs P --images DIR [--out DIR] [--pairs-per-row 300] [--seed 1] [--rows a,b]
                    robustness: LFW pairs with the second photo degraded (sideways, dark, masked,
                    HEIC, …), accuracy at the shipped threshold (docs/robustness.md)
  gallery enrol GALLERY SUBJECT IMG [--expires-at DATE] [--consent-ref REF]
          | update GALLERY SUBJECT [--expires-at DATE|never] [--consent-ref REF|none]
          | list [GALLERY] | show GALLERY SUBJECT
          | verify GALLERY SUBJECT IMG | search GALLERY IMG [--limit N]
          | delete GALLERY [SUBJECT [FACE_ID]] | reembed GALLERY --model NAME
                    galleries of enrolled subjects (DATA_DIR or DATABASE_URL; docs/identities.md);
                    update changes a subject's retention (ISO 8601 date) or consent reference;
                    reembed moves a gallery to another model (needs RETAIN_FACE_CROPS at enrol)
  config example    print .env.example (every setting with its default)
  self-check        check the install: models found, converted and answering

Options:
  --json                 machine-readable output
  --face-policy POLICY   strict (default) | largest | center
  --threshold T          cosine similarity threshold for a match
  --out FILE             detect: write a PNG with the faces drawn
  -h, --help             this text

Settings come from the environment (see .env.example).`;

/** Settings from a .env file in the working directory, if there is one (the environment wins). */
function dotEnv(): Record<string, string> {
  if (!existsSync('.env')) return {};
  return parseEnv(readFileSync('.env', 'utf8')) as Record<string, string>;
}

function errorJson(err: unknown): string {
  const e =
    err instanceof FaceVerifyError
      ? err
      : new FaceVerifyError('INTERNAL_ERROR', err instanceof Error ? err.message : String(err));
  return JSON.stringify(e.toJSON());
}

export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        'face-policy': { type: 'string' },
        threshold: { type: 'string' },
        out: { type: 'string' },
        pairs: { type: 'string' },
        images: { type: 'string' },
        concurrency: { type: 'string' },
        'fallback-min-face': { type: 'string' },
        cache: { type: 'string' },
        // eval --identify
        identify: { type: 'boolean', default: false },
        // eval --degrade
        degrade: { type: 'boolean', default: false },
        'pairs-per-row': { type: 'string' },
        seed: { type: 'string' },
        rows: { type: 'string' },
        'no-worker': { type: 'boolean', default: false },
        alignment: { type: 'string' },
        margin: { type: 'string' },
        // models pull | add | calibrate
        from: { type: 'string' },
        url: { type: 'string' },
        sha256: { type: 'string' },
        onnx: { type: 'string' },
        input: { type: 'string' },
        norm: { type: 'string' },
        template: { type: 'string' },
        'embedding-size': { type: 'string' },
        channels: { type: 'string' },
        license: { type: 'string' },
        description: { type: 'string' },
        report: { type: 'string' },
        // gallery search | reembed | enrol and update
        limit: { type: 'string' },
        model: { type: 'string' },
        'expires-at': { type: 'string' },
        'consent-ref': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  const [name, ...rest] = parsed.positionals;
  if (parsed.values.help || !name) {
    process.stdout.write(`${USAGE}\n`);
    return name || parsed.values.help ? 0 : 2;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`Unknown command "${name}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    const ctx: CommandContext = {
      args: rest,
      json: parsed.values.json ?? false,
      facePolicy: parsed.values['face-policy'],
      threshold: parsed.values.threshold,
      out: parsed.values.out,
      options: Object.fromEntries(
        Object.entries(parsed.values)
          .filter(([, v]) => v !== undefined && v !== false)
          .map(([k, v]) => [k, String(v)]),
      ),
      config: loadConfig({ ...dotEnv(), ...process.env }),
      print: (text) => process.stdout.write(`${text}\n`),
    };
    return await command(ctx);
  } catch (err) {
    process.stderr.write(`${errorJson(err)}\n`);
    if (process.env.FACEVERIFY_DEBUG && err instanceof Error) process.stderr.write(`${err.stack}\n`);
    return 1;
  }
}
