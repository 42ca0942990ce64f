/**
 * The registry of models by name. Built-in manifests are always present; user-registered embedders
 * (`faceverify models pull|add`) are JSON manifests in `<MODEL_CACHE_DIR>/user-models/`, loaded with
 * {@link ModelRegistry.withUserModels}.
 *
 * A user manifest is validated against one schema ({@link UserManifestSchema}); a file that is not
 * valid JSON, fails the schema, is misnamed, or claims a built-in's name is skipped and listed in
 * `problems` — it never stops the built-in models from working. The model file a manifest names is
 * resolved relative to the manifest's folder, so the cache folder can be moved (e.g. into an image).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Type, type Static } from 'typebox';
import { Value } from 'typebox/value';
import { FaceVerifyError } from '../errors.js';
import { MOBILEFACENET, MTCNN } from './builtin.js';
import type { DetectorManifest, EmbedderManifest, ModelManifest } from './manifest.js';
import { writeAtomically } from './prepare.js';

/** Folder of user-registered models inside the model cache folder. */
export const USER_MODELS_FOLDER = 'user-models';
/** Lower-case letters, digits, `.`, `_`, `-`; safe as a file name and in an environment variable. */
export const MODEL_NAME_PATTERN = '^[a-z0-9][a-z0-9._-]{0,63}$';
const MAX_MANIFEST_BYTES = 1024 * 1024;

const Point = Type.Tuple([Type.Number(), Type.Number()]);

/** The JSON file of a user-registered embedder: an {@link EmbedderManifest} with an ONNX source. */
export const UserManifestSchema = Type.Object(
  {
    kind: Type.Literal('embedder'),
    name: Type.String({ pattern: MODEL_NAME_PATTERN }),
    description: Type.String({ maxLength: 1000 }),
    license: Type.String({ maxLength: 1000 }),
    source: Type.Object(
      {
        format: Type.Literal('onnx'),
        /** A file name beside the manifest, or an absolute path. */
        path: Type.String({ minLength: 1, maxLength: 4096 }),
        sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
      },
      { additionalProperties: false },
    ),
    inputSize: Type.Integer({ minimum: 16, maximum: 1024 }),
    normalization: Type.Object(
      {
        mean: Type.Number(),
        std: Type.Number({ exclusiveMinimum: 0 }),
        channels: Type.Union([Type.Literal('RGB'), Type.Literal('BGR')]),
      },
      { additionalProperties: false },
    ),
    template: Type.Array(Point, { minItems: 5, maxItems: 5 }),
    embeddingSize: Type.Integer({ minimum: 1, maximum: 65536 }),
    threshold: Type.Number({ minimum: -1, maximum: 1 }),
    calibration: Type.Object(
      {
        method: Type.Literal('platt'),
        a: Type.Number(),
        b: Type.Number(),
        fittedOn: Type.String({ maxLength: 1000 }),
      },
      { additionalProperties: false },
    ),
    flip: Type.Boolean(),
    alignment: Type.Optional(
      Type.Union([
        Type.Object({ kind: Type.Literal('landmarks') }, { additionalProperties: false }),
        Type.Object(
          { kind: Type.Literal('box'), margin: Type.Number({ minimum: 0, maximum: 1024 }) },
          { additionalProperties: false },
        ),
      ]),
    ),
    origin: Type.Optional(
      Type.Object(
        {
          kind: Type.Union([Type.Literal('pull'), Type.Literal('add')]),
          from: Type.String({ maxLength: 4096 }),
          sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
          converter: Type.Optional(Type.String({ maxLength: 200 })),
          addedAt: Type.String({ maxLength: 64 }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export type UserManifest = Static<typeof UserManifestSchema>;

/** A user manifest that could not be loaded. */
export interface RegistryProblem {
  file: string;
  message: string;
}

/** The user-model folder of a model cache folder. */
export function userModelsDir(cacheDir: string): string {
  return join(cacheDir, USER_MODELS_FOLDER);
}

/** Schema errors as one line each (`/path: message`), at most `max`. */
function schemaErrors(value: unknown, max = 5): string[] {
  const seen = new Set<string>();
  for (const e of Value.Errors(UserManifestSchema, value)) {
    seen.add(`${e.instancePath || '/'}: ${e.message}`);
    if (seen.size >= max) break;
  }
  return [...seen];
}

/**
 * Checks a parsed user manifest and resolves its model path against `dir`.
 *
 * @example
 * const manifest = parseUserManifest(JSON.parse(text), '/cache/user-models');
 */
export function parseUserManifest(value: unknown, dir: string): EmbedderManifest {
  if (!Value.Check(UserManifestSchema, value)) {
    throw new FaceVerifyError('MODEL_INVALID', `invalid manifest: ${schemaErrors(value).join('; ')}`);
  }
  const m = value;
  const path = isAbsolute(m.source.path) ? m.source.path : resolve(dir, m.source.path);
  return {
    ...m,
    source: { format: 'onnx', path, sha256: m.source.sha256 },
    template: m.template.map(([x, y]) => [x, y]),
  };
}

export class ModelRegistry {
  private readonly models = new Map<string, ModelManifest>();
  private readonly builtins = new Set<string>();
  /** User manifests that were skipped, with the reason. */
  readonly problems: RegistryProblem[] = [];

  constructor(manifests: ModelManifest[] = [MTCNN, MOBILEFACENET]) {
    for (const m of manifests) {
      this.register(m);
      this.builtins.add(m.name);
    }
  }

  /**
   * The built-in models plus the user-registered ones in `<cacheDir>/user-models`.
   *
   * @example
   * const registry = ModelRegistry.withUserModels(config.modelCacheDir || DEFAULT_MODEL_CACHE_DIR);
   * for (const p of registry.problems) logger.warn(p, 'model manifest skipped');
   */
  static withUserModels(cacheDir: string, builtins?: ModelManifest[]): ModelRegistry {
    const registry = new ModelRegistry(builtins);
    registry.loadUserModels(userModelsDir(cacheDir));
    return registry;
  }

  /** Loads every `*.json` manifest of a folder (a missing folder has none). */
  loadUserModels(dir: string): void {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      return;
    }
    for (const file of files.sort()) {
      const path = join(dir, file);
      try {
        if (statSync(path).size > MAX_MANIFEST_BYTES) throw new Error('file larger than 1 MiB');
        let json: unknown;
        try {
          json = JSON.parse(readFileSync(path, 'utf8'));
        } catch (err) {
          throw new Error(`not valid JSON (${err instanceof Error ? err.message : String(err)})`, {
            cause: err,
          });
        }
        const manifest = parseUserManifest(json, dir);
        if (`${manifest.name}.json` !== file) throw new Error(`names the model "${manifest.name}"`);
        if (this.builtins.has(manifest.name)) throw new Error(`"${manifest.name}" is a built-in model`);
        this.register(manifest);
      } catch (err) {
        this.problems.push({ file: path, message: err instanceof Error ? err.message : String(err) });
      }
    }
  }

  register(manifest: ModelManifest): void {
    this.models.set(manifest.name, manifest);
  }

  isBuiltin(name: string): boolean {
    return this.builtins.has(name);
  }

  list(): ModelManifest[] {
    return [...this.models.values()];
  }

  detector(name: string): DetectorManifest {
    const m = this.models.get(name);
    if (!m || m.kind !== 'detector')
      throw new FaceVerifyError('MODEL_NOT_FOUND', `No detector named "${name}"`);
    return m;
  }

  embedder(name: string): EmbedderManifest {
    const m = this.models.get(name);
    if (!m || m.kind !== 'embedder') {
      throw new FaceVerifyError('MODEL_NOT_FOUND', `No embedding model named "${name}"`, {
        available: this.list()
          .filter((x) => x.kind === 'embedder')
          .map((x) => x.name),
      });
    }
    return m;
  }
}

/** Checks a name for a user model: the pattern, and not a built-in's. */
export function checkUserModelName(name: string, builtins: ModelRegistry = new ModelRegistry()): void {
  if (!new RegExp(MODEL_NAME_PATTERN).test(name)) {
    throw new FaceVerifyError(
      'INVALID_INPUT',
      `Model name "${name}" must be 1–64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit`,
    );
  }
  if (builtins.isBuiltin(name)) {
    throw new FaceVerifyError('INVALID_INPUT', `"${name}" is a built-in model; choose another name`);
  }
}

/** The model file name for a user model: the name and the start of its hash. */
export function userModelFileName(name: string, sha256: string): string {
  return `${name}-${sha256.slice(0, 16)}.onnx`;
}

/**
 * Writes a user model's manifest (its source must be a file in the user-model folder) and deletes the
 * model files of earlier versions of the same name.
 *
 * @example
 * await saveUserModel(cacheDir, manifest); // → <cacheDir>/user-models/<name>.json
 */
export async function saveUserModel(cacheDir: string, manifest: EmbedderManifest): Promise<string> {
  const dir = userModelsDir(cacheDir);
  const file = relative(dir, manifest.source.path);
  if (file !== basename(manifest.source.path) || dirname(resolve(dir, file)) !== resolve(dir)) {
    throw new FaceVerifyError('INTERNAL_ERROR', 'a user model file must be in the user-model folder');
  }
  const json: UserManifest = {
    kind: 'embedder',
    name: manifest.name,
    description: manifest.description,
    license: manifest.license,
    source: { format: 'onnx', path: file, sha256: manifest.source.sha256 },
    inputSize: manifest.inputSize,
    normalization: manifest.normalization,
    template: manifest.template.map(([x, y]): [number, number] => [x, y]),
    embeddingSize: manifest.embeddingSize,
    threshold: manifest.threshold,
    calibration: manifest.calibration,
    flip: manifest.flip,
    ...(manifest.origin ? { origin: manifest.origin } : {}),
  };
  parseUserManifest(json, dir); // never write a file the loader would refuse
  const path = join(dir, `${manifest.name}.json`);
  await writeAtomically(path, `${JSON.stringify(json, null, 2)}\n`);
  await removeStaleFiles(dir, manifest.name, file);
  return path;
}

async function removeStaleFiles(dir: string, name: string, keep: string | null): Promise<void> {
  const own = new RegExp(`^${name.replace(/[.]/g, '\\.')}-[0-9a-f]{16}\\.onnx$`);
  for (const f of await readdir(dir)) {
    if (own.test(f) && f !== keep) await rm(join(dir, f), { force: true });
  }
}

/**
 * Removes a user model (its manifest and model file). Built-in models cannot be removed.
 *
 * @example
 * await removeUserModel(cacheDir, 'arcface-r100');
 */
export async function removeUserModel(cacheDir: string, name: string): Promise<void> {
  checkUserModelName(name);
  const dir = userModelsDir(cacheDir);
  const path = join(dir, `${name}.json`);
  try {
    statSync(path);
  } catch {
    throw new FaceVerifyError('MODEL_NOT_FOUND', `No user model named "${name}"`);
  }
  await rm(path);
  await removeStaleFiles(dir, name, null);
}
