/**
 * What several benchmarks share: the verify request they send — two real photos resized in memory to
 * ~640×480 (never written) as a multipart upload — and samples of LFW crops.
 */
import { readdirSync } from 'node:fs';
import sharp, { type Sharp } from 'sharp';
import { FACES_DIR } from './faces-dir.js';

/** `n` LFW crops (250×250) of different people, spread over the alphabet: paths under FACES_DIR. */
export function lfwSample(n: number): string[] {
  const people = readdirSync(`${FACES_DIR}/lfw/images`).sort();
  return Array.from({ length: n }, (_, k) => {
    const person = people[Math.floor((k * people.length) / n)] as string;
    return `lfw/images/${person}/${person}_0001.jpg`;
  });
}

/** A photo of the shared set as a ~640×480 JPEG. */
export function photo640(relative: string): Promise<Buffer> {
  return sharp(`${FACES_DIR}/${relative}`)
    .resize(640, 480, { fit: 'cover' })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** The two photos every throughput benchmark verifies (the same person). */
export async function benchPair(): Promise<[Buffer, Buffer]> {
  return Promise.all([
    photo640('sanity/face_recognition/obama/obama-480p.jpg'),
    photo640('sanity/face_recognition/obama/obama2.jpg'),
  ]);
}

/** A `POST /verify` body uploading `image1` and `image2`. */
export function multipartUpload(image1: Buffer, image2: Buffer): { body: Buffer; contentType: string } {
  const boundary = 'benchboundary';
  const part = (name: string, bytes: Buffer): Buffer =>
    Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"; filename="${name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`,
      ),
      bytes,
      Buffer.from('\r\n'),
    ]);
  return {
    body: Buffer.concat([part('image1', image1), part('image2', image2), Buffer.from(`--${boundary}--\r\n`)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
  };
}

/**
 * A phone-sized photo made from real ones, in memory: a portrait of the shared set scaled to fill
 * `share` of the height of a `width`×`height` landscape photo (edge/no_face/horses.jpg, no people),
 * with ±3 grey levels of noise so the JPEG's size (and so its entropy decoding) is like a camera's
 * rather than an upscaled photo's, encoded at quality 92.
 */
export async function largePhoto(
  portrait: string,
  width: number,
  height: number,
  share = 0.85,
): Promise<Buffer> {
  const rgb = (s: Sharp) => s.rotate().removeAlpha().toColourspace('srgb');
  const background = await rgb(sharp(`${FACES_DIR}/edge/no_face/horses.jpg`))
    .resize(width, height, { fit: 'cover' })
    .raw()
    .toBuffer();
  const face = await rgb(sharp(`${FACES_DIR}/${portrait}`))
    .resize({ height: Math.round(height * share), width: Math.round(width * 0.9), fit: 'inside' })
    .png()
    .toBuffer({ resolveWithObject: true });
  const raw = { width, height, channels: 3 as const };
  const pixels = await sharp(background, { raw })
    .composite([
      {
        input: face.data,
        left: Math.round((width - face.info.width) / 2),
        top: Math.round((height - face.info.height) / 3),
      },
    ])
    .removeAlpha()
    .raw()
    .toBuffer();
  let seed = width * 7919 + height;
  for (let i = 0; i < pixels.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    pixels[i] = Math.max(0, Math.min(255, (pixels[i] as number) + ((seed >> 16) % 7) - 3));
  }
  return sharp(pixels, { raw }).jpeg({ quality: 92 }).toBuffer();
}
