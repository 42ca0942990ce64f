/**
 * Every row of ../shared/faces/edge/manifest.csv gives the outcome it expects, with the default
 * (strict) face policy: a photo with one face is analysed; no face, several faces, a face too small
 * and a file that is not a (supported) image each give their own error code. HEIC included.
 */
import { expect, it } from 'vitest';
import { isFaceVerifyError } from '../../src/errors.js';
import { describeWithFaces, HAVE_FACES, readFace, readManifest } from '../support/faces.js';
import { useVerifier } from '../support/verifier.js';

const EXPECTED_CODE: Record<string, string> = {
  one_face: 'OK',
  no_face: 'NO_FACE',
  multi_face: 'MULTIPLE_FACES',
  too_small: 'FACE_TOO_SMALL',
  invalid_image: 'INVALID_IMAGE',
};

const rows = HAVE_FACES ? readManifest('edge/manifest.csv') : [];

describeWithFaces('edge manifest: each hostile or awkward input gets the answer it expects', () => {
  const verifier = useVerifier();

  it('has all the rows of the manifest', () => {
    expect(rows.length).toBeGreaterThanOrEqual(59);
  });

  it.each(rows.map((r) => [r.file ?? '', r.expect ?? ''] as const))('%s → %s', async (file, expectation) => {
    const expected = EXPECTED_CODE[expectation];
    let code = 'OK';
    try {
      await verifier().analyze(readFace(`edge/${file}`));
    } catch (err) {
      if (!isFaceVerifyError(err)) throw err;
      code = err.code;
      // Every error the caller sees is a 4xx: its input was at fault, not the service.
      expect(err.status).toBeGreaterThanOrEqual(400);
      expect(err.status).toBeLessThan(500);
    }
    expect(code).toBe(expected);
  });
});
