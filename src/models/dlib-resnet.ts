/**
 * dlib's face recognition ResNet (`dlib_face_recognition_resnet_model_v1`, Davis King 2017, 128-d,
 * 99.38 % on LFW with dlib's own detector and chips), as shipped in TF.js form by the npm package
 * `@vladmandic/face-api` (MIT; weights under `model/`, 6.4 MB, uint8-quantized). Converted to ONNX by
 * src/models/tfjs/face-recognition-net-to-onnx.ts.
 *
 * Alignment. dlib trains and runs this net on 150×150 "face chips" from
 * `get_face_chip_details(shape, 150, 0.25)` (dlib/image_transforms/interpolation.h, used by
 * dnn_face_recognition_ex.cpp): the least-squares similarity mapping a mean face onto the landmarks,
 * where a mean-face point m ∈ [0, 1]² lands in the chip at size · (padding + m) / (1 + 2·padding),
 * i.e. 25 + 100·m at size 150 and padding 0.25. With 68 landmarks it fits 33 of them (eye contours
 * 36–47, nose 27–35, mouth corners and upper lip 48–54, 60–64) using the mean shape of points 17–67
 * hard-coded there. Our detector gives MTCNN's five points instead, so the template below places the
 * matching points of that mean face: each eye centre as the mean of its six contour points (36–41,
 * 42–47), the nose tip (30) and the mouth corners (48, 54). Left and right as seen in the image.
 * Cross-check: dlib's 5-point shape model (eye corners and the base of the nose, same file) puts the
 * midpoint of each eye's corners within 0.6 px of our eye centres and its nose point on point 33, as
 * the 68-point mean face does. Coordinates are pixel-centre indices like the chip's own (dlib maps chip
 * pixel (c, r) through the transform at (c, r)), as {@link alignmentTransform} expects.
 *
 * Normalisation is inside the ONNX graph (folded into the first convolution), so the model takes raw
 * RGB 0..255: mean 0, std 1 here.
 */
import type { Point } from '../core/similarity-transform.js';
import type { EmbedderManifest } from './manifest.js';

/** dlib's mean face (interpolation.h, points 17–67 in [0, 1]²): the points our five landmarks match. */
const MEAN_FACE: Readonly<Record<number, Readonly<Point>>> = {
  30: [0.490127, 0.515625],
  36: [0.121737, 0.216423],
  37: [0.187122, 0.178758],
  38: [0.265825, 0.179852],
  39: [0.334606, 0.231733],
  40: [0.260918, 0.245099],
  41: [0.182743, 0.244077],
  42: [0.645647, 0.231733],
  43: [0.714428, 0.179852],
  44: [0.793132, 0.178758],
  45: [0.858516, 0.216423],
  46: [0.79751, 0.244077],
  47: [0.719335, 0.245099],
  48: [0.254149, 0.780233],
  54: [0.726104, 0.780233],
};

function meanOf(ids: readonly number[]): Point {
  let x = 0;
  let y = 0;
  for (const id of ids) {
    const p = MEAN_FACE[id] as Readonly<Point>;
    x += p[0];
    y += p[1];
  }
  return [x / ids.length, y / ids.length];
}

/**
 * The five-point template (left eye, right eye, nose tip, left and right mouth corner) of a dlib face
 * chip of `size` pixels with `padding`, from dlib's mean face.
 *
 * @example
 * dlibChipTemplate(150, 0.25)[2]; // [74.0127, 76.5625] (the nose tip)
 */
export function dlibChipTemplate(size: number, padding: number): Point[] {
  const face: Point[] = [
    meanOf([36, 37, 38, 39, 40, 41]),
    meanOf([42, 43, 44, 45, 46, 47]),
    meanOf([30]),
    meanOf([48]),
    meanOf([54]),
  ];
  return face.map(([x, y]): Point => [
    (size * (padding + x)) / (1 + 2 * padding),
    (size * (padding + y)) / (1 + 2 * padding),
  ]);
}

/** The template of dlib's 150×150 chips with padding 0.25 (what the recognition net was trained on). */
export const DLIB_TEMPLATE_150: Point[] = Object.freeze(
  dlibChipTemplate(150, 0.25).map((p) => Object.freeze(p)),
) as unknown as Point[];

export const DLIB_RESNET: EmbedderManifest = {
  kind: 'embedder',
  name: 'dlib-resnet',
  description:
    "dlib ResNet-34-style face descriptor (128-d), face-api's TF.js weights; dlib 150×150 chip alignment",
  license:
    'MIT (@vladmandic/face-api); weights: dlib model, released into the public domain by Davis King (trained on FaceScrub, VGG Face and web images, no LFW identities)',
  source: {
    format: 'tfjs',
    architecture: 'face-api-face-recognition-net',
    package: '@vladmandic/face-api',
    path: 'model/face_recognition_model-weights_manifest.json',
    sha256: 'cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b',
    shards: {
      'face_recognition_model.bin': 'b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589',
    },
  },
  inputSize: 150,
  normalization: { mean: 0, std: 1, channels: 'RGB' },
  template: DLIB_TEMPLATE_150,
  embeddingSize: 128,
  // From the LFW View 2 evaluation (6000 pairs, face policy center, MTCNN landmarks, flip): mean of
  // the 10 fold thresholds, and Platt scaling of the cosine scores (cross-validated ECE 0.41 %).
  // dlib's cosines are bunched near 1 (σ 0.065 vs 0.39 for MobileFaceNet), hence the steep Platt slope.
  threshold: 0.9142,
  calibration: {
    method: 'platt',
    a: 168.2912,
    b: -153.2668,
    fittedOn: 'LFW View 2, 6000 pairs, 10-fold accuracy 99.23 % ± 0.29 %',
  },
  flip: true,
};
