/**
 * The registry of models by name. Built-in manifests are always present; more can be registered at
 * run time (bring-your-own ONNX embedders).
 */
import { FaceVerifyError } from '../errors.js';
import { MOBILEFACENET, MTCNN } from './builtin.js';
import type { DetectorManifest, EmbedderManifest, ModelManifest } from './manifest.js';

export class ModelRegistry {
  private readonly models = new Map<string, ModelManifest>();

  constructor(manifests: ModelManifest[] = [MTCNN, MOBILEFACENET]) {
    for (const m of manifests) this.register(m);
  }

  register(manifest: ModelManifest): void {
    this.models.set(manifest.name, manifest);
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
