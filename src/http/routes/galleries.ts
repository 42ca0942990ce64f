/**
 * The gallery routes (issue 16, docs/identities.md): enrol faces of subjects, list and delete them,
 * change a subject's retention, verify a photo against a subject, search a gallery 1:N, and read the
 * audit log (admin keys). The photo is analysed here, in the API process, by the service's Verifier
 * (no queued task: the answer needs the store right after), so the routes exist only where HTTP and a
 * model share a process: role `both` (a `worker` serves no HTTP, an `api`-only node has no model and
 * answers 404). Scores come from the verifier's Scoring, like /verify's. Each route checks the key's
 * permission on the path's gallery (access.ts, API_KEY_SCOPES) before it reads the body.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { FaceVerifyError } from '../../errors.js';
import type { ImageFetcher } from '../../fetch/image-fetcher.js';
import type { FaceRecord, GalleryStore } from '../../gallery/gallery-store.js';
import { PRECISION, roundTo } from '../../core/scoring.js';
import { searchGallery, verifySubject } from '../../gallery/gallery-scoring.js';
import type { FaceReport } from '../../pipeline/face-analysis.js';
import type { Analysis } from '../../pipeline/face-analyzer.js';
import type { Verifier } from '../../pipeline/verifier.js';
import type { Access } from '../access.js';
import { multipartToBody, uploadsOf } from '../multipart-body.js';
import { ErrorBody } from '../schemas/common.js';
import {
  AuditPage,
  AuditQuery,
  Deleted,
  EnrolBody,
  Enrolled,
  FaceParams,
  GalleryList,
  GalleryParams,
  GalleryVerifyBody,
  GalleryVerifyResult,
  SearchBody,
  SearchResult,
  SubjectDetail,
  SubjectList,
  SubjectParams,
  SubjectPatchBody,
  SubjectUpdated,
  SubjectsQuery,
} from '../schemas/galleries.js';

export interface GalleryRouteOptions {
  store: GalleryStore;
  verifier: Verifier;
  fetchImage: ImageFetcher;
  maxImageBytes: number;
  /** Who may do what (API_KEY_SCOPES, admin keys) and the audit actor of each request. */
  access: Access;
  /** Target false-positive identification rate of a search without a threshold (SEARCH_FPIR). */
  searchFpir: number;
}

type ImageBody = { image?: string; image_url?: string; face_policy?: FaceAnalysisPolicy };
type FaceAnalysisPolicy = NonNullable<Parameters<Verifier['analyze']>[1]>['facePolicy'];

const CONSUMES = ['application/json', 'multipart/form-data', 'application/x-www-form-urlencoded'];
const errors = {
  400: ErrorBody,
  403: ErrorBody,
  404: ErrorBody,
  409: ErrorBody,
  413: ErrorBody,
  415: ErrorBody,
  422: ErrorBody,
  429: ErrorBody,
  503: ErrorBody,
};
const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,200}$/;

const seconds = (start: number): number => roundTo((performance.now() - start) / 1000, PRECISION.seconds);

function faceOut(r: FaceRecord): Record<string, unknown> {
  const face = r.face as Partial<FaceReport>;
  return {
    face_id: r.face_id,
    model: r.model,
    box: face.box,
    score: face.score,
    ...(face.quality ? { quality: face.quality } : {}),
    created_at: r.created_at,
  };
}

export const galleryRoutes: FastifyPluginAsync<GalleryRouteOptions> = async (app, opts) => {
  const { store, verifier, access } = opts;
  const actorOf = (request: FastifyRequest): string => access.principal(request).actor;

  /** The one photo of a request (upload, base64 or URL), analysed (with its face chip if `chip`). */
  const analyse = async (request: FastifyRequest<{ Body: ImageBody }>, chip = false): Promise<Analysis> => {
    const { body } = request;
    const file = uploadsOf(request).image;
    if (file && body.image)
      throw new FaceVerifyError('INVALID_INPUT', 'The image is given twice: send one image');
    const upload = file ?? (body.image !== undefined ? Buffer.from(body.image, 'base64') : undefined);
    if (upload && body.image_url) {
      throw new FaceVerifyError('INVALID_INPUT', 'Give the image as a URL or as an upload, not both');
    }
    if (upload && upload.byteLength > opts.maxImageBytes) {
      throw new FaceVerifyError('IMAGE_TOO_LARGE', `The image is larger than ${opts.maxImageBytes} bytes`, {
        max_bytes: opts.maxImageBytes,
      });
    }
    let bytes = upload;
    if (!bytes && body.image_url) bytes = await opts.fetchImage(body.image_url);
    if (!bytes)
      throw new FaceVerifyError('INVALID_INPUT', 'The image is missing: send image_url or an image file');
    return verifier.analyze(bytes, {
      ...(body.face_policy ? { facePolicy: body.face_policy } : {}),
      ...(chip ? { faceChip: true } : {}),
    });
  };

  app.post<{ Params: { gallery: string; subject: string }; Body: EnrolBody }>(
    '/galleries/:gallery/subjects/:subject/faces',
    {
      preValidation: [access.guard('enrol'), multipartToBody],
      schema: {
        summary: 'Enrol a face of a subject (the gallery is created on first use)',
        description:
          'With an Idempotency-Key header, a repeated request answers the first enrol (200) instead of adding a face.',
        tags: ['galleries'],
        consumes: CONSUMES,
        params: SubjectParams,
        body: EnrolBody,
        response: { 200: Enrolled, 201: Enrolled, ...errors },
      },
    },
    async (request, reply) => {
      const header = request.headers['idempotency-key'];
      const idempotencyKey = typeof header === 'string' ? header : undefined;
      if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
        throw new FaceVerifyError('INVALID_INPUT', 'Idempotency-Key: 1-200 printable ASCII characters');
      }
      const analysis = await analyse(request, store.retainsCrops);
      const { body, params } = request;
      const result = await store.enrol({
        gallery: params.gallery,
        subject: params.subject,
        modelId: analysis.modelId,
        embedding: analysis.embedding,
        face: analysis.face,
        ...(analysis.faceChip ? { crop: analysis.faceChip } : {}),
        ...(body.expires_at ? { expiresAt: new Date(body.expires_at) } : {}),
        ...(body.consent_ref ? { consentRef: body.consent_ref } : {}),
        ...(idempotencyKey ? { idempotencyKey } : {}),
        actor: actorOf(request),
      });
      void reply.code(result.created ? 201 : 200);
      return { gallery: result.gallery, subject: result.subject, ...faceOut(result) };
    },
  );

  app.get(
    '/galleries',
    {
      preValidation: access.guard('read'),
      schema: {
        summary: 'The galleries (those this API key may read)',
        tags: ['galleries'],
        response: { 200: GalleryList, 403: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const principal = access.principal(request);
      const all = await store.listGalleries();
      return { galleries: all.filter((g) => access.may(principal, 'read', g.gallery)) };
    },
  );

  app.get<{ Params: { gallery: string }; Querystring: { after?: string; limit?: number } }>(
    '/galleries/:gallery/subjects',
    {
      preValidation: access.guard('read'),
      schema: {
        summary: "A gallery's subjects, in name order (paged)",
        tags: ['galleries'],
        params: GalleryParams,
        querystring: SubjectsQuery,
        response: { 200: SubjectList, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const { after, limit } = request.query;
      const page = await store.listSubjects(request.params.gallery, {
        ...(after !== undefined ? { after } : {}),
        ...(limit !== undefined ? { limit } : {}),
      });
      return { gallery: request.params.gallery, ...page };
    },
  );

  app.get<{ Params: { gallery: string; subject: string } }>(
    '/galleries/:gallery/subjects/:subject',
    {
      preValidation: access.guard('read'),
      schema: {
        summary: 'A subject and its faces (no embeddings)',
        tags: ['galleries'],
        params: SubjectParams,
        response: { 200: SubjectDetail, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const detail = await store.getSubject(request.params.gallery, request.params.subject);
      return { ...detail, faces_list: detail.faces_list.map(faceOut) };
    },
  );

  app.patch<{ Params: { gallery: string; subject: string }; Body: SubjectPatchBody }>(
    '/galleries/:gallery/subjects/:subject',
    {
      preValidation: access.guard('enrol'),
      schema: {
        summary: "Change a subject's retention (expires_at) or consent reference",
        description:
          'expires_at: a future date, or null to keep the subject until it is deleted. Needs the enrol permission.',
        tags: ['galleries'],
        params: SubjectParams,
        body: SubjectPatchBody,
        response: { 200: SubjectUpdated, 400: ErrorBody, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const { gallery, subject } = request.params;
      const { expires_at: expiresAt, consent_ref: consentRef } = request.body;
      const summary = await store.updateSubject(
        gallery,
        subject,
        {
          ...(expiresAt !== undefined ? { expiresAt: expiresAt === null ? null : new Date(expiresAt) } : {}),
          ...(consentRef !== undefined ? { consentRef } : {}),
        },
        actorOf(request),
      );
      return { gallery, ...summary };
    },
  );

  app.get<{ Querystring: AuditQuery }>(
    '/admin/audit',
    {
      schema: {
        summary: 'The audit log of the galleries (admin key required), oldest first, paged',
        description:
          'Who (a key id, never the key), when, what, which gallery, subject and face; never images or embeddings.',
        tags: ['galleries'],
        querystring: AuditQuery,
        response: { 200: AuditPage, 400: ErrorBody, 403: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      access.requireAdmin(request);
      const q = request.query;
      const limit = q.limit ?? 100;
      // One more than asked tells whether there is a next page.
      const entries = await store.readAudit({
        ...(q.gallery !== undefined ? { gallery: q.gallery } : {}),
        ...(q.subject !== undefined ? { subject: q.subject } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.since !== undefined ? { since: new Date(q.since) } : {}),
        after: q.cursor !== undefined ? Number(q.cursor) : 0,
        limit: limit + 1,
      });
      const page = entries.slice(0, limit);
      const last = page.at(-1);
      return entries.length > limit && last ? { entries: page, next: String(last.id) } : { entries: page };
    },
  );

  const deleteSchema = (
    summary: string,
    params: typeof GalleryParams | typeof SubjectParams | typeof FaceParams,
  ) => ({
    preValidation: access.guard('delete'),
    schema: {
      summary,
      tags: ['galleries'],
      params,
      response: { 200: Deleted, 403: ErrorBody, 404: ErrorBody, 503: ErrorBody },
    },
  });

  app.delete<{ Params: { gallery: string } }>(
    '/galleries/:gallery',
    deleteSchema('Delete a gallery and everything in it', GalleryParams),
    async (request) => ({
      deleted_faces: await store.deleteGallery(request.params.gallery, actorOf(request)),
    }),
  );

  app.delete<{ Params: { gallery: string; subject: string } }>(
    '/galleries/:gallery/subjects/:subject',
    deleteSchema('Delete a subject and its faces', SubjectParams),
    async (request) => ({
      deleted_faces: await store.deleteSubject(
        request.params.gallery,
        request.params.subject,
        actorOf(request),
      ),
    }),
  );

  app.delete<{ Params: { gallery: string; subject: string; face_id: string } }>(
    '/galleries/:gallery/subjects/:subject/faces/:face_id',
    deleteSchema('Delete one face of a subject', FaceParams),
    async (request) => {
      const { gallery, subject, face_id: faceId } = request.params;
      return { deleted_faces: await store.deleteFace(gallery, subject, faceId, actorOf(request)) };
    },
  );

  app.post<{ Params: { gallery: string; subject: string }; Body: GalleryVerifyBody }>(
    '/galleries/:gallery/subjects/:subject/verify',
    {
      preValidation: [access.guard('search'), multipartToBody],
      schema: {
        summary: 'Is the photo this subject? Scored against each of its faces; the best one decides',
        tags: ['galleries'],
        consumes: CONSUMES,
        params: SubjectParams,
        body: GalleryVerifyBody,
        response: { 200: GalleryVerifyResult, ...errors },
      },
    },
    async (request) => {
      const start = performance.now();
      const { gallery, subject } = request.params;
      const analysis = await analyse(request);
      const result = await verifySubject(verifier, store, {
        gallery,
        subject,
        analysis,
        ...(request.body.threshold !== undefined ? { threshold: request.body.threshold } : {}),
        actor: actorOf(request),
      });
      return {
        ...result,
        model: verifier.modelName,
        processing_time: seconds(start),
        faces: [analysis.face],
      };
    },
  );

  app.post<{ Params: { gallery: string }; Body: SearchBody }>(
    '/galleries/:gallery/search',
    {
      preValidation: [access.guard('search'), multipartToBody],
      schema: {
        summary: 'Who is this? The closest subjects at or above the threshold; [] = an unknown person',
        tags: ['galleries'],
        consumes: CONSUMES,
        params: GalleryParams,
        body: SearchBody,
        response: { 200: SearchResult, ...errors },
      },
    },
    async (request) => {
      const start = performance.now();
      const analysis = await analyse(request);
      const { limit, threshold } = request.body;
      const { matches, choice } = await searchGallery(verifier, store, {
        gallery: request.params.gallery,
        analysis,
        ...(limit !== undefined ? { limit } : {}),
        ...(threshold !== undefined ? { threshold } : {}),
        fpir: opts.searchFpir,
        actor: actorOf(request),
      });
      return {
        matches,
        threshold: choice.threshold,
        threshold_source: choice.source,
        ...('open_set' in choice ? { open_set: choice.open_set } : {}),
        faces: [analysis.face],
        model: verifier.modelName,
        processing_time: seconds(start),
      };
    },
  );
};
