/**
 * Encryption at rest of face templates (embeddings) and retained crops: AES-256-GCM from node:crypto.
 *
 * A sealed value is `iv (12 bytes) ‖ tag (16 bytes) ‖ ciphertext`, stored beside the id of the key that
 * sealed it. The associated data binds it to its row (face id and what the bytes are), so a ciphertext
 * copied onto another face, or an embedding swapped with a crop, fails authentication instead of
 * decrypting into someone else's template. Any failure — altered bytes, a wrong or missing key — is a
 * FaceVerifyError TEMPLATE_UNREADABLE, never a vector of garbage.
 *
 * Rotation: several keys may be configured, each with an id. The first seals; any of them opens. Put a
 * new key first, re-encrypt (GalleryStore.reencrypt), then drop the old key.
 *
 * TEMPLATE_ENCRYPTION_KEY is `id:base64,id:base64,…`, or one bare base64 key whose id is then the first
 * 8 hex digits of its SHA-256 (stable across restarts, reveals nothing useful).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { FaceVerifyError } from '../errors.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export interface TemplateKey {
  id: string;
  key: Uint8Array;
}

export interface SealedValue {
  keyId: string;
  bytes: Uint8Array;
}

/**
 * Parses TEMPLATE_ENCRYPTION_KEY; throws with a message naming the bad entry (never the key).
 *
 * @example
 * parseTemplateKeys('k2:' + newKeyB64 + ',k1:' + oldKeyB64); // [{ id: 'k2', … }, { id: 'k1', … }]
 */
export function parseTemplateKeys(raw: string): TemplateKey[] {
  const entries = raw
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e.length > 0);
  const keys = entries.map((entry, i) => {
    const colon = entry.indexOf(':');
    const id = colon >= 0 ? entry.slice(0, colon).trim() : undefined;
    const b64 = colon >= 0 ? entry.slice(colon + 1).trim() : entry;
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) throw new Error(`key ${i + 1} is not base64`);
    const key = Buffer.from(b64, 'base64');
    if (key.length !== KEY_BYTES) {
      throw new Error(`key ${i + 1} has ${key.length} bytes; AES-256 needs ${KEY_BYTES}`);
    }
    if (id !== undefined && !/^[A-Za-z0-9_.-]{1,32}$/.test(id)) {
      throw new Error(`key ${i + 1}: id must be 1-32 of A-Z a-z 0-9 _ . -`);
    }
    return { id: id ?? createHash('sha256').update(key).digest('hex').slice(0, 8), key };
  });
  const ids = new Set(keys.map((k) => k.id));
  if (ids.size !== keys.length) throw new Error('two keys have the same id');
  return keys;
}

/**
 * Seals and opens template bytes.
 *
 * @example
 * const cipher = new TemplateCipher(parseTemplateKeys(process.env.TEMPLATE_ENCRYPTION_KEY ?? ''));
 * const sealed = cipher.seal(bytes, `embedding:${faceId}`);
 * cipher.open(sealed, `embedding:${faceId}`); // the same bytes
 */
export class TemplateCipher {
  private readonly keys: Map<string, Uint8Array>;
  /** The id of the key that seals. */
  readonly primaryKeyId: string;

  constructor(keys: readonly TemplateKey[]) {
    const first = keys[0];
    if (!first) throw new Error('TemplateCipher needs at least one key');
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
    this.primaryKeyId = first.id;
  }

  seal(plain: Uint8Array, context: string): SealedValue {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.primaryKeyId) as Uint8Array, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return {
      keyId: this.primaryKeyId,
      bytes: Buffer.concat([iv, cipher.getAuthTag(), body]),
    };
  }

  /** Throws TEMPLATE_UNREADABLE for an unknown key id, altered bytes or another context. */
  open(sealed: SealedValue, context: string): Uint8Array {
    const key = this.keys.get(sealed.keyId);
    if (!key) {
      throw new FaceVerifyError(
        'TEMPLATE_UNREADABLE',
        `A stored template was sealed with key "${sealed.keyId}", which is not configured`,
        { key_id: sealed.keyId },
      );
    }
    const b = sealed.bytes;
    if (b.byteLength < IV_BYTES + TAG_BYTES) throw unreadable(sealed.keyId);
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, b.subarray(0, IV_BYTES));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(b.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
      return Buffer.concat([decipher.update(b.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    } catch (err) {
      throw unreadable(sealed.keyId, err);
    }
  }
}

function unreadable(keyId: string, cause?: unknown): FaceVerifyError {
  return new FaceVerifyError(
    'TEMPLATE_UNREADABLE',
    'A stored template failed its integrity check (altered data or wrong key)',
    { key_id: keyId },
    { cause },
  );
}
