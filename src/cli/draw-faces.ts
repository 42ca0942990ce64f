/** Draws face boxes and landmarks onto an image as a PNG (for `faceverify detect --out`). */
import sharp from 'sharp';
import type { DecodedImage } from '../pipeline/decode.js';
import type { DetectedFace } from '../pipeline/mtcnn/mtcnn.js';

export async function drawFaces(
  image: DecodedImage,
  faces: readonly DetectedFace[],
  file: string,
): Promise<void> {
  const stroke = Math.max(2, Math.round(Math.max(image.width, image.height) / 400));
  const shapes = faces.map((f, i) => {
    const { x1, y1, x2, y2 } = f.box;
    const dots = f.landmarks
      .map(
        ([x, y]) => `<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="${stroke * 1.5}" fill="#ffcc00"/>`,
      )
      .join('');
    return (
      `<rect x="${x1.toFixed(1)}" y="${y1.toFixed(1)}" width="${(x2 - x1).toFixed(1)}" height="${(y2 - y1).toFixed(1)}" ` +
      `fill="none" stroke="#00e676" stroke-width="${stroke}"/>` +
      `<text x="${x1.toFixed(1)}" y="${(y1 - stroke * 2).toFixed(1)}" font-family="sans-serif" font-size="${stroke * 8}" ` +
      `fill="#00e676">${i + 1}: ${f.score.toFixed(2)}</text>${dots}`
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}">${shapes.join('')}</svg>`;
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg), top: 0, left: 0 }])
    .png()
    .toFile(file);
}
