// Child process of the change-feed test: opens its own store on the given data, does one thing, prints
// its answer as JSON and exits, as `faceverify gallery enrol|delete` would beside a running server.
import { createGalleryStore } from '../../../src/gallery/create-gallery-store.js';
import type { CreateGalleryStoreOptions } from '../../../src/gallery/create-gallery-store.js';

type Op =
  | { op: 'enrol'; gallery: string; subject: string; embedding: number[] }
  | { op: 'delete-subject'; gallery: string; subject: string };

const options = JSON.parse(process.argv[2] ?? '{}') as CreateGalleryStoreOptions;
const op = JSON.parse(process.argv[3] ?? '{}') as Op;
const store = createGalleryStore(options);
await store.open();
const out =
  op.op === 'enrol'
    ? await store.enrol({
        gallery: op.gallery,
        subject: op.subject,
        modelId: 'mobilefacenet@d8ba40c0127f',
        embedding: Float32Array.from(op.embedding),
        face: { box: [0, 0, 1, 1], score: 1 },
        actor: 'cli',
      })
    : { deleted_faces: await store.deleteSubject(op.gallery, op.subject, 'cli') };
await store.close();
process.stdout.write(JSON.stringify(out));
