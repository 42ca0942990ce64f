/**
 * face-api's FaceRecognitionNet (dlib's `dlib_face_recognition_resnet_model_v1`, a 29-conv ResNet with
 * 128-d output, King 2017) as an ONNX graph, built from its TF.js weights.
 *
 * Source of truth for the forward pass: `@vladmandic/face-api` 1.7.15, `src/faceRecognitionNet/`
 * (FaceRecognitionNet.ts, residualLayer.ts, convLayer.ts, scaleLayer.ts). The weights manifest has no
 * graph, so the topology is written out here:
 *
 * - input: NHWC RGB 150×150, x ← (x − [122.782, 117.001, 104.298]) / 255 (face-api divides by 255;
 *   dlib's own `input_rgb_image` divides by 256);
 * - conv layer = conv2d + bias, then a per-channel affine "scale" layer (dlib's affine_ = frozen batch
 *   norm), then ReLU or not; `conv32_down`: 7×7 stride 2 VALID, then max-pool 3×3 stride 2 VALID;
 * - residual: conv 3×3 SAME + ReLU, conv 3×3 SAME, + x, ReLU;
 * - residual down: conv 3×3 stride 2 VALID + ReLU, conv 3×3 SAME; shortcut avg-pool 2×2 stride 2
 *   VALID of x, zero-padded along channels to the new width; when the conv path is one cell smaller
 *   than the pooled shortcut (odd sizes: 8 → 3 vs 4, 4 → 1 vs 2), a zero row and column are appended
 *   at its bottom and right; sum, ReLU;
 * - stages 32 (down + 3), 64 (down + 3), 128 (down + 2), 256 (down + 2 + down), spatial mean, then a
 *   256×128 matrix. The descriptor is not normalised (dlib compares Euclidean distances of raw ones).
 *
 * The ONNX graph is NCHW and takes RAW pixel values 0..255 in RGB order, [N, 3, 150, 150]: the mean
 * subtraction and the 1/255 are folded into the first convolution, which is exact because it has no
 * padding (every window sees only real pixels, so Σ W·(x − m)·k = k·Σ W·x − k·Σ W·m). Each scale layer
 * is folded into its convolution: (conv(x, W) + b)·s + t = conv(x, W·s) + (b·s + t). Folding is done in
 * double precision and rounds once to float32. TF.js filters are HWIO; ONNX wants OIHW.
 */
import { FaceVerifyError } from '../../errors.js';
import { OnnxGraphBuilder } from '../onnx/onnx-builder.js';
import type { TfjsTensor, TfjsWeightMap } from './tfjs-weights.js';

/** Input side of the network in pixels. */
export const FACE_RECOGNITION_NET_INPUT = 150;
/** Descriptor length. */
export const FACE_RECOGNITION_NET_OUTPUT = 128;
/** Per-channel RGB mean subtracted by face-api (and dlib) before scaling. */
export const FACE_RECOGNITION_NET_MEAN_RGB: readonly [number, number, number] = [122.782, 117.001, 104.298];

export interface FaceRecognitionNetToOnnxOptions {
  /** Graph name in the ONNX file. */
  name: string;
  /** Factor applied after the mean subtraction: face-api's 1/255 by default (dlib uses 1/256). */
  pixelScale?: number;
}

/** The residual blocks in forward order, with whether each one downsamples. */
const BLOCKS: readonly { name: string; down: boolean }[] = [
  { name: 'conv32_1', down: false },
  { name: 'conv32_2', down: false },
  { name: 'conv32_3', down: false },
  { name: 'conv64_down', down: true },
  { name: 'conv64_1', down: false },
  { name: 'conv64_2', down: false },
  { name: 'conv64_3', down: false },
  { name: 'conv128_down', down: true },
  { name: 'conv128_1', down: false },
  { name: 'conv128_2', down: false },
  { name: 'conv256_down', down: true },
  { name: 'conv256_1', down: false },
  { name: 'conv256_2', down: false },
  { name: 'conv256_down_out', down: true },
];

interface Activation {
  name: string;
  channels: number;
  /** Spatial side (the net is square throughout). */
  size: number;
}

/** Output side of a VALID window op. */
function validSize(size: number, kernel: number, stride: number): number {
  return Math.floor((size - kernel) / stride) + 1;
}

/**
 * Builds the ONNX model of face-api's face recognition net from its decoded TF.js weights.
 *
 * @example
 * const weights = await readTfjsWeights(`${faceApiDir}/model/face_recognition_model-weights_manifest.json`);
 * const onnx = faceRecognitionNetToOnnx(weights, { name: 'dlib-resnet' }); // [N,3,150,150] → [N,128]
 */
export function faceRecognitionNetToOnnx(
  weights: TfjsWeightMap,
  options: FaceRecognitionNetToOnnxOptions,
): Uint8Array {
  return new Builder(weights, options).run();
}

class Builder {
  private readonly b: OnnxGraphBuilder;
  private readonly used = new Set<string>();

  constructor(
    private readonly weights: TfjsWeightMap,
    private readonly opts: FaceRecognitionNetToOnnxOptions,
  ) {
    this.b = new OnnxGraphBuilder(opts.name);
  }

  run(): Uint8Array {
    const size = FACE_RECOGNITION_NET_INPUT;
    this.b.addInput('input', ['N', 3, size, size]);
    let x: Activation = { name: 'input', channels: 3, size };
    x = this.convLayer(x, 'conv32_down', { stride: 2, relu: true, normalizeInput: true });
    x = {
      ...x,
      name: this.b.node('MaxPool', [x.name], { kernel_shape: [3, 3], strides: [2, 2] }),
      size: validSize(x.size, 3, 2),
    };
    for (const block of BLOCKS)
      x = block.down ? this.residualDown(x, block.name) : this.residual(x, block.name);

    const pooled = this.b.node('GlobalAveragePool', [x.name]);
    const flat = this.b.node('Flatten', [pooled], { axis: 1 });
    const fc = this.weight('fc', [x.channels, FACE_RECOGNITION_NET_OUTPUT]);
    const fcName = this.b.addFloat('fc', fc.shape, Float32Array.from(fc.data));
    this.b.node('MatMul', [flat, fcName], {}, 'embedding');
    this.b.addOutput('embedding', ['N', FACE_RECOGNITION_NET_OUTPUT]);

    const unused = [...this.weights.keys()].filter((k) => !this.used.has(k));
    if (unused.length > 0) {
      throw new FaceVerifyError(
        'MODEL_INVALID',
        `face recognition net: ${unused.length} weight(s) not part of the architecture (${unused.slice(0, 3).join(', ')}…)`,
      );
    }
    return this.b.toBytes();
  }

  private weight(name: string, shape: readonly number[]): TfjsTensor {
    const t = this.weights.get(name);
    if (!t || t.dtype !== 'float32') {
      throw new FaceVerifyError('MODEL_INVALID', `face recognition net: float32 weight "${name}" is missing`);
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new FaceVerifyError(
        'MODEL_INVALID',
        `face recognition net: weight "${name}" has shape [${t.shape.join(', ')}], expected [${shape.join(', ')}]`,
      );
    }
    this.used.add(name);
    return t;
  }

  /** Conv + bias + scale (+ ReLU), folded into one Conv node. */
  private convLayer(
    x: Activation,
    prefix: string,
    opts: { stride: 1 | 2; relu: boolean; normalizeInput?: boolean },
  ): Activation {
    const filters = this.weights.get(`${prefix}/conv/filters`);
    const [kh, kw, cin, cout] = (filters?.shape ?? []) as (number | undefined)[];
    if (kh === undefined || kw === undefined || cin === undefined || cout === undefined || kh !== kw) {
      throw new FaceVerifyError('MODEL_INVALID', `face recognition net: no square 4-D filters for ${prefix}`);
    }
    const w = this.weight(`${prefix}/conv/filters`, [kh, kw, x.channels, cout]).data;
    const bias = this.weight(`${prefix}/conv/bias`, [cout]).data;
    const scale = this.weight(`${prefix}/scale/weights`, [cout]).data;
    const shift = this.weight(`${prefix}/scale/biases`, [cout]).data;

    const k = opts.normalizeInput ? (this.opts.pixelScale ?? 1 / 255) : 1;
    const mean = opts.normalizeInput ? FACE_RECOGNITION_NET_MEAN_RGB : [0, 0, 0];
    const oihw = new Float32Array(cout * cin * kh * kw);
    const foldedBias = new Float32Array(cout);
    for (let o = 0; o < cout; o++) {
      const s = scale[o] as number;
      let meanTerm = 0;
      for (let i = 0; i < cin; i++) {
        for (let y = 0; y < kh; y++) {
          for (let z = 0; z < kw; z++) {
            const v = w[((y * kw + z) * cin + i) * cout + o] as number;
            oihw[((o * cin + i) * kh + y) * kw + z] = v * k * s;
            meanTerm += v * (mean[i] ?? 0);
          }
        }
      }
      foldedBias[o] = ((bias[o] as number) - k * meanTerm) * s + (shift[o] as number);
    }
    // SAME at stride 1 with an odd kernel pads (k − 1) / 2 on every side; the strided convs are VALID.
    const pad = opts.stride === 1 ? (kh - 1) / 2 : 0;
    let out = this.b.node(
      'Conv',
      [
        x.name,
        this.b.addFloat(`${prefix}_w`, [cout, cin, kh, kw], oihw),
        this.b.addFloat(`${prefix}_b`, [cout], foldedBias),
      ],
      {
        kernel_shape: [kh, kw],
        strides: [opts.stride, opts.stride],
        pads: [pad, pad, pad, pad],
      },
    );
    if (opts.relu) out = this.b.node('Relu', [out]);
    const size = opts.stride === 1 ? x.size : validSize(x.size, kh, opts.stride);
    return { name: out, channels: cout, size };
  }

  private residual(x: Activation, prefix: string): Activation {
    const a = this.convLayer(x, `${prefix}/conv1`, { stride: 1, relu: true });
    const c = this.convLayer(a, `${prefix}/conv2`, { stride: 1, relu: false });
    if (c.channels !== x.channels) {
      throw new FaceVerifyError('MODEL_INVALID', `face recognition net: ${prefix} changes the width`);
    }
    return { ...c, name: this.b.node('Relu', [this.b.node('Add', [c.name, x.name])]) };
  }

  private residualDown(x: Activation, prefix: string): Activation {
    const a = this.convLayer(x, `${prefix}/conv1`, { stride: 2, relu: true });
    let c = this.convLayer(a, `${prefix}/conv2`, { stride: 1, relu: false });
    let shortcut: Activation = {
      name: this.b.node('AveragePool', [x.name], { kernel_shape: [2, 2], strides: [2, 2] }),
      channels: x.channels,
      size: validSize(x.size, 2, 2),
    };
    if (shortcut.channels !== c.channels) {
      // NCHW pads: [n, c, h, w begin, n, c, h, w end]; zeros appended after the existing channels.
      shortcut = {
        ...shortcut,
        name: this.pad(shortcut.name, [0, 0, 0, 0, 0, c.channels - shortcut.channels, 0, 0]),
      };
    }
    if (shortcut.size !== c.size) {
      if (shortcut.size !== c.size + 1) {
        throw new FaceVerifyError(
          'MODEL_UNSUPPORTED',
          `face recognition net: ${prefix} shortcut ${shortcut.size} vs conv ${c.size} cannot be aligned`,
        );
      }
      c = { ...c, name: this.pad(c.name, [0, 0, 0, 0, 0, 0, 1, 1]), size: shortcut.size };
    }
    return { ...c, name: this.b.node('Relu', [this.b.node('Add', [shortcut.name, c.name])]) };
  }

  private pad(input: string, pads: number[]): string {
    return this.b.node('Pad', [input, this.b.addInt64('pads', pads)], { mode: 'constant' });
  }
}
