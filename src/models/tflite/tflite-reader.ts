/**
 * Reader for TensorFlow Lite model files (a FlatBuffer, schema `tensorflow/lite/schema/schema.fbs`).
 *
 * Only what a float32 inference graph needs is read: tensors (shape, type, constant data), operators
 * (builtin code, inputs, outputs, options) and the subgraph's inputs/outputs. Field numbers are the
 * schema's; a FlatBuffer field N lives at vtable offset 4 + 2·N. We use the `flatbuffers` runtime for
 * the byte-level access and keep the (small) table layouts here rather than generating 10k lines of
 * bindings for the whole schema.
 */
import { ByteBuffer } from 'flatbuffers';
import { FaceVerifyError } from '../../errors.js';

/** TFLite builtin operator codes used by the models we convert (schema enum BuiltinOperator). */
export const BuiltinOp = {
  ADD: 0,
  AVERAGE_POOL_2D: 1,
  CONCATENATION: 2,
  CONV_2D: 3,
  DEPTHWISE_CONV_2D: 4,
  FULLY_CONNECTED: 9,
  L2_NORMALIZATION: 11,
  LOGISTIC: 14,
  MAX_POOL_2D: 17,
  MUL: 18,
  RELU: 19,
  RELU6: 21,
  RESHAPE: 22,
  SOFTMAX: 25,
  TANH: 28,
  PAD: 34,
  TRANSPOSE: 39,
  MEAN: 40,
  SUB: 41,
  DIV: 42,
  SQUEEZE: 43,
  EXP: 47,
  NEG: 59,
  PRELU: 54,
  MAXIMUM: 55,
  SUM: 74,
  SQRT: 75,
  RSQRT: 76,
  REDUCE_MAX: 82,
  ABS: 101,
} as const;

export const BuiltinOpName: Record<number, string> = Object.fromEntries(
  Object.entries(BuiltinOp).map(([k, v]) => [v, k]),
);

/** TFLite TensorType enum values we accept. */
export const TensorType = { FLOAT32: 0, INT32: 2 } as const;

export interface TfliteTensor {
  index: number;
  name: string;
  shape: number[];
  type: number;
  /** Constant data (weights, shapes), or null for activations. Little-endian, as stored. */
  data: Float32Array | Int32Array | null;
}

export interface TfliteOperator {
  opcode: number;
  inputs: number[];
  outputs: number[];
  /** Builtin options decoded by name; only the fields of the option tables we use. */
  options: Record<string, number | number[]>;
}

export interface TfliteGraph {
  version: number;
  tensors: TfliteTensor[];
  operators: TfliteOperator[];
  inputs: number[];
  outputs: number[];
}

// Option table layouts: field index → name, with the scalar width. Enum values of
// BuiltinOptions (the union type) are from the schema.
type FieldKind = 'i8' | 'i32' | 'f32' | 'bool' | 'i32vec';
const OPTIONS: Record<number, [string, FieldKind][]> = {
  // Conv2DOptions
  1: [
    ['padding', 'i8'],
    ['stride_w', 'i32'],
    ['stride_h', 'i32'],
    ['fused_activation_function', 'i8'],
    ['dilation_w_factor', 'i32'],
    ['dilation_h_factor', 'i32'],
  ],
  // DepthwiseConv2DOptions
  2: [
    ['padding', 'i8'],
    ['stride_w', 'i32'],
    ['stride_h', 'i32'],
    ['depth_multiplier', 'i32'],
    ['fused_activation_function', 'i8'],
    ['dilation_w_factor', 'i32'],
    ['dilation_h_factor', 'i32'],
  ],
  // ConcatenationOptions
  4: [
    ['axis', 'i32'],
    ['fused_activation_function', 'i8'],
  ],
  // Pool2DOptions
  5: [
    ['padding', 'i8'],
    ['stride_w', 'i32'],
    ['stride_h', 'i32'],
    ['filter_width', 'i32'],
    ['filter_height', 'i32'],
    ['fused_activation_function', 'i8'],
  ],
  // FullyConnectedOptions
  8: [
    ['fused_activation_function', 'i8'],
    ['weights_format', 'i8'],
    ['keep_num_dims', 'bool'],
  ],
  // SoftmaxOptions
  9: [['beta', 'f32']],
  // AddOptions
  11: [['fused_activation_function', 'i8']],
  // L2NormOptions
  12: [['fused_activation_function', 'i8']],
  // ReshapeOptions
  17: [['new_shape', 'i32vec']],
  // MulOptions
  21: [['fused_activation_function', 'i8']],
  // ReducerOptions
  27: [['keep_dims', 'bool']],
  // SubOptions
  28: [['fused_activation_function', 'i8']],
  // DivOptions
  29: [['fused_activation_function', 'i8']],
  // SqueezeOptions
  30: [['squeeze_dims', 'i32vec']],
};

/** Default values of option fields that a FlatBuffer omits when they equal the schema default. */
const OPTION_DEFAULTS: Record<string, number> = {
  dilation_w_factor: 1,
  dilation_h_factor: 1,
  beta: 0,
};

function field(bb: ByteBuffer, table: number, index: number): number {
  return bb.__offset(table, 4 + 2 * index);
}

function readIntVector(bb: ByteBuffer, table: number, index: number): number[] {
  const off = field(bb, table, index);
  if (!off) return [];
  const start = bb.__vector(table + off);
  const n = bb.__vector_len(table + off);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(bb.readInt32(start + 4 * i));
  return out;
}

function readTableVector(bb: ByteBuffer, table: number, index: number): number[] {
  const off = field(bb, table, index);
  if (!off) return [];
  const start = bb.__vector(table + off);
  const n = bb.__vector_len(table + off);
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(bb.__indirect(start + 4 * i));
  return out;
}

function readOptions(bb: ByteBuffer, opTable: number): Record<string, number | number[]> {
  const typeOff = field(bb, opTable, 3);
  const optType = typeOff ? bb.readUint8(opTable + typeOff) : 0;
  const layout = OPTIONS[optType];
  const valOff = field(bb, opTable, 4);
  const result: Record<string, number | number[]> = {};
  if (!layout) return result;
  const t = valOff ? bb.__indirect(opTable + valOff) : 0;
  layout.forEach(([name, kind], i) => {
    const off = t ? field(bb, t, i) : 0;
    if (kind === 'i32vec') {
      result[name] = off ? readIntVector(bb, t, i) : [];
      return;
    }
    if (!off) {
      result[name] = OPTION_DEFAULTS[name] ?? 0;
      return;
    }
    const pos = t + off;
    result[name] =
      kind === 'i8'
        ? bb.readInt8(pos)
        : kind === 'bool'
          ? bb.readInt8(pos)
          : kind === 'f32'
            ? bb.readFloat32(pos)
            : bb.readInt32(pos);
  });
  return result;
}

function copyBufferData(bytes: Uint8Array, type: number): Float32Array | Int32Array {
  // Copy into an aligned buffer: FlatBuffer vectors are only 4-byte aligned relative to the file.
  const copy = new Uint8Array(bytes.byteLength);
  copy.set(bytes);
  return type === TensorType.INT32 ? new Int32Array(copy.buffer) : new Float32Array(copy.buffer);
}

/**
 * Parses a `.tflite` file into plain tensors and operators.
 *
 * @example
 * const graph = readTflite(await readFile('pnet.tflite'));
 * graph.operators.map((op) => BuiltinOpName[op.opcode]);
 */
export function readTflite(file: Uint8Array): TfliteGraph {
  if (file.byteLength < 8 || String.fromCharCode(...file.subarray(4, 8)) !== 'TFL3') {
    throw new FaceVerifyError('MODEL_INVALID', 'Not a TensorFlow Lite model (missing TFL3 identifier)');
  }
  const bb = new ByteBuffer(file);
  const model = bb.readInt32(bb.position()) + bb.position();
  const versionOff = field(bb, model, 0);
  const version = versionOff ? bb.readUint32(model + versionOff) : 0;

  const opcodes = readTableVector(bb, model, 1).map((t) => {
    const deprecated = field(bb, t, 0) ? bb.readInt8(t + field(bb, t, 0)) : 0;
    const builtin = field(bb, t, 3) ? bb.readInt32(t + field(bb, t, 3)) : 0;
    // Newer files store codes ≥ 127 in `builtin_code`; older ones only in the deprecated byte.
    return Math.max(deprecated, builtin);
  });

  const buffers = readTableVector(bb, model, 4).map((t) => {
    const off = field(bb, t, 0);
    if (!off) return null;
    const start = bb.__vector(t + off);
    const n = bb.__vector_len(t + off);
    return file.subarray(start, start + n);
  });

  const subgraphs = readTableVector(bb, model, 2);
  const sg = subgraphs[0];
  if (sg === undefined) throw new FaceVerifyError('MODEL_INVALID', 'TensorFlow Lite model has no subgraph');

  const tensors = readTableVector(bb, sg, 0).map((t, index): TfliteTensor => {
    const shape = readIntVector(bb, t, 0);
    const type = field(bb, t, 1) ? bb.readInt8(t + field(bb, t, 1)) : 0;
    const bufIndex = field(bb, t, 2) ? bb.readUint32(t + field(bb, t, 2)) : 0;
    const name = field(bb, t, 3) ? (bb.__string(t + field(bb, t, 3)) as string) : `t${index}`;
    const raw = buffers[bufIndex];
    const data = raw && raw.byteLength > 0 ? copyBufferData(raw, type) : null;
    return { index, name, shape, type, data };
  });

  const operators = readTableVector(bb, sg, 3).map((t): TfliteOperator => {
    const opcodeIndex = field(bb, t, 0) ? bb.readUint32(t + field(bb, t, 0)) : 0;
    const opcode = opcodes[opcodeIndex];
    if (opcode === undefined) throw new FaceVerifyError('MODEL_INVALID', `Bad opcode index ${opcodeIndex}`);
    return {
      opcode,
      inputs: readIntVector(bb, t, 1),
      outputs: readIntVector(bb, t, 2),
      options: readOptions(bb, t),
    };
  });

  return { version, tensors, operators, inputs: readIntVector(bb, sg, 1), outputs: readIntVector(bb, sg, 2) };
}
