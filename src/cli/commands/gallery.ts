/**
 * `faceverify gallery enrol|update|list|show|verify|search|delete|reembed`: the galleries of the configured
 * store (DATABASE_URL, else the SQLite file in DATA_DIR) with the library's analyzer in this process —
 * the same store and scoring the API uses (docs/identities.md).
 */
import { galleryStoreOptions } from '../../config/gallery-options.js';
import { createGalleryStore } from '../../gallery/create-gallery-store.js';
import { searchGallery, verifySubject } from '../../gallery/gallery-scoring.js';
import type { GalleryStore, SubjectChange } from '../../gallery/gallery-store.js';
import { FaceVerifyError } from '../../errors.js';
import { reembedGallery } from '../../gallery/reembed-gallery.js';
import type { Analysis } from '../../pipeline/face-analyzer.js';
import type { Verifier } from '../../pipeline/verifier.js';
import type { Command, CommandContext } from './command.js';
import { analyzerFor, inputBytes, perCallOptions, verifierFor } from './shared.js';

const USAGE = `gallery enrol GALLERY SUBJECT IMG [--expires-at DATE] [--consent-ref REF]
  | update GALLERY SUBJECT [--expires-at DATE|never] [--consent-ref REF|none]
  | list [GALLERY] | show GALLERY SUBJECT | verify GALLERY SUBJECT IMG | search GALLERY IMG [--limit N]
  | delete GALLERY [SUBJECT [FACE_ID]] | reembed GALLERY --model NAME`;
const ACTOR = 'cli';

function usage(): FaceVerifyError {
  return new FaceVerifyError('INVALID_INPUT', `Usage: faceverify ${USAGE}`);
}

function openStore(ctx: CommandContext): GalleryStore {
  return createGalleryStore(galleryStoreOptions(ctx.config));
}

async function analyse(
  ctx: CommandContext,
  verifier: Verifier,
  image: string,
  faceChip = false,
): Promise<Analysis> {
  const { facePolicy } = perCallOptions(ctx);
  return verifier.analyze(await inputBytes(ctx, image), {
    ...(facePolicy ? { facePolicy } : {}),
    ...(faceChip ? { faceChip } : {}),
  });
}

/**
 * `--expires-at` and `--consent-ref` as the API's `expires_at` and `consent_ref`: an ISO 8601 date
 * (the store refuses one in the past), and on `update` also `never` (kept until deleted) and `none`
 * (no consent reference). Absent options leave the subject's values as they are.
 */
function subjectChange(ctx: CommandContext, update: boolean): SubjectChange {
  const expires = ctx.options['expires-at'];
  const consent = ctx.options['consent-ref'];
  const change: SubjectChange = {};
  if (expires !== undefined) {
    if (update && expires === 'never') change.expiresAt = null;
    else if (!/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(expires)) {
      throw new FaceVerifyError(
        'INVALID_INPUT',
        `--expires-at: an ISO 8601 date such as 2027-06-30 or 2027-06-30T12:00:00Z${update ? ', or never' : ''}`,
      );
    } else change.expiresAt = new Date(expires);
  }
  if (consent !== undefined) {
    if (consent.length === 0 || consent.length > 200)
      throw new FaceVerifyError('INVALID_INPUT', '--consent-ref: 1 to 200 characters');
    change.consentRef = update && consent === 'none' ? null : consent;
  }
  return change;
}

function limitOf(ctx: CommandContext): number | undefined {
  const raw = ctx.options.limit;
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 100)
    throw new FaceVerifyError('INVALID_INPUT', '--limit: 1 to 100');
  return n;
}

/** The sub-commands that analyse a photo: they need a verifier as well as the store. */
async function withPhoto(
  ctx: CommandContext,
  store: GalleryStore,
  sub: string,
  args: string[],
): Promise<unknown> {
  const verifier = await verifierFor(ctx);
  try {
    const { threshold } = perCallOptions(ctx);
    if (sub === 'enrol' && args.length === 3) {
      const [gallery, subject, image] = args as [string, string, string];
      const retention = subjectChange(ctx, false);
      const analysis = await analyse(ctx, verifier, image, store.retainsCrops);
      const r = await store.enrol({
        gallery,
        subject,
        modelId: analysis.modelId,
        embedding: analysis.embedding,
        face: analysis.face,
        ...(analysis.faceChip ? { crop: analysis.faceChip } : {}),
        ...(retention.expiresAt ? { expiresAt: retention.expiresAt } : {}),
        ...(retention.consentRef ? { consentRef: retention.consentRef } : {}),
        actor: ACTOR,
      });
      return { gallery, subject, face_id: r.face_id, model: r.model, created_at: r.created_at };
    }
    if (sub === 'verify' && args.length === 3) {
      const [gallery, subject, image] = args as [string, string, string];
      const analysis = await analyse(ctx, verifier, image);
      const r = await verifySubject(verifier, store, {
        gallery,
        subject,
        analysis,
        ...(threshold !== undefined ? { threshold } : {}),
        actor: ACTOR,
      });
      return { ...r, model: verifier.modelName };
    }
    if (sub === 'search' && args.length === 2) {
      const [gallery, image] = args as [string, string];
      const analysis = await analyse(ctx, verifier, image);
      const limit = limitOf(ctx);
      const r = await searchGallery(verifier, store, {
        gallery,
        analysis,
        ...(limit !== undefined ? { limit } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
        fpir: ctx.config.searchFpir,
        actor: ACTOR,
      });
      const { choice, ...answer } = r;
      return {
        ...answer,
        threshold_source: choice.source,
        ...('open_set' in choice ? { open_set: choice.open_set } : {}),
        model: verifier.modelName,
      };
    }
    throw usage();
  } finally {
    await verifier.close();
  }
}

/**
 * `gallery reembed GALLERY --model NAME`: the target model in this process, progress on stderr (a line
 * at most every second, and the last), the result on stdout. Interrupted, it resumes when run again.
 */
async function reembed(ctx: CommandContext, store: GalleryStore, gallery: string, model: string) {
  const embedder = await analyzerFor({ ...ctx, config: { ...ctx.config, model } });
  let last = 0;
  try {
    return await reembedGallery(store, embedder, {
      gallery,
      actor: ACTOR,
      onProgress: (p) => {
        const now = performance.now();
        if (p.done < p.faces && p.done > 0 && now - last < 1000) return;
        last = now;
        process.stderr.write(
          ctx.json
            ? `${JSON.stringify({ progress: p })}\n`
            : `reembed ${p.gallery} → ${p.model}: ${p.done}/${p.faces} faces\n`,
        );
      },
    });
  } finally {
    await embedder.close();
  }
}

async function run(ctx: CommandContext, store: GalleryStore, sub: string, args: string[]): Promise<unknown> {
  switch (sub) {
    case 'list':
      if (args.length === 0) return { galleries: await store.listGalleries() };
      if (args.length === 1) return store.listSubjects(args[0] as string, { limit: 1000 });
      throw usage();
    case 'show':
      if (args.length !== 2) throw usage();
      return store.getSubject(args[0] as string, args[1] as string);
    case 'delete': {
      const [gallery, subject, faceId] = args as [string, string | undefined, string | undefined];
      if (args.length === 1) return { deleted_faces: await store.deleteGallery(gallery, ACTOR) };
      if (args.length === 2)
        return { deleted_faces: await store.deleteSubject(gallery, subject as string, ACTOR) };
      if (args.length === 3)
        return { deleted_faces: await store.deleteFace(gallery, subject as string, faceId as string, ACTOR) };
      throw usage();
    }
    case 'update': {
      if (args.length !== 2) throw usage();
      const change = subjectChange(ctx, true);
      if (Object.keys(change).length === 0) throw usage();
      const [gallery, subject] = args as [string, string];
      return { gallery, ...(await store.updateSubject(gallery, subject, change, ACTOR)) };
    }
    case 'reembed':
      if (args.length !== 1 || !ctx.options.model) throw usage();
      return reembed(ctx, store, args[0] as string, ctx.options.model);
    default:
      return withPhoto(ctx, store, sub, args);
  }
}

export const galleryCommand: Command = async (ctx) => {
  const [sub, ...args] = ctx.args;
  if (!sub) throw usage();
  const store = openStore(ctx);
  await store.open();
  try {
    const result = await run(ctx, store, sub, args);
    // The answers are records and lists: JSON reads well as text too, indented unless --json.
    ctx.print(ctx.json ? JSON.stringify(result) : JSON.stringify(result, null, 2));
    return 0;
  } finally {
    await store.close();
  }
};
