/**
 * FaceNet's Inception-ResNet-v1 as an ONNX graph, built from a PyTorch `state_dict` with the layer
 * names of facenet-pytorch (`models/inception_resnet_v1.py`, MIT), whose VGGFace2 weights are David
 * Sandberg's TensorFlow FaceNet (20180402-114759) ported to PyTorch.
 *
 * Architecture (Szegedy et al. 2016, "Inception-v4, Inception-ResNet and the Impact of Residual
 * Connections on Learning", Inception-ResNet-v1 as in FaceNet): a stem of BasicConv2d layers and one
 * max pool, 5 × Block35 (residual scale 0.17), Mixed_6a, 10 × Block17 (0.10), Mixed_7a, 5 × Block8
 * (0.20), a last Block8 (scale 1, no ReLU), global average pooling, a linear layer without bias, 1-D
 * batch norm and L2 normalisation. Dropout is the identity at inference; the classifier (`logits.*`)
 * is not used.
 *
 * - BasicConv2d = Conv2d (no bias) → BatchNorm2d (eps 0.001) → ReLU. The batch norm is folded into the
 *   convolution: W' = W·γ/√(σ² + ε), b' = β − μ·γ/√(σ² + ε) (computed in float64).
 * - A residual block computes relu(x + scale · conv2d(concat(branches))); the scale is folded into
 *   `conv2d`'s weights and bias.
 * - `last_bn` (BatchNorm1d, eps 0.001) is folded into `last_linear` as a Gemm with bias.
 * - L2 normalisation is x / max(‖x‖₂, 1e-12), as `torch.nn.functional.normalize`.
 *
 * Tensors are NCHW; input `[N, 3, S, S]` RGB standardised as (v − 127.5) / 128 (facenet-pytorch's
 * `fixed_image_standardization`), S = 160 for the published weights; output `[N, E]`, E = 512.
 *
 * Channel widths are read from the weights (and checked for consistency), so a narrower network with
 * the same structure and names builds too (the tests use one); layer names, kernel sizes, strides,
 * paddings, block counts and scales are fixed here, as in the Python module.
 */
import { FaceVerifyError } from '../../errors.js';
import { OnnxGraphBuilder } from '../onnx/onnx-builder.js';
import type { StateDict, TorchTensor } from '../pytorch/torch-checkpoint.js';

/** One convolution of the architecture: name relative to its block, kernel [h, w], stride, padding [h, w]. */
interface ConvSpec {
  name: string;
  kernel: [number, number];
  stride: number;
  pad: [number, number];
}

type Branch = ConvSpec[] | 'maxpool';

const BN_EPS = 0.001;
const L2_EPS = 1e-12;

function conv(
  name: string,
  kernel: number | [number, number],
  stride = 1,
  pad: number | [number, number] = 0,
): ConvSpec {
  return {
    name,
    kernel: typeof kernel === 'number' ? [kernel, kernel] : kernel,
    stride,
    pad: typeof pad === 'number' ? [pad, pad] : pad,
  };
}

const BLOCK35: Branch[] = [
  [conv('branch0', 1)],
  [conv('branch1.0', 1), conv('branch1.1', 3, 1, 1)],
  [conv('branch2.0', 1), conv('branch2.1', 3, 1, 1), conv('branch2.2', 3, 1, 1)],
];
const BLOCK17: Branch[] = [
  [conv('branch0', 1)],
  [conv('branch1.0', 1), conv('branch1.1', [1, 7], 1, [0, 3]), conv('branch1.2', [7, 1], 1, [3, 0])],
];
const BLOCK8: Branch[] = [
  [conv('branch0', 1)],
  [conv('branch1.0', 1), conv('branch1.1', [1, 3], 1, [0, 1]), conv('branch1.2', [3, 1], 1, [1, 0])],
];
const MIXED_6A: Branch[] = [
  [conv('branch0', 3, 2)],
  [conv('branch1.0', 1), conv('branch1.1', 3, 1, 1), conv('branch1.2', 3, 2)],
  'maxpool',
];
const MIXED_7A: Branch[] = [
  [conv('branch0.0', 1), conv('branch0.1', 3, 2)],
  [conv('branch1.0', 1), conv('branch1.1', 3, 2)],
  [conv('branch2.0', 1), conv('branch2.1', 3, 1, 1), conv('branch2.2', 3, 2)],
  'maxpool',
];

/** The network in order, as facenet-pytorch's `InceptionResnetV1.forward`. */
type Stage =
  | { kind: 'conv'; spec: ConvSpec }
  | { kind: 'maxpool' }
  | { kind: 'mixed'; name: string; branches: Branch[] }
  | { kind: 'residual'; name: string; branches: Branch[]; scale: number; relu: boolean };

const repeat = (name: string, count: number, branches: Branch[], scale: number): Stage[] =>
  Array.from({ length: count }, (_, i) => ({
    kind: 'residual' as const,
    name: `${name}.${i}`,
    branches,
    scale,
    relu: true,
  }));

const INCEPTION_RESNET_V1: readonly Stage[] = [
  { kind: 'conv', spec: conv('conv2d_1a', 3, 2) },
  { kind: 'conv', spec: conv('conv2d_2a', 3, 1) },
  { kind: 'conv', spec: conv('conv2d_2b', 3, 1, 1) },
  { kind: 'maxpool' }, // maxpool_3a
  { kind: 'conv', spec: conv('conv2d_3b', 1) },
  { kind: 'conv', spec: conv('conv2d_4a', 3, 1) },
  { kind: 'conv', spec: conv('conv2d_4b', 3, 2) },
  ...repeat('repeat_1', 5, BLOCK35, 0.17),
  { kind: 'mixed', name: 'mixed_6a', branches: MIXED_6A },
  ...repeat('repeat_2', 10, BLOCK17, 0.1),
  { kind: 'mixed', name: 'mixed_7a', branches: MIXED_7A },
  ...repeat('repeat_3', 5, BLOCK8, 0.2),
  { kind: 'residual', name: 'block8', branches: BLOCK8, scale: 1, relu: false },
];

export interface BuildOptions {
  /** Square input side in pixels (160 for the published weights). */
  inputSize?: number;
  /** Graph name stored in the ONNX file. */
  name?: string;
}

export interface BuiltInceptionResnetV1 {
  onnx: Uint8Array;
  inputSize: number;
  embeddingSize: number;
  /** Input and output tensor names. */
  input: string;
  output: string;
}

/** State_dict entries the embedding network does not use. */
const IGNORED = [/^logits\./, /\.num_batches_tracked$/];

function invalid(message: string): FaceVerifyError {
  return new FaceVerifyError('MODEL_INVALID', `Not an InceptionResnetV1 state_dict: ${message}`);
}

/** Activation shape as the graph is built: channels and spatial size. */
interface Shape {
  c: number;
  h: number;
  w: number;
}

class Builder {
  readonly g: OnnxGraphBuilder;
  private readonly used = new Set<string>();

  constructor(
    private readonly state: StateDict,
    name: string,
  ) {
    this.g = new OnnxGraphBuilder(name);
  }

  tensor(key: string, shape: (number | undefined)[]): TorchTensor {
    const t = this.state.get(key);
    if (!t) throw invalid(`missing "${key}"`);
    const ok = t.shape.length === shape.length && shape.every((d, i) => d === undefined || t.shape[i] === d);
    if (!ok) {
      const want = shape.map((d) => d ?? '?').join(', ');
      throw invalid(`"${key}" has shape [${t.shape.join(', ')}], expected [${want}]`);
    }
    this.used.add(key);
    return t;
  }

  unusedKeys(): string[] {
    return [...this.state.keys()].filter((k) => !this.used.has(k) && !IGNORED.some((re) => re.test(k)));
  }

  /** Folds `prefix.bn` into `prefix.conv` and emits Conv (+ ReLU). */
  basicConv(x: string, s: Shape, prefix: string, spec: ConvSpec): [string, Shape] {
    const [kh, kw] = spec.kernel;
    const w = this.tensor(`${prefix}.conv.weight`, [undefined, s.c, kh, kw]);
    const out = w.shape[0] as number;
    const bn = this.batchNorm(`${prefix}.bn`, out);
    const weight = new Float32Array(w.data.length);
    const per = w.data.length / out;
    const bias = new Float32Array(out);
    for (let o = 0; o < out; o++) {
      const k = bn.scale[o] as number;
      for (let i = 0; i < per; i++) weight[o * per + i] = (w.data[o * per + i] as number) * k;
      bias[o] = bn.shift[o] as number;
    }
    const [y, shape] = this.conv(x, s, prefix, spec, w.shape, weight, bias);
    return [this.g.node('Relu', [y], {}, this.g.name(`${prefix}.relu`)), shape];
  }

  /** γ/√(σ² + ε) and β − μ·γ/√(σ² + ε), in float64. */
  batchNorm(prefix: string, n: number): { scale: Float64Array; shift: Float64Array } {
    const gamma = this.tensor(`${prefix}.weight`, [n]).data;
    const beta = this.tensor(`${prefix}.bias`, [n]).data;
    const mean = this.tensor(`${prefix}.running_mean`, [n]).data;
    const variance = this.tensor(`${prefix}.running_var`, [n]).data;
    const scale = new Float64Array(n);
    const shift = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      scale[i] = (gamma[i] as number) / Math.sqrt((variance[i] as number) + BN_EPS);
      shift[i] = (beta[i] as number) - (mean[i] as number) * (scale[i] as number);
    }
    return { scale, shift };
  }

  conv(
    x: string,
    s: Shape,
    prefix: string,
    spec: ConvSpec,
    dims: number[],
    weight: Float32Array,
    bias: Float32Array,
  ): [string, Shape] {
    const [kh, kw] = spec.kernel;
    const [ph, pw] = spec.pad;
    const h = Math.floor((s.h + 2 * ph - kh) / spec.stride) + 1;
    const w = Math.floor((s.w + 2 * pw - kw) / spec.stride) + 1;
    if (h < 1 || w < 1) throw invalid(`the input is too small for "${prefix}"`);
    const y = this.g.node(
      'Conv',
      [
        x,
        this.g.addFloat(`${prefix}.weight`, dims, weight),
        this.g.addFloat(`${prefix}.bias`, [dims[0] as number], bias),
      ],
      {
        kernel_shape: [kh, kw],
        strides: [spec.stride, spec.stride],
        pads: [ph, pw, ph, pw],
      },
      this.g.name(prefix),
    );
    return [y, { c: dims[0] as number, h, w }];
  }

  maxPool(x: string, s: Shape, name: string): [string, Shape] {
    const h = Math.floor((s.h - 3) / 2) + 1;
    const w = Math.floor((s.w - 3) / 2) + 1;
    if (h < 1 || w < 1) throw invalid(`the input is too small for "${name}"`);
    const y = this.g.node('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2] }, this.g.name(name));
    return [y, { c: s.c, h, w }];
  }

  /** Runs the branches on x and concatenates them along channels. */
  branches(x: string, s: Shape, prefix: string, branches: Branch[]): [string, Shape] {
    const outs: string[] = [];
    let c = 0;
    let spatial: Shape | undefined;
    branches.forEach((branch, i) => {
      let y = x;
      let shape = s;
      if (branch === 'maxpool') [y, shape] = this.maxPool(x, s, `${prefix}.branch${i}`);
      else for (const spec of branch) [y, shape] = this.basicConv(y, shape, `${prefix}.${spec.name}`, spec);
      if (spatial && (spatial.h !== shape.h || spatial.w !== shape.w)) {
        throw invalid(`the branches of "${prefix}" disagree in size`);
      }
      spatial = shape;
      c += shape.c;
      outs.push(y);
    });
    const { h, w } = spatial as Shape;
    return [this.g.node('Concat', outs, { axis: 1 }, this.g.name(`${prefix}.cat`)), { c, h, w }];
  }

  /** relu?(x + scale · conv2d(concat(branches))), the scale folded into conv2d. */
  residual(x: string, s: Shape, stage: Extract<Stage, { kind: 'residual' }>): [string, Shape] {
    const [cat, catShape] = this.branches(x, s, stage.name, stage.branches);
    const w = this.tensor(`${stage.name}.conv2d.weight`, [s.c, catShape.c, 1, 1]);
    const b = this.tensor(`${stage.name}.conv2d.bias`, [s.c]);
    const weight = Float32Array.from(w.data, (v) => v * stage.scale);
    const bias = Float32Array.from(b.data, (v) => v * stage.scale);
    const [up] = this.conv(cat, catShape, `${stage.name}.conv2d`, conv('conv2d', 1), w.shape, weight, bias);
    const sum = this.g.node('Add', [up, x], {}, this.g.name(`${stage.name}.add`));
    return [stage.relu ? this.g.node('Relu', [sum], {}, this.g.name(`${stage.name}.relu`)) : sum, s];
  }

  /** avgpool_1a → flatten → last_linear with last_bn folded in → L2 normalisation. */
  head(x: string, s: Shape): { output: string; embeddingSize: number } {
    const pooled = this.g.node('GlobalAveragePool', [x], {}, this.g.name('avgpool_1a'));
    const flat = this.g.node('Flatten', [pooled], { axis: 1 }, this.g.name('flatten'));
    const w = this.tensor('last_linear.weight', [undefined, s.c]);
    const e = w.shape[0] as number;
    const bn = this.batchNorm('last_bn', e);
    const weight = new Float32Array(w.data.length);
    const bias = new Float32Array(e);
    for (let o = 0; o < e; o++) {
      for (let i = 0; i < s.c; i++)
        weight[o * s.c + i] = (w.data[o * s.c + i] as number) * (bn.scale[o] as number);
      bias[o] = bn.shift[o] as number;
    }
    const linear = this.g.node(
      'Gemm',
      [
        flat,
        this.g.addFloat('last_linear.weight', [e, s.c], weight),
        this.g.addFloat('last_linear.bias', [e], bias),
      ],
      { transB: 1 },
      this.g.name('last_bn'),
    );
    const norm = this.g.node('ReduceL2', [linear], { axes: [1], keepdims: 1 }, this.g.name('l2'));
    const floor = this.g.addFloat('l2_eps', [1], Float32Array.of(L2_EPS));
    const safe = this.g.node('Max', [norm, floor], {}, this.g.name('l2_safe'));
    const output = this.g.node('Div', [linear, safe], {}, 'embedding');
    return { output, embeddingSize: e };
  }
}

/**
 * Builds the ONNX graph of InceptionResnetV1 from its state_dict.
 *
 * @example
 * const state = readTorchCheckpoint(await readFile('20180402-114759-vggface2.pt'));
 * const { onnx, embeddingSize } = buildInceptionResnetV1(state); // 512
 */
export function buildInceptionResnetV1(state: StateDict, options: BuildOptions = {}): BuiltInceptionResnetV1 {
  const inputSize = options.inputSize ?? 160;
  if (!Number.isInteger(inputSize) || inputSize < 1 || inputSize > 4096) {
    throw new FaceVerifyError(
      'INVALID_INPUT',
      `input size ${inputSize} is not a whole number from 1 to 4096`,
    );
  }
  const b = new Builder(state, options.name ?? 'inception_resnet_v1');
  const input = 'input';
  b.g.addInput(input, ['batch', 3, inputSize, inputSize]);
  let x = input;
  let s: Shape = { c: 3, h: inputSize, w: inputSize };
  for (const stage of INCEPTION_RESNET_V1) {
    if (stage.kind === 'conv') [x, s] = b.basicConv(x, s, stage.spec.name, stage.spec);
    else if (stage.kind === 'maxpool') [x, s] = b.maxPool(x, s, 'maxpool_3a');
    else if (stage.kind === 'mixed') [x, s] = b.branches(x, s, stage.name, stage.branches);
    else [x, s] = b.residual(x, s, stage);
  }
  const { output, embeddingSize } = b.head(x, s);
  const unused = b.unusedKeys();
  if (unused.length > 0) {
    const shown = unused.slice(0, 5).map((k) => `"${k}"`);
    throw invalid(
      `unexpected ${shown.join(', ')}${unused.length > 5 ? ` and ${unused.length - 5} more` : ''}`,
    );
  }
  b.g.addOutput(output, ['batch', embeddingSize]);
  return { onnx: b.g.toBytes(), inputSize, embeddingSize, input, output };
}
