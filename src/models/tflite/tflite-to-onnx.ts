/**
 * TFLite → ONNX converter for float32 vision models (MTCNN P/R/O-Net, MobileFaceNet, …).
 *
 * Layout: TFLite is NHWC, ONNX Runtime's CPU kernels are fastest in NCHW. Every 4-D activation is kept
 * in NCHW inside the ONNX graph; the graph input is declared NCHW ([N, C, H, W], N dynamic) and 4-D
 * outputs are NCHW too. Where TFLite semantics depend on NHWC order (FULLY_CONNECTED flattening,
 * RESHAPE, axes of reductions and concatenation) the converter transposes or remaps axes.
 *
 * Pitfalls handled (see the verification-core issue): TFLite Padding 0 = SAME (ONNX SAME_UPPER),
 * 1 = VALID; conv weights OHWI → OIHW; depthwise [1, H, W, C·m] → [C·m, 1, H, W] with group = C;
 * per-channel constants broadcast as [C, 1, 1]; opset 13 ReduceSum takes axes as an input but ReduceMax
 * as an attribute; a reshape that hard-codes the batch becomes -1. Decomposed PReLU (MTCNN:
 * relu(x) + α·(−relu(−x)); MobileFaceNet: relu(x) + α'·(x − |x|)) is recognised and rewritten as
 * max(x, α·x), which is exact for 0 ≤ α ≤ 1 and faster in ONNX Runtime than its PRelu kernel, which
 * branches per element (docs/performance.md).
 */
import { FaceVerifyError } from '../../errors.js';
import { OnnxGraphBuilder, type Dim } from '../onnx/onnx-builder.js';
import { BuiltinOp, BuiltinOpName, type TfliteGraph, type TfliteOperator } from './tflite-reader.js';

export interface TfliteToOnnxOptions {
  /** Graph name in the ONNX file. */
  name: string;
  /** Make the input's spatial dimensions symbolic (fully convolutional nets such as P-Net). */
  dynamicSpatial?: boolean;
  /** Names for the ONNX graph outputs, in the TFLite output order; defaults to the TFLite names. */
  outputNames?: string[];
  /** Rewrite decomposed PReLU patterns as Max(x, Mul(α, x)) nodes (default true). */
  fusePrelu?: boolean;
}

interface Value {
  name: string;
  /** Rank in TFLite terms (NHWC). */
  rank: number;
  /** True when a rank-4 value is stored NCHW in ONNX. */
  nchw: boolean;
}

/** NHWC axis → NCHW axis. */
const NHWC_TO_NCHW_AXIS = [0, 2, 3, 1];

/**
 * Converts a parsed TFLite graph into ONNX bytes.
 *
 * @example
 * const onnxBytes = tfliteToOnnx(readTflite(await readFile('rnet.tflite')), { name: 'rnet' });
 */
export function tfliteToOnnx(graph: TfliteGraph, options: TfliteToOnnxOptions): Uint8Array {
  return new Converter(graph, options).run();
}

class Converter {
  private readonly b: OnnxGraphBuilder;
  private readonly values = new Map<number, Value>();
  private readonly producer = new Map<number, number>();
  private readonly consumers = new Map<number, number>();
  /** Operators folded into a fused node (skipped when emitting). */
  private readonly skipped = new Set<number>();
  /** ADD operator index → [x tensor, α values] for fused PReLU. */
  private readonly prelu = new Map<number, { x: number; alpha: Float32Array }>();

  constructor(
    private readonly g: TfliteGraph,
    private readonly opts: TfliteToOnnxOptions,
  ) {
    this.b = new OnnxGraphBuilder(opts.name);
    g.operators.forEach((op, i) => {
      for (const t of op.outputs) this.producer.set(t, i);
      for (const t of op.inputs) if (t >= 0) this.consumers.set(t, (this.consumers.get(t) ?? 0) + 1);
    });
    for (const t of g.outputs) this.consumers.set(t, (this.consumers.get(t) ?? 0) + 1);
  }

  run(): Uint8Array {
    if (this.opts.fusePrelu !== false) this.findPrelu();
    this.declareInputs();
    this.g.operators.forEach((op, i) => {
      if (!this.skipped.has(i)) this.emit(op, i);
    });
    this.declareOutputs();
    return this.b.toBytes();
  }

  // ---------------------------------------------------------------- graph inputs and outputs

  private declareInputs(): void {
    for (const t of this.g.inputs) {
      const tensor = this.tensor(t);
      const shape = tensor.shape;
      const name = this.b.name('input');
      if (shape.length === 4) {
        const [, h, w, c] = shape as [number, number, number, number];
        const dims: Dim[] = this.opts.dynamicSpatial ? ['N', c, 'H', 'W'] : ['N', c, h, w];
        this.b.addInput(name, dims);
        this.values.set(t, { name, rank: 4, nchw: true });
      } else {
        this.b.addInput(name, ['N', ...shape.slice(1)]);
        this.values.set(t, { name, rank: shape.length, nchw: false });
      }
    }
  }

  private declareOutputs(): void {
    this.g.outputs.forEach((t, k) => {
      const v = this.value(t);
      const outName = this.opts.outputNames?.[k] ?? this.tensor(t).name;
      const shape = this.tensor(t).shape;
      const dims: Dim[] =
        v.rank === 4 && v.nchw
          ? this.opts.dynamicSpatial
            ? ['N', shape[3] ?? 0, 'h', 'w']
            : ['N', shape[3] ?? 0, shape[1] ?? 0, shape[2] ?? 0]
          : ['N', ...shape.slice(1)];
      this.b.node('Identity', [v.name], {}, outName);
      this.b.addOutput(outName, dims);
    });
  }

  // ---------------------------------------------------------------- helpers

  private tensor(t: number) {
    const tensor = this.g.tensors[t];
    if (!tensor) throw new FaceVerifyError('MODEL_INVALID', `TFLite tensor ${t} does not exist`);
    return tensor;
  }

  private value(t: number): Value {
    const v = this.values.get(t);
    if (v) return v;
    const tensor = this.tensor(t);
    if (tensor.data) return this.constant(t, false);
    throw new FaceVerifyError('MODEL_INVALID', `TFLite tensor ${tensor.name} is used before it is computed`);
  }

  private isConst(t: number): boolean {
    return !this.values.has(t) && this.tensor(t).data !== null;
  }

  private floatData(t: number): Float32Array {
    const data = this.tensor(t).data;
    if (!(data instanceof Float32Array)) {
      throw new FaceVerifyError('MODEL_UNSUPPORTED', `tensor ${this.tensor(t).name} is not float32`);
    }
    return data;
  }

  private intData(t: number): number[] {
    const data = this.tensor(t).data;
    if (!(data instanceof Int32Array)) {
      throw new FaceVerifyError('MODEL_UNSUPPORTED', `tensor ${this.tensor(t).name} is not int32`);
    }
    return Array.from(data);
  }

  /**
   * A constant operand of a broadcasting op. A per-channel vector next to an NCHW activation becomes
   * [C, 1, 1]; scalars stay scalars.
   */
  private constant(t: number, besideNchw: boolean): Value {
    const tensor = this.tensor(t);
    const data = this.floatData(t);
    const shape = tensor.shape;
    if (shape.length > 1 && shape.slice(0, -1).some((d) => d !== 1)) {
      throw new FaceVerifyError('MODEL_UNSUPPORTED', `constant ${tensor.name} of shape [${shape.join(',')}]`);
    }
    const c = data.length;
    const dims = shape.length === 0 ? [] : besideNchw ? [c, 1, 1] : [c];
    return { name: this.b.addFloat(tensor.name, dims, data), rank: dims.length, nchw: false };
  }

  private toNhwc(v: Value): string {
    return v.rank === 4 && v.nchw ? this.b.node('Transpose', [v.name], { perm: [0, 2, 3, 1] }) : v.name;
  }

  private set(t: number, name: string, rank: number, nchw: boolean): void {
    this.values.set(t, { name, rank, nchw });
  }

  private fused(name: string, code: number): string {
    switch (code) {
      case 0:
        return name;
      case 1:
        return this.b.node('Relu', [name]);
      case 2:
        return this.clip(name, -1, 1);
      case 3:
        return this.clip(name, 0, 6);
      case 4:
        return this.b.node('Tanh', [name]);
      default:
        throw new FaceVerifyError('MODEL_UNSUPPORTED', `fused activation ${code}`);
    }
  }

  private clip(name: string, lo: number, hi: number): string {
    const min = this.b.addFloat('clip_min', [], Float32Array.of(lo));
    const max = this.b.addFloat('clip_max', [], Float32Array.of(hi));
    return this.b.node('Clip', [name, min, max]);
  }

  private num(op: TfliteOperator, key: string): number {
    const v = op.options[key];
    return typeof v === 'number' ? v : 0;
  }

  private autoPad(op: TfliteOperator): string {
    return this.num(op, 'padding') === 0 ? 'SAME_UPPER' : 'VALID';
  }

  private first(op: TfliteOperator, k = 0): number {
    const t = op.inputs[k];
    if (t === undefined || t < 0) throw new FaceVerifyError('MODEL_INVALID', 'operator input missing');
    return t;
  }

  private out(op: TfliteOperator): number {
    const t = op.outputs[0];
    if (t === undefined) throw new FaceVerifyError('MODEL_INVALID', 'operator output missing');
    return t;
  }

  // ---------------------------------------------------------------- PReLU fusion

  private producerOf(t: number, opcode: number): TfliteOperator | undefined {
    const i = this.producer.get(t);
    const op = i === undefined ? undefined : this.g.operators[i];
    return op && op.opcode === opcode && this.consumers.get(t) === 1 ? op : undefined;
  }

  private findPrelu(): void {
    this.g.operators.forEach((add, addIndex) => {
      if (add.opcode !== BuiltinOp.ADD || add.inputs.length !== 2) return;
      for (const [ri, mi] of [
        [0, 1],
        [1, 0],
      ] as const) {
        const relu = this.producerOf(this.first(add, ri), BuiltinOp.RELU);
        const mul = this.producerOf(this.first(add, mi), BuiltinOp.MUL);
        if (!relu || !mul) continue;
        const x = this.first(relu);
        const match = this.matchNegativePart(mul, x);
        if (!match) continue;
        this.prelu.set(addIndex, { x, alpha: match.alpha });
        for (const op of [relu, mul, ...match.ops]) this.skipped.add(this.g.operators.indexOf(op));
        return;
      }
    });
  }

  /** Matches α·(−relu(−x)) or α'·(x − |x|), returning PReLU's α and the ops to skip. */
  private matchNegativePart(
    mul: TfliteOperator,
    x: number,
  ): { alpha: Float32Array; ops: TfliteOperator[] } | undefined {
    const [a, b] = mul.inputs as [number, number];
    const [ci, vi] = this.isConst(a) ? [a, b] : this.isConst(b) ? [b, a] : [-1, -1];
    if (ci < 0) return undefined;
    const coeff = this.floatData(ci);
    // MTCNN: −relu(−x)
    const neg1 = this.producerOf(vi, BuiltinOp.NEG);
    if (neg1) {
      const relu = this.producerOf(this.first(neg1), BuiltinOp.RELU);
      const neg0 = relu && this.producerOf(this.first(relu), BuiltinOp.NEG);
      if (relu && neg0 && this.first(neg0) === x) return { alpha: coeff, ops: [neg1, relu, neg0] };
    }
    // MobileFaceNet: x − |x| = 2·min(x, 0)
    const sub = this.producerOf(vi, BuiltinOp.SUB);
    if (sub && this.first(sub, 0) === x) {
      const abs = this.producerOf(this.first(sub, 1), BuiltinOp.ABS);
      if (abs && this.first(abs) === x) return { alpha: coeff.map((v) => 2 * v), ops: [sub, abs] };
    }
    return undefined;
  }

  // ---------------------------------------------------------------- operators

  private emit(op: TfliteOperator, index: number): void {
    const outT = this.out(op);
    const outRank = this.tensor(outT).shape.length;
    const fusedPrelu = this.prelu.get(index);
    if (fusedPrelu) {
      const x = this.value(fusedPrelu.x);
      const c = fusedPrelu.alpha.length;
      const alpha = this.b.addFloat('prelu_alpha', x.nchw ? [c, 1, 1] : [c], fusedPrelu.alpha);
      this.set(outT, this.preluOps(x.name, alpha, fusedPrelu.alpha), x.rank, x.nchw);
      return;
    }
    switch (op.opcode) {
      case BuiltinOp.CONV_2D:
      case BuiltinOp.DEPTHWISE_CONV_2D:
        return this.conv(op, outT);
      case BuiltinOp.MAX_POOL_2D:
      case BuiltinOp.AVERAGE_POOL_2D: {
        const x = this.value(this.first(op));
        const y = this.b.node(op.opcode === BuiltinOp.MAX_POOL_2D ? 'MaxPool' : 'AveragePool', [x.name], {
          kernel_shape: [this.num(op, 'filter_height'), this.num(op, 'filter_width')],
          strides: [this.num(op, 'stride_h'), this.num(op, 'stride_w')],
          auto_pad: this.autoPad(op),
        });
        return this.set(outT, this.fused(y, this.num(op, 'fused_activation_function')), 4, true);
      }
      case BuiltinOp.RELU:
      case BuiltinOp.NEG:
      case BuiltinOp.ABS:
      case BuiltinOp.EXP:
      case BuiltinOp.LOGISTIC:
      case BuiltinOp.TANH:
      case BuiltinOp.SQRT: {
        const x = this.value(this.first(op));
        const onnxOp = UNARY[op.opcode] as string;
        return this.set(outT, this.b.node(onnxOp, [x.name]), x.rank, x.nchw);
      }
      case BuiltinOp.RELU6: {
        const x = this.value(this.first(op));
        return this.set(outT, this.clip(x.name, 0, 6), x.rank, x.nchw);
      }
      case BuiltinOp.ADD:
      case BuiltinOp.SUB:
      case BuiltinOp.MUL:
      case BuiltinOp.DIV:
        return this.binary(op, outT);
      case BuiltinOp.REDUCE_MAX:
      case BuiltinOp.SUM:
        return this.reduce(op, outT);
      case BuiltinOp.FULLY_CONNECTED:
        return this.fullyConnected(op, outT);
      case BuiltinOp.RESHAPE:
        return this.reshape(op, outT, outRank);
      case BuiltinOp.SOFTMAX: {
        const x = this.value(this.first(op));
        const beta = this.num(op, 'beta') || 1;
        const scaled =
          beta === 1
            ? x.name
            : this.b.node('Mul', [x.name, this.b.addFloat('beta', [], Float32Array.of(beta))]);
        const axis = x.nchw ? 1 : -1;
        return this.set(outT, this.b.node('Softmax', [scaled], { axis }), x.rank, x.nchw);
      }
      case BuiltinOp.CONCATENATION: {
        const xs = op.inputs.map((t) => this.value(t));
        const nchw = xs.every((v) => v.nchw);
        let axis = this.num(op, 'axis');
        if (axis < 0) axis += outRank;
        if (nchw) axis = NHWC_TO_NCHW_AXIS[axis] ?? axis;
        const names = nchw ? xs.map((v) => v.name) : xs.map((v) => this.toNhwc(v));
        const y = this.b.node('Concat', names, { axis });
        return this.set(outT, this.fused(y, this.num(op, 'fused_activation_function')), outRank, nchw);
      }
      case BuiltinOp.L2_NORMALIZATION: {
        const x = this.value(this.first(op));
        const axis = x.nchw ? 1 : -1;
        return this.set(outT, this.b.node('LpNormalization', [x.name], { axis, p: 2 }), x.rank, x.nchw);
      }
      default:
        throw new FaceVerifyError(
          'MODEL_UNSUPPORTED',
          `TFLite operator ${BuiltinOpName[op.opcode] ?? op.opcode} is not supported by the converter`,
        );
    }
  }

  /**
   * PReLU without ONNX Runtime's PRelu kernel, which branches per element and measured slower than
   * the five unfused ops on real activations. With 0 ≤ α ≤ 1, PReLU(x) = max(x, α·x): two vectorised
   * element-wise ops. Otherwise relu(x) + α·min(x, 0).
   */
  private preluOps(x: string, alphaName: string, alpha: Float32Array): string {
    if (alpha.every((a) => a >= 0 && a <= 1)) {
      return this.b.node('Max', [x, this.b.node('Mul', [x, alphaName])]);
    }
    const zero = this.b.addFloat('zero', [], Float32Array.of(0));
    return this.b.node('Add', [
      this.b.node('Relu', [x]),
      this.b.node('Mul', [this.b.node('Min', [x, zero]), alphaName]),
    ]);
  }

  private conv(op: TfliteOperator, outT: number): void {
    const x = this.value(this.first(op));
    const wt = this.tensor(this.first(op, 1));
    const w = this.floatData(wt.index);
    const [o, kh, kw, i] = wt.shape as [number, number, number, number];
    const depthwise = op.opcode === BuiltinOp.DEPTHWISE_CONV_2D;
    // OHWI → OIHW; depthwise weights are [1, H, W, C·m] → [C·m, 1, H, W].
    const outC = depthwise ? i : o;
    const inPerGroup = depthwise ? 1 : i;
    const oihw = new Float32Array(w.length);
    for (let oc = 0; oc < outC; oc++)
      for (let ic = 0; ic < inPerGroup; ic++)
        for (let y = 0; y < kh; y++)
          for (let xx = 0; xx < kw; xx++) {
            const src = depthwise ? (y * kw + xx) * i + oc : ((oc * kh + y) * kw + xx) * i + ic;
            oihw[((oc * inPerGroup + ic) * kh + y) * kw + xx] = w[src] as number;
          }
    const inputs = [x.name, this.b.addFloat(`${wt.name}_oihw`, [outC, inPerGroup, kh, kw], oihw)];
    const biasT = op.inputs[2];
    if (biasT !== undefined && biasT >= 0) {
      inputs.push(this.b.addFloat(this.tensor(biasT).name, [outC], this.floatData(biasT)));
    }
    const inChannels = this.tensor(this.first(op)).shape[3] ?? 0;
    const attrs = {
      kernel_shape: [kh, kw],
      strides: [this.num(op, 'stride_h'), this.num(op, 'stride_w')],
      dilations: [this.num(op, 'dilation_h_factor') || 1, this.num(op, 'dilation_w_factor') || 1],
      auto_pad: this.autoPad(op),
      group: depthwise ? inChannels : 1,
    };
    const y = this.b.node('Conv', inputs, attrs);
    this.set(outT, this.fused(y, this.num(op, 'fused_activation_function')), 4, true);
  }

  private binary(op: TfliteOperator, outT: number): void {
    const [ta, tb] = [this.first(op, 0), this.first(op, 1)];
    const outRank = this.tensor(outT).shape.length;
    const nchw = outRank === 4;
    const operand = (t: number): string => {
      if (this.isConst(t)) return this.constant(t, nchw).name;
      const v = this.value(t);
      if (nchw && v.rank === 4 && !v.nchw) {
        return this.b.node('Transpose', [v.name], { perm: [0, 3, 1, 2] });
      }
      if (nchw && v.rank !== 4) {
        throw new FaceVerifyError('MODEL_UNSUPPORTED', 'broadcast of a lower-rank activation into 4-D');
      }
      return v.name;
    };
    const y = this.b.node(BINARY[op.opcode] as string, [operand(ta), operand(tb)]);
    this.set(outT, this.fused(y, this.num(op, 'fused_activation_function')), outRank, nchw);
  }

  private reduce(op: TfliteOperator, outT: number): void {
    const x = this.value(this.first(op));
    const keep = this.num(op, 'keep_dims') ? 1 : 0;
    let axes = this.intData(this.first(op, 1)).map((a) => (a < 0 ? a + x.rank : a));
    if (x.nchw) {
      if (!keep)
        throw new FaceVerifyError('MODEL_UNSUPPORTED', 'reduction of a 4-D tensor without keep_dims');
      axes = axes.map((a) => NHWC_TO_NCHW_AXIS[a] ?? a);
    }
    const y =
      op.opcode === BuiltinOp.SUM
        ? this.b.node('ReduceSum', [x.name, this.b.addInt64('axes', axes)], { keepdims: keep })
        : this.b.node('ReduceMax', [x.name], { axes, keepdims: keep });
    this.set(outT, y, this.tensor(outT).shape.length, x.nchw);
  }

  private fullyConnected(op: TfliteOperator, outT: number): void {
    const x = this.value(this.first(op));
    // TFLite flattens in NHWC order: transpose an NCHW activation back before flattening.
    const flat = this.b.node('Flatten', [this.toNhwc(x)], { axis: 1 });
    const wt = this.tensor(this.first(op, 1));
    const inputs = [flat, this.b.addFloat(wt.name, wt.shape, this.floatData(wt.index))];
    const biasT = op.inputs[2];
    if (biasT !== undefined && biasT >= 0) {
      inputs.push(this.b.addFloat(this.tensor(biasT).name, [wt.shape[0] ?? 0], this.floatData(biasT)));
    }
    const y = this.b.node('Gemm', inputs, { transB: 1 });
    this.set(outT, this.fused(y, this.num(op, 'fused_activation_function')), 2, false);
  }

  private reshape(op: TfliteOperator, outT: number, outRank: number): void {
    const x = this.value(this.first(op));
    const fromOption = op.options.new_shape;
    const shape =
      Array.isArray(fromOption) && fromOption.length > 0
        ? [...fromOption]
        : op.inputs[1] !== undefined && op.inputs[1] >= 0
          ? this.intData(op.inputs[1])
          : this.tensor(outT).shape;
    // Converted graphs take any batch size: a leading dimension that is the declared batch becomes -1.
    shape[0] = -1;
    const y = this.b.node('Reshape', [this.toNhwc(x), this.b.addInt64('shape', shape)]);
    if (outRank === 4) {
      this.set(outT, this.b.node('Transpose', [y], { perm: [0, 3, 1, 2] }), 4, true);
    } else {
      this.set(outT, y, outRank, false);
    }
  }
}

const UNARY: Record<number, string> = {
  [BuiltinOp.RELU]: 'Relu',
  [BuiltinOp.NEG]: 'Neg',
  [BuiltinOp.ABS]: 'Abs',
  [BuiltinOp.EXP]: 'Exp',
  [BuiltinOp.LOGISTIC]: 'Sigmoid',
  [BuiltinOp.TANH]: 'Tanh',
  [BuiltinOp.SQRT]: 'Sqrt',
};

const BINARY: Record<number, string> = {
  [BuiltinOp.ADD]: 'Add',
  [BuiltinOp.SUB]: 'Sub',
  [BuiltinOp.MUL]: 'Mul',
  [BuiltinOp.DIV]: 'Div',
};
