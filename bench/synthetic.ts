// Synthetic inputs for the benchmarks, all from a seeded generator so that every run measures the same data:
// power-law graphs (a Chung-Lu-style model) and node-classification datasets shaped like ogbn-arxiv.
import type { NodeDataset } from '../src/train/data.ts';

/** A seeded uniform generator on [0, 1) (mulberry32). */
export function seededRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller). */
function normal(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
}

export interface EdgeList {
  numNodes: number;
  src: Uint32Array;
  dst: Uint32Array;
}

/**
 * A directed graph whose in- and out-degrees follow a power law: each endpoint is drawn independently with
 * probability proportional to w_i = (i + 1)^(-1 / (gamma - 1)) (degree exponent gamma, 2.5 by default, about that
 * of citation graphs), and node ids are shuffled so hubs are spread over the id range (no free locality).
 * Self loops may occur; the layers remove them and add one per node, as PyG does. Duplicates are kept.
 */
export function powerLawGraph(numNodes: number, numEdges: number, seed = 1, gamma = 2.5): EdgeList {
  const rng = seededRng(seed);
  const cdf = new Float64Array(numNodes);
  let acc = 0;
  for (let i = 0; i < numNodes; i++) cdf[i] = acc += (i + 1) ** (-1 / (gamma - 1));
  const ids = new Uint32Array(numNodes);
  for (let i = 0; i < numNodes; i++) ids[i] = i;
  for (let i = numNodes - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [ids[i], ids[j]] = [ids[j], ids[i]];
  }
  const draw = () => {
    const x = rng() * acc;
    let lo = 0,
      hi = numNodes - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return ids[lo];
  };
  const src = new Uint32Array(numEdges);
  const dst = new Uint32Array(numEdges);
  for (let k = 0; k < numEdges; k++) (src[k] = draw()), (dst[k] = draw());
  return { numNodes, src, dst };
}

/** Largest in-degree and the mean in-degree of an edge list (before self loops are added). */
export function degreeStats(g: EdgeList): { maxIn: number; meanIn: number } {
  const deg = new Uint32Array(g.numNodes);
  for (const d of g.dst) deg[d]++;
  let maxIn = 0;
  for (const d of deg) maxIn = Math.max(maxIn, d);
  return { maxIn, meanIn: g.dst.length / g.numNodes };
}

export interface SyntheticShape {
  nodes: number;
  edges: number;
  features: number;
  classes: number;
}

/** ogbn-arxiv's size: 169,343 nodes, 1,166,243 edges, 128 dense features, 40 classes. */
export const ARXIV: SyntheticShape = { nodes: 169_343, edges: 1_166_243, features: 128, classes: 40 };

/** The same shape scaled down by `fraction` in nodes and edges (features and classes kept). */
export function scaled(shape: SyntheticShape, fraction: number): SyntheticShape {
  return { ...shape, nodes: Math.round(shape.nodes * fraction), edges: Math.round(shape.edges * fraction) };
}

/**
 * A node-classification dataset of the given shape: power-law graph, dense N(0, 1) features, uniform labels,
 * and arxiv's split proportions (54% train, 18% validation, 28% test) over shuffled nodes.
 */
export function syntheticDataset(shape: SyntheticShape, seed = 7): NodeDataset {
  const { nodes: n, edges, features: f, classes } = shape;
  const g = powerLawGraph(n, edges, seed);
  const rng = seededRng(seed ^ 0x5bd1e995);
  const x = new Float32Array(n * f);
  for (let i = 0; i < x.length; i++) x[i] = normal(rng);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) labels[i] = Math.floor(rng() * classes);
  const trainMask = new Uint8Array(n),
    valMask = new Uint8Array(n),
    testMask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const u = rng();
    (u < 0.54 ? trainMask : u < 0.72 ? valMask : testMask)[i] = 1;
  }
  return {
    numNodes: n,
    numFeatures: f,
    numClasses: classes,
    features: x,
    labels,
    edgeIndex: [g.src, g.dst],
    trainMask,
    valMask,
    testMask,
  };
}
