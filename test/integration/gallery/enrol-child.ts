// Child process of the SIGKILL test: enrols faces one after another into gallery "crash", subject
// "victim", printing each face id once its enrol has returned (committed), until it is killed.
import { createGalleryStore } from '../../../src/gallery/create-gallery-store.js';
import type { CreateGalleryStoreOptions } from '../../../src/gallery/create-gallery-store.js';
import { prng } from '../../support/prng.js';

const options = JSON.parse(process.argv[2] ?? '{}') as CreateGalleryStoreOptions;
const store = createGalleryStore(options);
await store.open();
const random = prng(42);
const embedding = new Float32Array(192);
for (;;) {
  let s = 0;
  for (let j = 0; j < embedding.length; j++) s += (embedding[j] = random() - 0.5) ** 2;
  for (let j = 0; j < embedding.length; j++) embedding[j] = (embedding[j] as number) / Math.sqrt(s);
  const face = await store.enrol({
    gallery: 'crash',
    subject: 'victim',
    modelId: 'mobilefacenet@d8ba40c0127f',
    embedding,
    face: { box: [0, 0, 1, 1], score: 1 },
    actor: 'cli',
  });
  process.stdout.write(`${face.face_id}\n`);
}
