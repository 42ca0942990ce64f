/**
 * A reference interpreter for TensorFlow Lite graphs, used only by tests to check our converted ONNX
 * models numerically. It knows nothing about ONNX: it walks the operators of a `TfliteGraph` (from
 * `src/models/tflite/tflite-reader.ts`) in order and computes each one with plain loops.
 *
 * Semantics follow TFLite's reference kernels (tensorflow/lite/kernels/internal/reference/*):
 * - Layout is NHWC float32 throughout. CONV_2D weights are OHWI `[Cout, KH, KW, Cin]`; DEPTHWISE_CONV_2D
 *   weights are `[1, KH, KW, Cin·mult]` with output channel `c·mult + m`; FULLY_CONNECTED weights are
 *   `[out, in]` and the input is flattened in NHWC order.
 * - Padding enum: 0 = SAME, 1 = VALID. TF SAME pads `total = max((ceil(in/s)-1)·s + (k-1)·d + 1 - in, 0)`
 *   with `floor(total/2)` before and the rest after, so SAME is asymmetric when `total` is odd.
 *   MAX_POOL_2D ignores padded cells (the max is over valid cells only).
 * - Binary ops broadcast like numpy (shapes aligned on the right).
 *
 * Shapes are computed from the actual input, never from the declared tensor shapes, so a batch or a
 * spatial size other than the declared one works (P-Net at any image size, MobileFaceNet at batch 1).
 * Correctness first: no tiling, no SIMD, sums accumulate in float64 and are stored as float32.
 */
import { BuiltinOp, BuiltinOpName } from '../../src/models/tflite/tflite-reader.js';
import type { TfliteGraph, TfliteOperator } from '../../src/models/tflite/tflite-reader.js';

/** A dense float32 tensor in row-major order. */
export interface RefTensor {
  data: Float32Array;
  shape: number[];
}

const PADDING_SAME = 0;
const PADDING_VALID = 1;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function fail(message: string): never {
  throw new Error(`tflite-interpreter: ${message}`);
}

function opName(op: TfliteOperator): string {
  return BuiltinOpName[op.opcode] ?? `builtin #${op.opcode}`;
}

function intOption(op: TfliteOperator, name: string, fallback?: number): number {
  const v = op.options[name];
  if (typeof v === 'number') return v;
  if (fallback !== undefined) return fallback;
  return fail(`${opName(op)} lacks option ${name}`);
}

function applyActivation(op: TfliteOperator, t: RefTensor): RefTensor {
  const act = intOption(op, 'fused_activation_function', 0);
  if (act === 0) return t;
  const d = t.data;
  if (act === 1) {
    for (let i = 0; i < d.length; i++) d[i] = Math.max(d[i]!, 0);
  } else if (act === 3) {
    for (let i = 0; i < d.length; i++) d[i] = Math.min(Math.max(d[i]!, 0), 6);
  } else {
    fail(`${opName(op)}: unsupported fused_activation_function ${act}`);
  }
  return t;
}

/** Output size and the padding before the first cell, per TF's SAME/VALID rules. */
function outputSizeAndPad(
  padding: number,
  inSize: number,
  kernel: number,
  stride: number,
  dilation: number,
): { out: number; padBefore: number } {
  const effectiveKernel = (kernel - 1) * dilation + 1;
  if (padding === PADDING_VALID) {
    const out = Math.floor((inSize - effectiveKernel) / stride) + 1;
    if (out < 1) fail(`VALID window ${effectiveKernel} does not fit input size ${inSize}`);
    return { out, padBefore: 0 };
  }
  if (padding === PADDING_SAME) {
    const out = Math.ceil(inSize / stride);
    const padTotal = Math.max((out - 1) * stride + effectiveKernel - inSize, 0);
    return { out, padBefore: Math.floor(padTotal / 2) };
  }
  return fail(`unknown padding enum ${padding}`);
}

function expectRank(op: TfliteOperator, t: RefTensor, rank: number): void {
  if (t.shape.length !== rank) fail(`${opName(op)} expects rank ${rank}, got shape [${t.shape.join(',')}]`);
}

function conv2d(op: TfliteOperator, x: RefTensor, w: RefTensor, bias: RefTensor | null): RefTensor {
  expectRank(op, x, 4);
  const [n, inH, inW, inC] = x.shape as [number, number, number, number];
  const [outC, kH, kW, wC] = w.shape as [number, number, number, number];
  if (wC !== inC) fail(`CONV_2D weights expect ${wC} input channels, input has ${inC}`);
  const sH = intOption(op, 'stride_h');
  const sW = intOption(op, 'stride_w');
  const dH = intOption(op, 'dilation_h_factor', 1);
  const dW = intOption(op, 'dilation_w_factor', 1);
  const padding = intOption(op, 'padding');
  const rows = outputSizeAndPad(padding, inH, kH, sH, dH);
  const cols = outputSizeAndPad(padding, inW, kW, sW, dW);
  const out = new Float32Array(n * rows.out * cols.out * outC);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < rows.out; oy++) {
      for (let ox = 0; ox < cols.out; ox++) {
        for (let oc = 0; oc < outC; oc++) {
          let sum = bias ? bias.data[oc]! : 0;
          for (let ky = 0; ky < kH; ky++) {
            const iy = oy * sH - rows.padBefore + ky * dH;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ox * sW - cols.padBefore + kx * dW;
              if (ix < 0 || ix >= inW) continue;
              const xBase = ((b * inH + iy) * inW + ix) * inC;
              const wBase = ((oc * kH + ky) * kW + kx) * inC;
              for (let ic = 0; ic < inC; ic++) sum += x.data[xBase + ic]! * w.data[wBase + ic]!;
            }
          }
          out[((b * rows.out + oy) * cols.out + ox) * outC + oc] = sum;
        }
      }
    }
  }
  return applyActivation(op, { data: out, shape: [n, rows.out, cols.out, outC] });
}

function depthwiseConv2d(op: TfliteOperator, x: RefTensor, w: RefTensor, bias: RefTensor | null): RefTensor {
  expectRank(op, x, 4);
  const [n, inH, inW, inC] = x.shape as [number, number, number, number];
  const [one, kH, kW, outC] = w.shape as [number, number, number, number];
  const mult = intOption(op, 'depth_multiplier', 1);
  if (one !== 1 || outC !== inC * mult) {
    fail(
      `DEPTHWISE_CONV_2D weights [${w.shape.join(',')}] do not match ${inC} channels × multiplier ${mult}`,
    );
  }
  const sH = intOption(op, 'stride_h');
  const sW = intOption(op, 'stride_w');
  const dH = intOption(op, 'dilation_h_factor', 1);
  const dW = intOption(op, 'dilation_w_factor', 1);
  const padding = intOption(op, 'padding');
  const rows = outputSizeAndPad(padding, inH, kH, sH, dH);
  const cols = outputSizeAndPad(padding, inW, kW, sW, dW);
  const out = new Float32Array(n * rows.out * cols.out * outC);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < rows.out; oy++) {
      for (let ox = 0; ox < cols.out; ox++) {
        for (let ic = 0; ic < inC; ic++) {
          for (let m = 0; m < mult; m++) {
            const oc = ic * mult + m;
            let sum = bias ? bias.data[oc]! : 0;
            for (let ky = 0; ky < kH; ky++) {
              const iy = oy * sH - rows.padBefore + ky * dH;
              if (iy < 0 || iy >= inH) continue;
              for (let kx = 0; kx < kW; kx++) {
                const ix = ox * sW - cols.padBefore + kx * dW;
                if (ix < 0 || ix >= inW) continue;
                const xv = x.data[((b * inH + iy) * inW + ix) * inC + ic]!;
                const wv = w.data[(ky * kW + kx) * outC + oc]!;
                sum += xv * wv;
              }
            }
            out[((b * rows.out + oy) * cols.out + ox) * outC + oc] = sum;
          }
        }
      }
    }
  }
  return applyActivation(op, { data: out, shape: [n, rows.out, cols.out, outC] });
}

function maxPool2d(op: TfliteOperator, x: RefTensor): RefTensor {
  expectRank(op, x, 4);
  const [n, inH, inW, c] = x.shape as [number, number, number, number];
  const kH = intOption(op, 'filter_height');
  const kW = intOption(op, 'filter_width');
  const sH = intOption(op, 'stride_h');
  const sW = intOption(op, 'stride_w');
  const padding = intOption(op, 'padding');
  const rows = outputSizeAndPad(padding, inH, kH, sH, 1);
  const cols = outputSizeAndPad(padding, inW, kW, sW, 1);
  const out = new Float32Array(n * rows.out * cols.out * c);
  for (let b = 0; b < n; b++) {
    for (let oy = 0; oy < rows.out; oy++) {
      for (let ox = 0; ox < cols.out; ox++) {
        for (let ch = 0; ch < c; ch++) {
          let max = -Infinity;
          for (let ky = 0; ky < kH; ky++) {
            const iy = oy * sH - rows.padBefore + ky;
            if (iy < 0 || iy >= inH) continue;
            for (let kx = 0; kx < kW; kx++) {
              const ix = ox * sW - cols.padBefore + kx;
              if (ix < 0 || ix >= inW) continue;
              max = Math.max(max, x.data[((b * inH + iy) * inW + ix) * c + ch]!);
            }
          }
          out[((b * rows.out + oy) * cols.out + ox) * c + ch] = max;
        }
      }
    }
  }
  return applyActivation(op, { data: out, shape: [n, rows.out, cols.out, c] });
}

function fullyConnected(op: TfliteOperator, x: RefTensor, w: RefTensor, bias: RefTensor | null): RefTensor {
  if (intOption(op, 'weights_format', 0) !== 0) fail('FULLY_CONNECTED: only the DEFAULT weights format');
  const [outN, inN] = w.shape as [number, number];
  const total = x.data.length;
  if (total % inN !== 0) fail(`FULLY_CONNECTED: input of ${total} elements is not a multiple of ${inN}`);
  const batch = total / inN;
  const out = new Float32Array(batch * outN);
  for (let b = 0; b < batch; b++) {
    for (let o = 0; o < outN; o++) {
      let sum = bias ? bias.data[o]! : 0;
      for (let i = 0; i < inN; i++) sum += x.data[b * inN + i]! * w.data[o * inN + i]!;
      out[b * outN + o] = sum;
    }
  }
  const shape = intOption(op, 'keep_num_dims', 0) ? [...x.shape.slice(0, -1), outN] : [batch, outN];
  return applyActivation(op, { data: out, shape });
}

function unary(x: RefTensor, f: (v: number) => number): RefTensor {
  const out = new Float32Array(x.data.length);
  for (let i = 0; i < out.length; i++) out[i] = f(x.data[i]!);
  return { data: out, shape: [...x.shape] };
}

/** Row-major strides of `shape`. */
function strides(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1]! * shape[i + 1]!;
  return s;
}

function binary(
  op: TfliteOperator,
  a: RefTensor,
  b: RefTensor,
  f: (x: number, y: number) => number,
): RefTensor {
  const rank = Math.max(a.shape.length, b.shape.length);
  // Align on the right: pad the shorter shape with leading 1s.
  const aShape = [...new Array<number>(rank - a.shape.length).fill(1), ...a.shape];
  const bShape = [...new Array<number>(rank - b.shape.length).fill(1), ...b.shape];
  const outShape = aShape.map((da, i) => {
    const db = bShape[i]!;
    if (da !== db && da !== 1 && db !== 1) {
      fail(`${opName(op)}: shapes [${a.shape.join(',')}] and [${b.shape.join(',')}] do not broadcast`);
    }
    return da === 1 ? db : da;
  });
  const aStrides = strides(aShape).map((s, i) => (aShape[i]! === 1 ? 0 : s));
  const bStrides = strides(bShape).map((s, i) => (bShape[i]! === 1 ? 0 : s));
  const out = new Float32Array(numel(outShape));
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < out.length; flat++) {
    let ai = 0;
    let bi = 0;
    for (let d = 0; d < rank; d++) {
      ai += index[d]! * aStrides[d]!;
      bi += index[d]! * bStrides[d]!;
    }
    out[flat] = f(a.data[ai]!, b.data[bi]!);
    // Advance the multi-index like an odometer.
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = index[d]! + 1;
      if (index[d]! < outShape[d]!) break;
      index[d] = 0;
    }
  }
  return applyActivation(op, { data: out, shape: outShape });
}

function reduce(op: TfliteOperator, x: RefTensor, axesData: Int32Array, kind: 'max' | 'sum'): RefTensor {
  const rank = x.shape.length;
  const axes = new Set(Array.from(axesData, (a) => (a < 0 ? a + rank : a)));
  for (const a of axes) {
    if (a < 0 || a >= rank) fail(`${opName(op)}: axis ${a} out of range for rank ${rank}`);
  }
  const keptShape = x.shape.map((d, i) => (axes.has(i) ? 1 : d));
  const keptStrides = strides(keptShape);
  const out = new Float32Array(numel(keptShape)).fill(kind === 'max' ? -Infinity : 0);
  const index = new Array<number>(rank).fill(0);
  for (let flat = 0; flat < x.data.length; flat++) {
    let oi = 0;
    for (let d = 0; d < rank; d++) if (!axes.has(d)) oi += index[d]! * keptStrides[d]!;
    const v = x.data[flat]!;
    out[oi] = kind === 'max' ? Math.max(out[oi]!, v) : out[oi]! + v;
    for (let d = rank - 1; d >= 0; d--) {
      index[d] = index[d]! + 1;
      if (index[d]! < x.shape[d]!) break;
      index[d] = 0;
    }
  }
  const keepDims = intOption(op, 'keep_dims', 0) !== 0;
  const shape = keepDims ? keptShape : x.shape.filter((_, i) => !axes.has(i));
  return { data: out, shape };
}

function reshape(op: TfliteOperator, x: RefTensor, shapeTensor: Int32Array | null): RefTensor {
  const fromOption = op.options.new_shape;
  const requested =
    Array.isArray(fromOption) && fromOption.length > 0
      ? [...fromOption]
      : shapeTensor
        ? Array.from(shapeTensor)
        : fail('RESHAPE has neither new_shape nor a constant shape tensor');
  const total = x.data.length;
  // Converted graphs hard-code the batch they were exported with (MobileFaceNet: [2,192]); treat a
  // first dimension that does not fit the element count as the batch, i.e. -1.
  if (!requested.includes(-1) && numel(requested) !== total) requested[0] = -1;
  const known = requested.reduce((p, d) => (d === -1 ? p : p * d), 1);
  const shape = requested.map((d) => (d === -1 ? total / known : d));
  if (
    requested.filter((d) => d === -1).length > 1 ||
    numel(shape) !== total ||
    !shape.every(Number.isInteger)
  ) {
    fail(`RESHAPE of [${x.shape.join(',')}] to [${requested.join(',')}] is impossible`);
  }
  return { data: x.data.slice(), shape };
}

/**
 * Runs a float32 TFLite graph on one input with naive loops, as a reference for converted models.
 * Outputs come in `graph.outputs` order. Throws on an operator outside the set our models use.
 *
 * @example
 * const graph = readTflite(await readFile('rnet.tflite'));
 * const [prob, bbox] = runTflite(graph, { data: new Float32Array(24 * 24 * 3), shape: [1, 24, 24, 3] });
 * // prob.shape = [1, 2], bbox.shape = [1, 4]
 */
export function runTflite(graph: TfliteGraph, input: RefTensor): RefTensor[] {
  const [inputIndex, ...extraInputs] = graph.inputs;
  if (inputIndex === undefined || extraInputs.length > 0) {
    fail(`expected a graph with exactly one input, got ${graph.inputs.length}`);
  }
  if (input.data.length !== numel(input.shape)) {
    fail(`input has ${input.data.length} values but shape [${input.shape.join(',')}]`);
  }
  const values = new Map<number, RefTensor>([[inputIndex, input]]);

  /** An activation computed earlier, or a float32 constant from the model. */
  const value = (op: TfliteOperator, index: number | undefined): RefTensor => {
    if (index === undefined || index < 0) return fail(`${opName(op)} is missing an input`);
    const computed = values.get(index);
    if (computed) return computed;
    const t = graph.tensors[index];
    if (t?.data instanceof Float32Array) return { data: t.data, shape: t.shape };
    return fail(
      `${opName(op)} reads tensor ${index} (${t?.name ?? '?'}), which is neither computed nor a float constant`,
    );
  };
  /** An optional input (TFLite marks an absent one, e.g. a bias, with index -1). */
  const optional = (op: TfliteOperator, index: number | undefined): RefTensor | null =>
    index === undefined || index < 0 ? null : value(op, index);
  const int32Constant = (op: TfliteOperator, index: number | undefined): Int32Array => {
    const data = index === undefined ? undefined : graph.tensors[index]?.data;
    if (data instanceof Int32Array) return data;
    return fail(`${opName(op)} expects a constant int32 tensor at input ${index}`);
  };

  for (const op of graph.operators) {
    const [i0, i1, i2] = op.inputs;
    let result: RefTensor;
    switch (op.opcode) {
      case BuiltinOp.CONV_2D:
        result = conv2d(op, value(op, i0), value(op, i1), optional(op, i2));
        break;
      case BuiltinOp.DEPTHWISE_CONV_2D:
        result = depthwiseConv2d(op, value(op, i0), value(op, i1), optional(op, i2));
        break;
      case BuiltinOp.MAX_POOL_2D:
        result = maxPool2d(op, value(op, i0));
        break;
      case BuiltinOp.FULLY_CONNECTED:
        result = fullyConnected(op, value(op, i0), value(op, i1), optional(op, i2));
        break;
      case BuiltinOp.RELU:
        result = unary(value(op, i0), (v) => Math.max(v, 0));
        break;
      case BuiltinOp.NEG:
        result = unary(value(op, i0), (v) => -v);
        break;
      case BuiltinOp.ABS:
        result = unary(value(op, i0), Math.abs);
        break;
      case BuiltinOp.EXP:
        result = unary(value(op, i0), Math.exp);
        break;
      case BuiltinOp.ADD:
        result = binary(op, value(op, i0), value(op, i1), (a, b) => a + b);
        break;
      case BuiltinOp.SUB:
        result = binary(op, value(op, i0), value(op, i1), (a, b) => a - b);
        break;
      case BuiltinOp.MUL:
        result = binary(op, value(op, i0), value(op, i1), (a, b) => a * b);
        break;
      case BuiltinOp.DIV:
        result = binary(op, value(op, i0), value(op, i1), (a, b) => a / b);
        break;
      case BuiltinOp.REDUCE_MAX:
        result = reduce(op, value(op, i0), int32Constant(op, i1), 'max');
        break;
      case BuiltinOp.SUM:
        result = reduce(op, value(op, i0), int32Constant(op, i1), 'sum');
        break;
      case BuiltinOp.RESHAPE:
        result = reshape(op, value(op, i0), i1 === undefined || i1 < 0 ? null : int32Constant(op, i1));
        break;
      default:
        return fail(`unsupported op ${opName(op)} (opcode ${op.opcode})`);
    }
    const [outIndex] = op.outputs;
    if (outIndex === undefined || op.outputs.length !== 1) fail(`${opName(op)} must have exactly one output`);
    values.set(outIndex, result);
  }

  return graph.outputs.map((index) => {
    const t = values.get(index);
    if (!t) return fail(`graph output ${index} (${graph.tensors[index]?.name ?? '?'}) was never computed`);
    return t;
  });
}
