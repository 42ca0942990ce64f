/**
 * A reference InceptionResnetV1 for tests: the parameters of facenet-pytorch's module (names, shapes,
 * registration order) and its forward pass in naive NCHW loops, written from
 * `models/inception_resnet_v1.py` without folding anything (conv, then batch norm with its running
 * statistics, then ReLU; residual `out · scale + x`). Shares no code with src/models/facenet, so the
 * ONNX graph built there can be checked against it.
 *
 * Widths are parameters so tests can use a narrower network with the same structure and names;
 * {@link FULL_WIDTHS} are the published model's.
 */

export interface IrV1Widths {
  /** conv2d_1a, 2a, 2b, 3b, 4a, 4b output channels. */
  stem: [number, number, number, number, number, number];
  /** Every branch conv of a Block35. */
  block35: number;
  /** Mixed_6a: branch0, branch1.0, branch1.1, branch1.2. */
  mixed6a: [number, number, number, number];
  block17: number;
  /** Mixed_7a: branch0.0, branch0.1, branch1.0, branch1.1, branch2.0, branch2.1, branch2.2. */
  mixed7a: [number, number, number, number, number, number, number];
  block8: number;
  embedding: number;
  /** Classes of the `logits` layer a pretrained checkpoint carries (unused for embeddings). */
  classes: number;
}

export const FULL_WIDTHS: IrV1Widths = {
  stem: [32, 32, 64, 80, 192, 256],
  block35: 32,
  mixed6a: [384, 192, 192, 256],
  block17: 128,
  mixed7a: [256, 384, 256, 256, 256, 256, 256],
  block8: 192,
  embedding: 512,
  classes: 8631,
};

/** One eighth of the widths (the embedding stays 512): about 1/50 of the work. */
export const NARROW_WIDTHS: IrV1Widths = {
  stem: [4, 4, 8, 10, 24, 32],
  block35: 4,
  mixed6a: [48, 24, 24, 32],
  block17: 16,
  mixed7a: [32, 48, 32, 32, 32, 32, 32],
  block8: 24,
  embedding: 512,
  classes: 10,
};

export interface Param {
  name: string;
  shape: number[];
  /** How to initialise it. */
  role: 'conv' | 'bias' | 'gamma' | 'beta' | 'mean' | 'var' | 'count' | 'linear';
}

/** The state_dict entries of InceptionResnetV1(pretrained=…) in PyTorch's order. */
export function irV1Params(w: IrV1Widths): Param[] {
  const out: Param[] = [];
  const basic = (name: string, cin: number, cout: number, kh: number, kw = kh): number => {
    out.push({ name: `${name}.conv.weight`, shape: [cout, cin, kh, kw], role: 'conv' });
    out.push({ name: `${name}.bn.weight`, shape: [cout], role: 'gamma' });
    out.push({ name: `${name}.bn.bias`, shape: [cout], role: 'beta' });
    out.push({ name: `${name}.bn.running_mean`, shape: [cout], role: 'mean' });
    out.push({ name: `${name}.bn.running_var`, shape: [cout], role: 'var' });
    out.push({ name: `${name}.bn.num_batches_tracked`, shape: [], role: 'count' });
    return cout;
  };
  const up = (name: string, cin: number, cout: number): void => {
    out.push({ name: `${name}.conv2d.weight`, shape: [cout, cin, 1, 1], role: 'conv' });
    out.push({ name: `${name}.conv2d.bias`, shape: [cout], role: 'bias' });
  };
  const [s1, s2, s3, s4, s5, s6] = w.stem;
  basic('conv2d_1a', 3, s1, 3);
  basic('conv2d_2a', s1, s2, 3);
  basic('conv2d_2b', s2, s3, 3);
  basic('conv2d_3b', s3, s4, 1);
  basic('conv2d_4a', s4, s5, 3);
  let c = basic('conv2d_4b', s5, s6, 3);
  for (let i = 0; i < 5; i++) {
    const p = `repeat_1.${i}`;
    const b = w.block35;
    basic(`${p}.branch0`, c, b, 1);
    basic(`${p}.branch1.0`, c, b, 1);
    basic(`${p}.branch1.1`, b, b, 3);
    basic(`${p}.branch2.0`, c, b, 1);
    basic(`${p}.branch2.1`, b, b, 3);
    basic(`${p}.branch2.2`, b, b, 3);
    up(p, 3 * b, c);
  }
  const [m0, m10, m11, m12] = w.mixed6a;
  basic('mixed_6a.branch0', c, m0, 3);
  basic('mixed_6a.branch1.0', c, m10, 1);
  basic('mixed_6a.branch1.1', m10, m11, 3);
  basic('mixed_6a.branch1.2', m11, m12, 3);
  c = m0 + m12 + c;
  for (let i = 0; i < 10; i++) {
    const p = `repeat_2.${i}`;
    const b = w.block17;
    basic(`${p}.branch0`, c, b, 1);
    basic(`${p}.branch1.0`, c, b, 1);
    basic(`${p}.branch1.1`, b, b, 1, 7);
    basic(`${p}.branch1.2`, b, b, 7, 1);
    up(p, 2 * b, c);
  }
  const [n00, n01, n10, n11, n20, n21, n22] = w.mixed7a;
  basic('mixed_7a.branch0.0', c, n00, 1);
  basic('mixed_7a.branch0.1', n00, n01, 3);
  basic('mixed_7a.branch1.0', c, n10, 1);
  basic('mixed_7a.branch1.1', n10, n11, 3);
  basic('mixed_7a.branch2.0', c, n20, 1);
  basic('mixed_7a.branch2.1', n20, n21, 3);
  basic('mixed_7a.branch2.2', n21, n22, 3);
  c = n01 + n11 + n22 + c;
  for (const p of ['repeat_3.0', 'repeat_3.1', 'repeat_3.2', 'repeat_3.3', 'repeat_3.4', 'block8']) {
    const b = w.block8;
    basic(`${p}.branch0`, c, b, 1);
    basic(`${p}.branch1.0`, c, b, 1);
    basic(`${p}.branch1.1`, b, b, 1, 3);
    basic(`${p}.branch1.2`, b, b, 3, 1);
    up(p, 2 * b, c);
  }
  out.push({ name: 'last_linear.weight', shape: [w.embedding, c], role: 'linear' });
  out.push({ name: 'last_bn.weight', shape: [w.embedding], role: 'gamma' });
  out.push({ name: 'last_bn.bias', shape: [w.embedding], role: 'beta' });
  out.push({ name: 'last_bn.running_mean', shape: [w.embedding], role: 'mean' });
  out.push({ name: 'last_bn.running_var', shape: [w.embedding], role: 'var' });
  out.push({ name: 'last_bn.num_batches_tracked', shape: [], role: 'count' });
  out.push({ name: 'logits.weight', shape: [w.classes, w.embedding], role: 'linear' });
  out.push({ name: 'logits.bias', shape: [w.classes], role: 'bias' });
  return out;
}

/** mulberry32: a small, fixed-seed PRNG (uniform in [0, 1)). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Random values for a parameter: He-uniform weights, batch-norm statistics near identity. */
export function randomParam(p: Param, rand: () => number): Float32Array | BigInt64Array {
  const n = p.shape.reduce((a, b) => a * b, 1);
  const u = (lo: number, hi: number): Float32Array => {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * rand();
    return out;
  };
  const fanIn = p.shape.slice(1).reduce((a, b) => a * b, 1);
  switch (p.role) {
    case 'conv': {
      const a = Math.sqrt(6 / fanIn);
      return u(-a, a);
    }
    case 'linear': {
      const a = Math.sqrt(3 / fanIn);
      return u(-a, a);
    }
    case 'bias':
      return u(-0.1, 0.1);
    case 'gamma':
      return u(0.5, 1.5);
    case 'beta':
    case 'mean':
      return u(-0.2, 0.2);
    case 'var':
      return u(0.5, 1.5);
    case 'count':
      return BigInt64Array.of(BigInt(Math.floor(rand() * 100_000)));
  }
}

// ---------------------------------------------------------------------------------------------
// Forward pass

export interface Nchw {
  data: Float32Array;
  n: number;
  c: number;
  h: number;
  w: number;
}

export type Params = ReadonlyMap<string, { shape: number[]; data: Float32Array }>;

function param(p: Params, name: string): { shape: number[]; data: Float32Array } {
  const t = p.get(name);
  if (!t) throw new Error(`reference: missing ${name}`);
  return t;
}

function conv2d(
  x: Nchw,
  weight: { shape: number[]; data: Float32Array },
  bias: Float32Array | null,
  stride: number,
  pad: [number, number],
): Nchw {
  const [co, ci, kh, kw] = weight.shape as [number, number, number, number];
  if (ci !== x.c) throw new Error(`reference: conv expects ${ci} channels, got ${x.c}`);
  const [ph, pw] = pad;
  const h = Math.floor((x.h + 2 * ph - kh) / stride) + 1;
  const w = Math.floor((x.w + 2 * pw - kw) / stride) + 1;
  const out = new Float32Array(x.n * co * h * w);
  for (let b = 0; b < x.n; b++)
    for (let o = 0; o < co; o++)
      for (let oy = 0; oy < h; oy++)
        for (let ox = 0; ox < w; ox++) {
          let acc = bias ? (bias[o] as number) : 0;
          for (let i = 0; i < ci; i++)
            for (let ky = 0; ky < kh; ky++) {
              const iy = oy * stride - ph + ky;
              if (iy < 0 || iy >= x.h) continue;
              for (let kx = 0; kx < kw; kx++) {
                const ix = ox * stride - pw + kx;
                if (ix < 0 || ix >= x.w) continue;
                acc +=
                  (x.data[((b * x.c + i) * x.h + iy) * x.w + ix] as number) *
                  (weight.data[((o * ci + i) * kh + ky) * kw + kx] as number);
              }
            }
          out[((b * co + o) * h + oy) * w + ox] = acc;
        }
  return { data: out, n: x.n, c: co, h, w };
}

/** BatchNorm with running statistics (inference), eps 0.001; `plane` = h·w (1 for BatchNorm1d). */
function batchNorm(
  data: Float32Array,
  n: number,
  c: number,
  plane: number,
  p: Params,
  name: string,
  eps: number,
): void {
  const g = param(p, `${name}.weight`).data;
  const beta = param(p, `${name}.bias`).data;
  const mean = param(p, `${name}.running_mean`).data;
  const variance = param(p, `${name}.running_var`).data;
  for (let b = 0; b < n; b++)
    for (let k = 0; k < c; k++) {
      const base = (b * c + k) * plane;
      for (let i = 0; i < plane; i++) {
        const v = data[base + i] as number;
        data[base + i] =
          ((v - (mean[k] as number)) / Math.sqrt((variance[k] as number) + eps)) * (g[k] as number) +
          (beta[k] as number);
      }
    }
}

function relu(x: Nchw): Nchw {
  return { ...x, data: x.data.map((v) => (v > 0 ? v : 0)) };
}

function basicConv(
  x: Nchw,
  p: Params,
  name: string,
  stride: number,
  pad: [number, number],
  eps: number,
): Nchw {
  const y = conv2d(x, param(p, `${name}.conv.weight`), null, stride, pad);
  batchNorm(y.data, y.n, y.c, y.h * y.w, p, `${name}.bn`, eps);
  return relu(y);
}

function maxPool3s2(x: Nchw): Nchw {
  const h = Math.floor((x.h - 3) / 2) + 1;
  const w = Math.floor((x.w - 3) / 2) + 1;
  const out = new Float32Array(x.n * x.c * h * w);
  for (let b = 0; b < x.n; b++)
    for (let k = 0; k < x.c; k++)
      for (let oy = 0; oy < h; oy++)
        for (let ox = 0; ox < w; ox++) {
          let m = -Infinity;
          for (let ky = 0; ky < 3; ky++)
            for (let kx = 0; kx < 3; kx++)
              m = Math.max(m, x.data[((b * x.c + k) * x.h + oy * 2 + ky) * x.w + ox * 2 + kx] as number);
          out[((b * x.c + k) * h + oy) * w + ox] = m;
        }
  return { data: out, n: x.n, c: x.c, h, w };
}

function cat(xs: Nchw[]): Nchw {
  const first = xs[0] as Nchw;
  const c = xs.reduce((a, x) => a + x.c, 0);
  const plane = first.h * first.w;
  const out = new Float32Array(first.n * c * plane);
  for (let b = 0; b < first.n; b++) {
    let k0 = 0;
    for (const x of xs) {
      out.set(x.data.subarray(b * x.c * plane, (b + 1) * x.c * plane), (b * c + k0) * plane);
      k0 += x.c;
    }
  }
  return { data: out, n: first.n, c, h: first.h, w: first.w };
}

/** out = conv2d(cat) · scale + x, then ReLU unless noReLU. */
function residual(x: Nchw, branches: Nchw[], p: Params, name: string, scale: number, noRelu: boolean): Nchw {
  const w = param(p, `${name}.conv2d.weight`);
  const up = conv2d(cat(branches), w, param(p, `${name}.conv2d.bias`).data, 1, [0, 0]);
  const out = up.data.map((v, i) => v * scale + (x.data[i] as number));
  return noRelu ? { ...x, data: out } : relu({ ...x, data: out });
}

export interface ReferenceOptions {
  /** Batch-norm epsilon (facenet-pytorch: 0.001); other values exist to show the test notices. */
  eps?: number;
}

/**
 * InceptionResnetV1.forward in eval mode: returns the L2-normalised embeddings, [n, E] row-major.
 *
 * @example
 * const emb = referenceForward(params, { data, n: 1, c: 3, h: 160, w: 160 });
 */
export function referenceForward(p: Params, input: Nchw, options: ReferenceOptions = {}): Float32Array {
  const eps = options.eps ?? 0.001;
  const bc = (x: Nchw, name: string, stride = 1, pad: [number, number] = [0, 0]): Nchw =>
    basicConv(x, p, name, stride, pad, eps);
  let x = bc(input, 'conv2d_1a', 2);
  x = bc(x, 'conv2d_2a');
  x = bc(x, 'conv2d_2b', 1, [1, 1]);
  x = maxPool3s2(x);
  x = bc(x, 'conv2d_3b');
  x = bc(x, 'conv2d_4a');
  x = bc(x, 'conv2d_4b', 2);
  for (let i = 0; i < 5; i++) {
    const n = `repeat_1.${i}`;
    const b0 = bc(x, `${n}.branch0`);
    const b1 = bc(bc(x, `${n}.branch1.0`), `${n}.branch1.1`, 1, [1, 1]);
    const b2 = bc(bc(bc(x, `${n}.branch2.0`), `${n}.branch2.1`, 1, [1, 1]), `${n}.branch2.2`, 1, [1, 1]);
    x = residual(x, [b0, b1, b2], p, n, 0.17, false);
  }
  {
    const b0 = bc(x, 'mixed_6a.branch0', 2);
    const b1 = bc(bc(bc(x, 'mixed_6a.branch1.0'), 'mixed_6a.branch1.1', 1, [1, 1]), 'mixed_6a.branch1.2', 2);
    x = cat([b0, b1, maxPool3s2(x)]);
  }
  for (let i = 0; i < 10; i++) {
    const n = `repeat_2.${i}`;
    const b0 = bc(x, `${n}.branch0`);
    const b1 = bc(bc(bc(x, `${n}.branch1.0`), `${n}.branch1.1`, 1, [0, 3]), `${n}.branch1.2`, 1, [3, 0]);
    x = residual(x, [b0, b1], p, n, 0.1, false);
  }
  {
    const b0 = bc(bc(x, 'mixed_7a.branch0.0'), 'mixed_7a.branch0.1', 2);
    const b1 = bc(bc(x, 'mixed_7a.branch1.0'), 'mixed_7a.branch1.1', 2);
    const b2 = bc(bc(bc(x, 'mixed_7a.branch2.0'), 'mixed_7a.branch2.1', 1, [1, 1]), 'mixed_7a.branch2.2', 2);
    x = cat([b0, b1, b2, maxPool3s2(x)]);
  }
  const block8 = (x: Nchw, n: string, scale: number, noRelu: boolean): Nchw => {
    const b0 = bc(x, `${n}.branch0`);
    const b1 = bc(bc(bc(x, `${n}.branch1.0`), `${n}.branch1.1`, 1, [0, 1]), `${n}.branch1.2`, 1, [1, 0]);
    return residual(x, [b0, b1], p, n, scale, noRelu);
  };
  for (let i = 0; i < 5; i++) x = block8(x, `repeat_3.${i}`, 0.2, false);
  x = block8(x, 'block8', 1, true);
  // AdaptiveAvgPool2d(1), view(n, -1), Linear without bias, BatchNorm1d, F.normalize.
  const pooled = new Float32Array(x.n * x.c);
  for (let i = 0; i < x.n * x.c; i++) {
    let s = 0;
    for (let j = 0; j < x.h * x.w; j++) s += x.data[i * x.h * x.w + j] as number;
    pooled[i] = s / (x.h * x.w);
  }
  const lw = param(p, 'last_linear.weight');
  const e = lw.shape[0] as number;
  const emb = new Float32Array(x.n * e);
  for (let b = 0; b < x.n; b++)
    for (let o = 0; o < e; o++) {
      let acc = 0;
      for (let i = 0; i < x.c; i++) acc += (lw.data[o * x.c + i] as number) * (pooled[b * x.c + i] as number);
      emb[b * e + o] = acc;
    }
  batchNorm(emb, x.n, e, 1, p, 'last_bn', eps);
  for (let b = 0; b < x.n; b++) {
    let ss = 0;
    for (let o = 0; o < e; o++) ss += (emb[b * e + o] as number) ** 2;
    const norm = Math.max(Math.sqrt(ss), 1e-12);
    for (let o = 0; o < e; o++) emb[b * e + o] = (emb[b * e + o] as number) / norm;
  }
  return emb;
}
