/**
 * Who is asking, and may they: the principal behind a request's API key, and the checks of the gallery
 * routes (API_KEY_SCOPES, src/config/key-scopes.ts). Authentication itself (401 without a valid key)
 * is the onRequest hook of security.ts; this runs after it.
 *
 * - An admin key (ADMIN_API_KEYS) may do everything, and read the audit log.
 * - A key of API_KEYS with a scope may use the galleries and permissions of its scope; without one,
 *   everything but the admin endpoints (as before scopes existed).
 * - A refusal is 403 FORBIDDEN naming the permission and the gallery asked for; it is decided from the
 *   configuration alone, before any gallery is looked up, so it says nothing about which galleries
 *   exist.
 * - The audit actor is `key:<name>` for a named scope, else `key:` and the first 12 hex digits of the
 *   key's SHA-256 (an id, not the key; a random key cannot be recovered from it), or `anonymous`.
 */
import { createHash } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { coversGallery, type KeyScope, type Permission } from '../config/key-scopes.js';
import { FaceVerifyError } from '../errors.js';
import type { Actor } from '../gallery/gallery-store.js';
import { keyMatches, presentedKey } from './routes/ops.js';

export interface Principal {
  actor: Actor;
  admin: boolean;
  /** Absent: every gallery and permission. */
  scope: KeyScope | undefined;
}

export interface AccessOptions {
  adminApiKeys: readonly string[];
  scopes: ReadonlyMap<string, KeyScope>;
}

export class Access {
  private readonly options: AccessOptions;
  private readonly principals = new WeakMap<FastifyRequest, Principal>();

  constructor(options: AccessOptions) {
    this.options = options;
  }

  /** The request's principal (worked out once per request). */
  principal(request: FastifyRequest): Principal {
    let p = this.principals.get(request);
    if (!p) {
      p = this.identify(presentedKey(request));
      this.principals.set(request, p);
    }
    return p;
  }

  private identify(key: string | undefined): Principal {
    if (!key) return { actor: 'anonymous', admin: false, scope: undefined };
    const hashed = `key:${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
    if (keyMatches(key, this.options.adminApiKeys)) return { actor: hashed, admin: true, scope: undefined };
    // Compared in constant time, like the authentication, rather than looked up by the key.
    for (const [scoped, scope] of this.options.scopes) {
      if (keyMatches(key, [scoped])) {
        return { actor: scope.name ? `key:${scope.name}` : hashed, admin: false, scope };
      }
    }
    return { actor: hashed, admin: false, scope: undefined };
  }

  /** Whether the principal may do `permission` in `gallery`. */
  may(p: Principal, permission: Permission, gallery: string): boolean {
    if (p.admin || !p.scope) return true;
    return p.scope.permissions.has(permission) && coversGallery(p.scope, gallery);
  }

  /** Throws 403 FORBIDDEN unless the request's key may do `permission` in `gallery`. */
  require(request: FastifyRequest, permission: Permission, gallery: string): void {
    if (!this.may(this.principal(request), permission, gallery)) {
      throw new FaceVerifyError('FORBIDDEN', `This API key may not ${permission} in gallery "${gallery}"`, {
        permission,
      });
    }
  }

  /** Throws 403 FORBIDDEN unless the key may `permission` somewhere (GET /galleries filters after). */
  requireAny(request: FastifyRequest, permission: Permission): void {
    const p = this.principal(request);
    if (!p.admin && p.scope && !p.scope.permissions.has(permission)) {
      throw new FaceVerifyError('FORBIDDEN', `This API key may not ${permission} galleries`, { permission });
    }
  }

  requireAdmin(request: FastifyRequest): void {
    if (!this.principal(request).admin) {
      throw new FaceVerifyError('FORBIDDEN', 'An admin API key is required', { permission: 'admin' });
    }
  }

  /**
   * A route hook that checks `permission` on the `gallery` path parameter before the body is read
   * (a refused key never has its photo parsed, let alone analysed).
   */
  guard(permission: Permission): (request: FastifyRequest) => Promise<void> {
    return async (request) => {
      const { gallery } = request.params as { gallery?: string };
      if (gallery === undefined) this.requireAny(request, permission);
      else this.require(request, permission, gallery);
    };
  }
}
