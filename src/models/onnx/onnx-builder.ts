/**
 * A small builder for ONNX models (protobuf `onnx.ModelProto`, encoded with `onnx-proto`).
 *
 * Converters (TFLite → ONNX, PyTorch checkpoints → ONNX) describe a graph node by node here; the
 * builder owns naming, initializers and encoding so that no converter deals with protobuf details.
 * Opset 13 is the target: every op we emit exists there with the semantics assumed by converters.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

export const ONNX_OPSET = 13;

/** Integers become INT attributes; use `{ float }` for a float that happens to be whole. */
export type AttrValue = number | number[] | string | { float: number } | { floats: number[] };

/** A symbolic or fixed dimension of a graph input/output. */
export type Dim = number | string;

export class OnnxGraphBuilder {
  private readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly used = new Set<string>();
  private counter = 0;

  constructor(private readonly graphName: string) {}

  /** A fresh tensor name with a readable prefix. */
  name(prefix: string): string {
    let candidate = prefix;
    while (this.used.has(candidate)) candidate = `${prefix}_${++this.counter}`;
    this.used.add(candidate);
    return candidate;
  }

  addInput(name: string, dims: Dim[]): void {
    this.used.add(name);
    this.inputs.push(valueInfo(name, dims));
  }

  addOutput(name: string, dims: Dim[]): void {
    this.outputs.push(valueInfo(name, dims));
  }

  /** A float32 constant; returns its name. */
  addFloat(prefix: string, dims: number[], data: Float32Array): string {
    const name = this.name(prefix);
    const expected = dims.reduce((a, b) => a * b, 1);
    if (expected !== data.length) {
      throw new Error(`initializer ${name}: ${data.length} values for dims [${dims.join(',')}]`);
    }
    this.initializers.push({
      name,
      dims,
      dataType: onnx.TensorProto.DataType.FLOAT,
      rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    });
    return name;
  }

  /** An int64 constant (shapes, axes); returns its name. */
  addInt64(prefix: string, values: number[]): string {
    const name = this.name(prefix);
    const data = BigInt64Array.from(values.map((v) => BigInt(v)));
    this.initializers.push({
      name,
      dims: [values.length],
      dataType: onnx.TensorProto.DataType.INT64,
      rawData: new Uint8Array(data.buffer),
    });
    return name;
  }

  /** Adds a node; returns the name of its (first) output. */
  node(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputName?: string): string {
    const out = outputName ?? this.name(opType.toLowerCase());
    this.used.add(out);
    this.nodes.push({
      opType,
      name: this.name(`${opType}_node`),
      input: inputs,
      output: [out],
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return out;
  }

  /** Encodes the model as ONNX protobuf bytes. */
  toBytes(producer = 'faceverify'): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 7,
      producerName: producer,
      opsetImport: [{ domain: '', version: ONNX_OPSET }],
      graph: {
        name: this.graphName,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, dims: Dim[]): onnxProto.onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: onnx.TensorProto.DataType.FLOAT,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if (typeof v === 'string') return { name, type: T.STRING, s: new TextEncoder().encode(v) };
  if (typeof v === 'number') {
    return Number.isInteger(v) ? { name, type: T.INT, i: v } : { name, type: T.FLOAT, f: v };
  }
  if (Array.isArray(v)) return { name, type: T.INTS, ints: v };
  if ('float' in v) return { name, type: T.FLOAT, f: v.float };
  return { name, type: T.FLOATS, floats: v.floats };
}
