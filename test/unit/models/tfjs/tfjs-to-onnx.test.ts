/**
 * The entry point model preparation calls for TF.js sources: it finds the shards beside the manifest,
 * checks their hashes, and builds the named architecture; anything else is refused with a stable code.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { DLIB_RESNET } from '../../../../src/models/dlib-resnet.js';
import { faceRecognitionNetToOnnx } from '../../../../src/models/tfjs/face-recognition-net-to-onnx.js';
import { tfjsToOnnx } from '../../../../src/models/tfjs/tfjs-to-onnx.js';
import { readTfjsWeights } from '../../../../src/models/tfjs/tfjs-weights.js';
import { describeWithFaceApi, FACE_API_MODEL_DIR } from './face-api-reference.js';

describeWithFaceApi('tfjsToOnnx', () => {
  const manifestPath = join(FACE_API_MODEL_DIR ?? '', 'face_recognition_model-weights_manifest.json');
  const options = {
    name: 'dlib-resnet',
    architecture: DLIB_RESNET.source.architecture ?? '',
    shardSha256: DLIB_RESNET.source.shards ?? {},
  };

  it("converts face-api's weights pinned by the dlib-resnet manifest", async () => {
    const bytes = await readFile(manifestPath);
    const onnx = await tfjsToOnnx(bytes, manifestPath, options);
    const direct = faceRecognitionNetToOnnx(await readTfjsWeights(manifestPath), { name: 'dlib-resnet' });
    expect(Buffer.from(onnx).equals(Buffer.from(direct))).toBe(true);
  });

  it('refuses an unknown architecture, a shard with another hash, and a manifest that is not JSON', async () => {
    const bytes = await readFile(manifestPath);
    await expect(
      tfjsToOnnx(bytes, manifestPath, { ...options, architecture: 'resnet50' }),
    ).rejects.toMatchObject({
      code: 'MODEL_UNSUPPORTED',
    });
    await expect(
      tfjsToOnnx(bytes, manifestPath, {
        ...options,
        shardSha256: { 'face_recognition_model.bin': 'f'.repeat(64) },
      }),
    ).rejects.toMatchObject({ code: 'MODEL_INVALID' });
    await expect(tfjsToOnnx(bytes, manifestPath, { ...options, shardSha256: {} })).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
    await expect(tfjsToOnnx(new TextEncoder().encode('{'), manifestPath, options)).rejects.toMatchObject({
      code: 'MODEL_INVALID',
    });
  });
});
