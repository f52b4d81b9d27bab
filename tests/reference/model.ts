// Float64 reference of the GAT / GATv2 layers and the two-layer model, forward and hand-written backward,
// in plain loops over dense arrays. Parameters use the library's internal names and layouts
// (`lin.weight` [in, P], `lin.bias` [P], `att` [H*C], `att_src`, `att_dst`, `bias`, `res` [in, out]; with edge
// features `lin_edge.weight` [D, H*C] and GAT's `att_edge` [H*C]). Edge attributes come in CSR order, self loops
// filled (reference/edge-attr.ts builds them).
import type { EdgeList } from './edge-scores.ts';
import { leakyRelu, leakyReluGrad } from './common.ts';
import { matmul } from './matmul.ts';
import { segmentSoftmax, segmentSoftmaxBackward } from './softmax.ts';

export type Params = Map<string, Float64Array>;

export interface LayerSpec {
  kind: 'gatv2' | 'gat';
  inChannels: number;
  channels: number;
  heads: number;
  concat: boolean;
  slope: number;
  bias: boolean;
  shareWeights: boolean;
  residual: boolean;
}

/** Edges in the order the GPU holds them (CSR by destination). */
export type Edges = EdgeList;

interface LayerCache {
  x: Float64Array;
  lin: Float64Array;
  alpha: Float64Array;
  /** alpha times its dropout multiplier */
  alphaD: Float64Array;
  z?: Float64Array; // GATv2: xl[src] + xr[dst] (+ el), [E, H, C]
  s?: Float64Array; // GAT: a_src[src] + a_dst[dst] (+ a_edge), [E, H]
  /** With edge features: the attributes [E, D] (CSR order) and el = their lin_edge [E, H*C]. */
  edge?: { attr: Float64Array; D: number; el: Float64Array };
}

const outWidth = (L: LayerSpec) => (L.concat ? L.heads * L.channels : L.channels);
const linWidth = (L: LayerSpec) => (L.kind === 'gat' || L.shareWeights ? 1 : 2) * L.heads * L.channels;

/** y = x w, x [n, fin], w [fin, fout] */
const times = (x: Float64Array, w: ArrayLike<number>, n: number, fin: number, fout: number) =>
  matmul(x, w, { m: n, k: fin, n: fout });
/** x^T dy: [fin, fout] */
const transposeTimes = (x: Float64Array, dy: Float64Array, n: number, fin: number, fout: number) =>
  matmul(x, dy, { m: fin, k: n, n: fout, transA: true });
/** dy w^T: [n, fin] */
const timesTransposed = (dy: Float64Array, w: ArrayLike<number>, n: number, fin: number, fout: number) =>
  matmul(dy, w, { m: n, k: fout, n: fin, transB: true });

/** The layer's forward; `edgeAttr` [E, D] (CSR order, self loops filled) adds the edge term. */
export function layerForward(
  L: LayerSpec,
  p: Params,
  x: Float64Array,
  g: Edges,
  alphaMask: ArrayLike<number>,
  edgeAttr?: Float64Array,
): { out: Float64Array; cache: LayerCache } {
  const { heads: H, channels: C, inChannels: fin } = L;
  const HC = H * C,
    P = linWidth(L),
    N = g.numNodes,
    E = g.src.length;
  const lin = times(x, p.get('lin.weight')!, N, fin, P);
  if (L.kind === 'gatv2' && L.bias)
    for (let r = 0; r < N; r++) for (let j = 0; j < P; j++) lin[r * P + j] += p.get('lin.bias')![j];
  const e = new Float64Array(E * H);
  const cache: LayerCache = { x, lin, alpha: e, alphaD: e };
  let el: Float64Array | null = null;
  if (edgeAttr) {
    const D = E > 0 ? edgeAttr.length / E : p.get('lin_edge.weight')!.length / HC;
    el = times(edgeAttr, p.get('lin_edge.weight')!, E, D, HC);
    cache.edge = { attr: edgeAttr, D, el };
  }
  if (L.kind === 'gatv2') {
    const rOff = L.shareWeights ? 0 : HC;
    const att = p.get('att')!;
    const z = new Float64Array(E * HC);
    for (let k = 0; k < E; k++)
      for (let h = 0; h < H; h++)
        for (let c = 0; c < C; c++) {
          const v =
            lin[g.src[k] * P + h * C + c] + lin[g.dst[k] * P + rOff + h * C + c] + (el ? el[k * HC + h * C + c] : 0);
          z[k * HC + h * C + c] = v;
          e[k * H + h] += att[h * C + c] * leakyRelu(v, L.slope);
        }
    cache.z = z;
  } else {
    const aS = new Float64Array(N * H),
      aD = new Float64Array(N * H);
    const attS = p.get('att_src')!,
      attD = p.get('att_dst')!;
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++)
        for (let c = 0; c < C; c++) {
          aS[n * H + h] += lin[n * HC + h * C + c] * attS[h * C + c];
          aD[n * H + h] += lin[n * HC + h * C + c] * attD[h * C + c];
        }
    const aE = new Float64Array(E * H);
    if (el) {
      const attE = p.get('att_edge')!;
      for (let k = 0; k < E; k++)
        for (let h = 0; h < H; h++)
          for (let c = 0; c < C; c++) aE[k * H + h] += el[k * HC + h * C + c] * attE[h * C + c];
    }
    const s = new Float64Array(E * H);
    for (let k = 0; k < E; k++)
      for (let h = 0; h < H; h++) {
        s[k * H + h] = aS[g.src[k] * H + h] + aD[g.dst[k] * H + h] + aE[k * H + h];
        e[k * H + h] = leakyRelu(s[k * H + h], L.slope);
      }
    cache.s = s;
  }
  const alpha = segmentSoftmax(g, e, H);
  const alphaD = alpha.map((a, i) => a * alphaMask[i]);
  cache.alpha = alpha;
  cache.alphaD = alphaD;
  const agg = new Float64Array(N * HC);
  for (let k = 0; k < E; k++)
    for (let h = 0; h < H; h++)
      for (let c = 0; c < C; c++) {
        agg[g.dst[k] * HC + h * C + c] += alphaD[k * H + h] * lin[g.src[k] * P + h * C + c];
      }
  const W = outWidth(L);
  let out = agg;
  if (!L.concat) {
    out = new Float64Array(N * C);
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++) for (let c = 0; c < C; c++) out[n * C + c] += agg[n * HC + h * C + c] / H;
  }
  if (L.residual) {
    const r = times(x, p.get('res')!, N, fin, W);
    out = out.map((v, i) => v + r[i]);
  }
  if (L.bias) out = out.map((v, i) => v + p.get('bias')![i % W]);
  return { out, cache };
}

/** Gradients of every parameter of the layer (internal names), of its input and of its edge attributes (CSR order). */
export function layerBackward(
  L: LayerSpec,
  p: Params,
  cache: LayerCache,
  g: Edges,
  alphaMask: ArrayLike<number>,
  dout: Float64Array,
): { grads: Params; dx: Float64Array; dEdgeAttr: Float64Array | null } {
  const { heads: H, channels: C, inChannels: fin } = L;
  const HC = H * C,
    P = linWidth(L),
    N = g.numNodes,
    E = g.src.length,
    W = outWidth(L);
  const { x, lin, alpha, alphaD } = cache;
  const grads: Params = new Map();
  if (L.bias) {
    const db = new Float64Array(W);
    for (let i = 0; i < dout.length; i++) db[i % W] += dout[i];
    grads.set('bias', db);
  }
  let dxRes: Float64Array | null = null;
  if (L.residual) {
    grads.set('res', transposeTimes(x, dout, N, fin, W));
    dxRes = timesTransposed(dout, p.get('res')!, N, fin, W);
  }
  const dagg = L.concat
    ? dout
    : Float64Array.from({ length: N * HC }, (_, i) => dout[Math.floor(i / HC) * C + (i % C)] / H);
  // Aggregation: agg[dst] += alphaD * xl[src]
  const dlin = new Float64Array(N * P);
  const dalpha = new Float64Array(E * H);
  for (let k = 0; k < E; k++)
    for (let h = 0; h < H; h++) {
      let s = 0;
      for (let c = 0; c < C; c++) {
        const up = dagg[g.dst[k] * HC + h * C + c];
        s += up * lin[g.src[k] * P + h * C + c];
        dlin[g.src[k] * P + h * C + c] += alphaD[k * H + h] * up;
      }
      dalpha[k * H + h] = s * alphaMask[k * H + h];
    }
  const de = segmentSoftmaxBackward(g, alpha, dalpha, H);
  const del = cache.edge ? new Float64Array(E * HC) : null; // d el
  if (L.kind === 'gatv2') {
    const rOff = L.shareWeights ? 0 : HC;
    const att = p.get('att')!,
      z = cache.z!;
    const datt = new Float64Array(HC);
    for (let k = 0; k < E; k++)
      for (let h = 0; h < H; h++)
        for (let c = 0; c < C; c++) {
          const v = z[k * HC + h * C + c];
          datt[h * C + c] += de[k * H + h] * leakyRelu(v, L.slope);
          const dz = de[k * H + h] * att[h * C + c] * leakyReluGrad(v, L.slope);
          dlin[g.src[k] * P + h * C + c] += dz;
          dlin[g.dst[k] * P + rOff + h * C + c] += dz;
          if (del) del[k * HC + h * C + c] = dz;
        }
    grads.set('att', datt);
    if (L.bias) {
      const db = new Float64Array(P);
      for (let i = 0; i < dlin.length; i++) db[i % P] += dlin[i];
      grads.set('lin.bias', db);
    }
  } else {
    const s = cache.s!;
    const daS = new Float64Array(N * H),
      daD = new Float64Array(N * H);
    const attE = p.get('att_edge');
    const dattE = new Float64Array(HC);
    for (let k = 0; k < E; k++)
      for (let h = 0; h < H; h++) {
        const ds = de[k * H + h] * leakyReluGrad(s[k * H + h], L.slope);
        daS[g.src[k] * H + h] += ds;
        daD[g.dst[k] * H + h] += ds;
        if (del) {
          for (let c = 0; c < C; c++) {
            dattE[h * C + c] += ds * cache.edge!.el[k * HC + h * C + c];
            del[k * HC + h * C + c] = ds * attE![h * C + c];
          }
        }
      }
    if (del) grads.set('att_edge', dattE);
    const attS = p.get('att_src')!,
      attD = p.get('att_dst')!;
    const dS = new Float64Array(HC),
      dD = new Float64Array(HC);
    for (let n = 0; n < N; n++)
      for (let h = 0; h < H; h++)
        for (let c = 0; c < C; c++) {
          const i = n * HC + h * C + c;
          dS[h * C + c] += daS[n * H + h] * lin[i];
          dD[h * C + c] += daD[n * H + h] * lin[i];
          dlin[i] += daS[n * H + h] * attS[h * C + c] + daD[n * H + h] * attD[h * C + c];
        }
    grads.set('att_src', dS);
    grads.set('att_dst', dD);
  }
  grads.set('lin.weight', transposeTimes(x, dlin, N, fin, P));
  const dx = timesTransposed(dlin, p.get('lin.weight')!, N, fin, P);
  if (dxRes) for (let i = 0; i < dx.length; i++) dx[i] += dxRes[i];
  let dEdgeAttr: Float64Array | null = null;
  if (del) {
    const { attr, D } = cache.edge!;
    grads.set('lin_edge.weight', transposeTimes(attr, del, E, D, HC));
    dEdgeAttr = timesTransposed(del, p.get('lin_edge.weight')!, E, D, HC);
  }
  return { grads, dx, dEdgeAttr };
}

export interface ModelSpec {
  conv1: LayerSpec;
  conv2: LayerSpec;
  graph1: Edges;
  graph2: Edges;
  /** Dropout multipliers (0 or 1/(1-p)), as the GPU hashes them. */
  inputMask: ArrayLike<number>;
  hiddenMask: ArrayLike<number>;
  alphaMask1: ArrayLike<number>;
  alphaMask2: ArrayLike<number>;
  labels: ArrayLike<number>;
  trainMask: ArrayLike<number>;
  classes: number;
}

/** log-softmax + mean NLL over the masked rows; returns the loss and d loss / d logits. */
export function nll(
  logits: Float64Array,
  labels: ArrayLike<number>,
  mask: ArrayLike<number>,
  K: number,
): { loss: number; dlogits: Float64Array } {
  const N = labels.length;
  let count = 0;
  for (let n = 0; n < N; n++) if (mask[n]) count++;
  let loss = 0;
  const d = new Float64Array(N * K);
  for (let n = 0; n < N; n++) {
    if (!mask[n]) continue;
    let m = -Infinity;
    for (let c = 0; c < K; c++) m = Math.max(m, logits[n * K + c]);
    let s = 0;
    for (let c = 0; c < K; c++) s += Math.exp(logits[n * K + c] - m);
    const lse = m + Math.log(s);
    loss -= (logits[n * K + labels[n]] - lse) / count;
    for (let c = 0; c < K; c++) d[n * K + c] = (Math.exp(logits[n * K + c] - lse) - (c === labels[n] ? 1 : 0)) / count;
  }
  return { loss, dlogits: d };
}

/** Loss of the two-layer model and the gradient of every parameter (names prefixed conv1. / conv2.). */
export function modelLossAndGrads(
  m: ModelSpec,
  p: Params,
  x: Float64Array,
): { loss: number; grads: Params; logits: Float64Array } {
  const sub = (prefix: string) =>
    new Map([...p].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v]));
  const p1 = sub('conv1.'),
    p2 = sub('conv2.');
  const xd = x.map((v, i) => v * m.inputMask[i]);
  const l1 = layerForward(m.conv1, p1, xd, m.graph1, m.alphaMask1);
  const h = l1.out;
  const act = h.map((v) => (v > 0 ? v : Math.expm1(v)));
  const actD = act.map((v, i) => v * m.hiddenMask[i]);
  const l2 = layerForward(m.conv2, p2, actD, m.graph2, m.alphaMask2);
  const { loss, dlogits } = nll(l2.out, m.labels, m.trainMask, m.classes);
  const b2 = layerBackward(m.conv2, p2, l2.cache, m.graph2, m.alphaMask2, dlogits);
  const dh = b2.dx.map((v, i) => v * m.hiddenMask[i] * (h[i] > 0 ? 1 : Math.exp(h[i])));
  const b1 = layerBackward(m.conv1, p1, l1.cache, m.graph1, m.alphaMask1, dh);
  const grads: Params = new Map();
  for (const [k, v] of b1.grads) grads.set('conv1.' + k, v);
  for (const [k, v] of b2.grads) grads.set('conv2.' + k, v);
  return { loss, grads, logits: l2.out };
}
