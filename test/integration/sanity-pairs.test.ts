/**
 * Real photos of the same person must match and photos of different people must not
 * (../shared/faces/sanity; different-person pairs only within one source, as its README asks).
 * The BBT crops are tight 150×150 faces with no context: like the reference, we pad them with a
 * border before detection.
 */
import sharp from 'sharp';
import { expect, it } from 'vitest';
import { cosineSimilarity } from '../../src/core/similarity.js';
import { describeWithFaces, readFace, readManifest } from '../support/faces.js';
import { useVerifier } from '../support/verifier.js';

interface Item {
  file: string;
  person: string;
  source: string;
  embedding?: Float32Array;
}

async function bytesFor(item: Item): Promise<Buffer> {
  const raw = readFace(`sanity/${item.file}`);
  if (!item.file.startsWith('faceapi_bbt/')) return raw;
  return sharp(raw)
    .extend({ top: 75, bottom: 75, left: 75, right: 75, background: '#808080' })
    .jpeg()
    .toBuffer();
}

describeWithFaces('sanity set: same person matches, different people do not', () => {
  const verifier = useVerifier();
  const items: Item[] = [];

  it('finds exactly one usable face in every photo (largest face policy for the few group shots)', async () => {
    const rows = readManifest('sanity/manifest.csv').filter((r) => !r.file?.includes('aligned_reference'));
    const failures: string[] = [];
    for (const row of rows) {
      const item: Item = { file: row.file ?? '', person: row.person ?? '', source: row.source ?? '' };
      try {
        const r = await verifier().analyze(await bytesFor(item), { facePolicy: 'largest' });
        item.embedding = r.embedding;
      } catch (err) {
        failures.push(`${item.file}: ${(err as Error).message}`);
      }
      items.push(item);
    }
    // A face missed in a real portrait means the detector or the decoder is broken.
    expect(failures).toEqual([]);
  });

  it('decides ≥ 97 % of same-person and ≥ 98.5 % of different-person pairs right', () => {
    const withEmb = items.filter((i) => i.embedding);
    const threshold = verifier().threshold();
    let same = 0;
    let sameRight = 0;
    let diff = 0;
    let diffRight = 0;
    const wrong: string[] = [];
    for (let i = 0; i < withEmb.length; i++) {
      for (let j = i + 1; j < withEmb.length; j++) {
        const a = withEmb[i] as Item;
        const b = withEmb[j] as Item;
        if (a.source !== b.source) continue;
        const cos = cosineSimilarity(a.embedding as Float32Array, b.embedding as Float32Array);
        const isSame = a.person === b.person;
        const right = isSame === cos >= threshold;
        if (isSame) {
          same++;
          if (right) sameRight++;
        } else {
          diff++;
          if (right) diffRight++;
        }
        if (!right) wrong.push(`${a.file} ~ ${b.file}: ${cos.toFixed(3)} (${isSame ? 'same' : 'different'})`);
      }
    }
    console.log(
      `sanity pairs: same ${sameRight}/${same}, different ${diffRight}/${diff}; wrong: ${wrong.join('; ')}`,
    );
    expect(same).toBeGreaterThan(150);
    expect(diff).toBeGreaterThan(1000);
    // If these fail, alignment, normalisation or the converted embedder is off.
    expect(sameRight / same).toBeGreaterThanOrEqual(0.97);
    expect(diffRight / diff).toBeGreaterThanOrEqual(0.985);
  });
});
