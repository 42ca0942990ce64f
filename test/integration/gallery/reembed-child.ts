// Child process of the SIGKILL test: re-embeds gallery "g" with dlib-resnet, printing how many faces
// have their new template after each one (`done N`), until it is killed.
import { createGalleryStore } from '../../../src/gallery/create-gallery-store.js';
import type { CreateGalleryStoreOptions } from '../../../src/gallery/create-gallery-store.js';
import { reembedGallery } from '../../../src/gallery/reembed-gallery.js';
import { TemplateCipher } from '../../../src/gallery/template-cipher.js';
import { FaceAnalyzer } from '../../../src/pipeline/face-analyzer.js';

const { key, ...options } = JSON.parse(process.argv[2] ?? '{}') as CreateGalleryStoreOptions & {
  key: string;
};
const store = createGalleryStore({
  ...options,
  cipher: new TemplateCipher([{ id: 'k1', key: Buffer.from(key, 'base64') }]),
});
await store.open();
const dlib = await FaceAnalyzer.create({ model: 'dlib-resnet' });
await reembedGallery(store, dlib, {
  gallery: 'g',
  actor: 'cli',
  batchSize: 2,
  onProgress: (p) => process.stdout.write(`done ${p.done}\n`),
});
process.stdout.write('finished\n');
