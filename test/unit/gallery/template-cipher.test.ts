// TemplateCipher: round trip, rotation, and every kind of tampering failing with TEMPLATE_UNREADABLE.
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { FaceVerifyError } from '../../../src/errors.js';
import { parseTemplateKeys, TemplateCipher } from '../../../src/gallery/template-cipher.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(FaceVerifyError);
    return (err as FaceVerifyError).code;
  }
  throw new Error('did not throw');
}

describe('TemplateCipher', () => {
  it('round-trips, and refuses altered bytes, another context, another key', () => {
    // Wrong if it fails: a template would not survive storage, or tampering would yield garbage.
    const cipher = new TemplateCipher([{ id: 'k1', key: k1 }]);
    const plain = new Uint8Array(new Float32Array([0.1, -0.2, 0.3]).buffer);
    const sealed = cipher.seal(plain, 'embedding:f1');
    expect(sealed.keyId).toBe('k1');
    expect(sealed.bytes.byteLength).toBe(12 + 16 + plain.byteLength);
    expect([...cipher.open(sealed, 'embedding:f1')]).toEqual([...plain]);
    expect(
      Buffer.from(cipher.seal(plain, 'embedding:f1').bytes).equals(Buffer.from(sealed.bytes)),
      'fresh IV',
    ).toBe(false);
    for (let i = 0; i < sealed.bytes.byteLength; i++) {
      const altered = Uint8Array.from(sealed.bytes);
      altered[i] = (altered[i] as number) ^ 1;
      expect(code(() => cipher.open({ keyId: 'k1', bytes: altered }, 'embedding:f1'))).toBe(
        'TEMPLATE_UNREADABLE',
      );
    }
    expect(code(() => cipher.open(sealed, 'embedding:f2'))).toBe('TEMPLATE_UNREADABLE');
    expect(code(() => cipher.open({ ...sealed, bytes: sealed.bytes.subarray(0, 20) }, 'embedding:f1'))).toBe(
      'TEMPLATE_UNREADABLE',
    );
    expect(code(() => cipher.open({ ...sealed, keyId: 'k9' }, 'embedding:f1'))).toBe('TEMPLATE_UNREADABLE');
    const impostor = new TemplateCipher([{ id: 'k1', key: k2 }]);
    expect(code(() => impostor.open(sealed, 'embedding:f1'))).toBe('TEMPLATE_UNREADABLE');
  });

  it('seals with the first key and opens with any (rotation)', () => {
    // Wrong if it fails: adding a new key would make the old templates unreadable.
    const old = new TemplateCipher([{ id: 'k1', key: k1 }]);
    const rotated = new TemplateCipher([
      { id: 'k2', key: k2 },
      { id: 'k1', key: k1 },
    ]);
    const sealed = old.seal(new Uint8Array([1, 2, 3]), 'crop:f');
    expect([...rotated.open(sealed, 'crop:f')]).toEqual([1, 2, 3]);
    expect(rotated.seal(new Uint8Array([1]), 'crop:f').keyId).toBe('k2');
  });

  it('parses TEMPLATE_ENCRYPTION_KEY: ids, a bare key, and bad entries', () => {
    // Wrong if it fails: a short or mistyped key would be accepted, or a bare key's id would change
    // between restarts (its templates unreadable).
    const keys = parseTemplateKeys(`k2:${k2.toString('base64')}, k1:${k1.toString('base64')}`);
    expect(keys.map((k) => k.id)).toEqual(['k2', 'k1']);
    const bare = parseTemplateKeys(k1.toString('base64'));
    expect(bare[0]?.id).toMatch(/^[0-9a-f]{8}$/);
    expect(parseTemplateKeys(k1.toString('base64'))[0]?.id).toBe(bare[0]?.id);
    expect(() => parseTemplateKeys(randomBytes(16).toString('base64'))).toThrow(/16 bytes/);
    expect(() => parseTemplateKeys('k1:not base64!')).toThrow(/not base64/);
    expect(() => parseTemplateKeys(`a:${k1.toString('base64')},a:${k2.toString('base64')}`)).toThrow(
      /same id/,
    );
  });
});
