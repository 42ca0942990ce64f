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
import { MODEL_NAME_PATTERN } from './model-name.js';
import type { Value as ValueType } from 'typebox/value';
import type { UserManifest, UserManifestSchema as UserManifestSchemaType } from './user-manifest-schema.js';

export { MODEL_NAME_PATTERN };
import { FaceVerifyError } from '../errors.js';
import { ACCURATE, MOBILEFACENET, MTCNN } from './builtin.js';
import { DLIB_RESNET } from './dlib-resnet.js';
import type { DetectorManifest, EmbedderManifest, EnsembleManifest, ModelManifest } from './manifest.js';
import { writeAtomically } from './prepare.js';

/** Folder of user-registered models inside the model cache folder. */
export const USER_MODELS_FOLDER = 'user-models';
const MAX_MANIFEST_BYTES = 1024 * 1024;

/** The schema module (typebox costs ~0.2 s to import): loaded only when a user manifest exists. */
interface Schema {
  Value: typeof ValueType;
  UserManifestSchema: typeof UserManifestSchemaType;
}

async function loadSchema(): Promise<Schema> {
  const [{ Value }, { UserManifestSchema }] = await Promise.all([
    import('typebox/value'),
    import('./user-manifest-schema.js'),
  ]);
  return { Value, UserManifestSchema };
}

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
function schemaErrors({ Value, UserManifestSchema }: Schema, value: unknown, max = 5): string[] {
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
 * const manifest = parseUserManifest(await loadSchema(), JSON.parse(text), '/cache/user-models');
 */
export function parseUserManifest(schema: Schema, value: unknown, dir: string): EmbedderManifest {
  if (!schema.Value.Check(schema.UserManifestSchema, value)) {
    throw new FaceVerifyError('MODEL_INVALID', `invalid manifest: ${schemaErrors(schema, value).join('; ')}`);
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

  constructor(manifests: ModelManifest[] = [MTCNN, MOBILEFACENET, DLIB_RESNET, ACCURATE]) {
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
  static async withUserModels(cacheDir: string, builtins?: ModelManifest[]): Promise<ModelRegistry> {
    const registry = new ModelRegistry(builtins);
    await registry.loadUserModels(userModelsDir(cacheDir));
    return registry;
  }

  /** Loads every `*.json` manifest of a folder (a missing folder has none). */
  async loadUserModels(dir: string): Promise<void> {
    let files: string[];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith('.json'));
    } catch {
      return;
    }
    if (files.length === 0) return;
    const schema = await loadSchema();
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
        const manifest = parseUserManifest(schema, json, dir);
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
    if (!m || m.kind !== 'embedder') throw this.notFound(name);
    return m;
  }

  /** What `MODEL` names: a single embedder or an ensemble of them (`fast` is `mobilefacenet`). */
  scorer(name: string): EmbedderManifest | EnsembleManifest {
    const m = this.models.get(name === 'fast' ? 'mobilefacenet' : name);
    if (!m || m.kind === 'detector') throw this.notFound(name);
    return m;
  }

  private notFound(name: string): FaceVerifyError {
    return new FaceVerifyError('MODEL_NOT_FOUND', `No embedding model named "${name}"`, {
      available: this.list()
        .filter((x) => x.kind !== 'detector')
        .map((x) => x.name),
    });
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
    ...(manifest.alignment ? { alignment: manifest.alignment } : {}),
    ...(manifest.origin ? { origin: manifest.origin } : {}),
  };
  parseUserManifest(await loadSchema(), json, dir); // never write a file the loader would refuse
  const path = join(dir, `${manifest.name}.json`);
  await writeAtomically(path, `${JSON.stringify(json, null, 2)}\n`);
  await removeStaleFiles(dir, manifest.name, file);
  await removeOptimizedGraphs(cacheDir, manifest.name, manifest.source.sha256);
  return path;
}

async function removeStaleFiles(dir: string, name: string, keep: string | null): Promise<void> {
  const own = new RegExp(`^${name.replace(/[.]/g, '\\.')}-[0-9a-f]{16}\\.onnx$`);
  for (const f of await readdir(dir)) {
    if (own.test(f) && f !== keep) await rm(join(dir, f), { force: true });
  }
}

/**
 * Removes ONNX Runtime's optimised graphs of a user model, `<name>-<sha16>-c<n>.ort….onnx` in the cache
 * folder (src/runtime/onnx-session.ts), except those of the model file with `keepSha` (null: all).
 * FaceNet's is 90 MB: a replaced or removed model should not leave it behind.
 */
async function removeOptimizedGraphs(cacheDir: string, name: string, keepSha: string | null): Promise<void> {
  const own = new RegExp(
    `^${name.replace(/[.]/g, '\\.')}-([0-9a-f]{16})-c\\d+\\.ort[^-/]+-[0-9a-f]{12}\\.onnx$`,
  );
  let files: string[];
  try {
    files = await readdir(cacheDir);
  } catch {
    return; // no cache folder: nothing to remove
  }
  for (const f of files) {
    const match = own.exec(f);
    if (match && match[1] !== keepSha?.slice(0, 16)) await rm(join(cacheDir, f), { force: true });
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
  await removeOptimizedGraphs(cacheDir, name, null);
}
