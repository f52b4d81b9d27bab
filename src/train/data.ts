// A node-classification dataset on the GPU: features, graph, labels and split masks.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { splitEdgeIndex, type EdgeIndex } from '../graph.ts';
import { validateLabels } from '../kernels/loss.ts';
import { uploadSparse, uploadSparseTranspose, validateSparse, type SparseRows } from '../kernels/spmm.ts';
import { GraphSet } from '../nn/graphs.ts';
import type { NodeFeatures } from '../nn/model.ts';
import { releaseOnThrow } from './cleanup.ts';

export interface NodeDataset {
  numNodes: number;
  numFeatures: number;
  numClasses: number;
  /** Sparse CSR rows, or dense row-major [numNodes * numFeatures]. */
  features: SparseRows | Float32Array;
  labels: Int32Array;
  edgeIndex: EdgeIndex;
  trainMask: Uint8Array;
  valMask: Uint8Array;
  testMask: Uint8Array;
}

export type Split = 'train' | 'val' | 'test';

export interface GpuDataset {
  numNodes: number;
  numFeatures: number;
  numClasses: number;
  features: NodeFeatures;
  graphs: GraphSet;
  labels: Tensor;
  masks: Record<Split, Tensor>;
  counts: Record<Split, number>;
  dispose(): void;
}

/** Checks every shape and value of `d`, so that nothing is uploaded from data that would be refused part-way. */
export function checkNodeDataset(d: NodeDataset): void {
  const n = d.numNodes;
  if (!Number.isInteger(n) || n < 0) throw new Error(`numNodes must be a non-negative integer, got ${n}`);
  if (d.labels.length !== n) throw new Error(`Shape mismatch: ${d.labels.length} labels for ${n} nodes`);
  validateLabels(d.labels, d.numClasses);
  if (d.features instanceof Float32Array) {
    if (d.features.length !== n * d.numFeatures) throw new Error(`Shape mismatch: ${d.features.length} feature values, expected ${n} x ${d.numFeatures}`);
    const bad = d.features.findIndex((v) => !Number.isFinite(v));
    if (bad >= 0) throw new Error(`NaN or infinite value in features at node ${Math.floor(bad / d.numFeatures)}, feature ${bad % d.numFeatures}`);
  } else {
    if (d.features.rows !== n || d.features.cols !== d.numFeatures) {
      throw new Error(`Shape mismatch: features are ${d.features.rows} x ${d.features.cols}, expected ${n} x ${d.numFeatures}`);
    }
    validateSparse(d.features, 'features');
  }
  splitEdgeIndex(d.edgeIndex, n);
  for (const [split, m] of [['train', d.trainMask], ['val', d.valMask], ['test', d.testMask]] as const) {
    if (m.length !== n) throw new Error(`Shape mismatch: ${split} mask has ${m.length} entries for ${n} nodes`);
  }
}

/** Checks the whole dataset, then uploads it; a failure part-way (a device limit) frees what was uploaded. */
export function uploadDataset(gpu: Gpu, d: NodeDataset): GpuDataset {
  checkNodeDataset(d);
  return releaseOnThrow(gpu, () => upload(gpu, d));
}

function upload(gpu: Gpu, d: NodeDataset): GpuDataset {
  const n = d.numNodes;
  let features: NodeFeatures;
  if (d.features instanceof Float32Array) {
    features = { kind: 'dense', x: gpu.tensor('f32', [n, d.numFeatures], d.features) };
  } else {
    features = { kind: 'sparse', x: uploadSparse(gpu, d.features), xT: uploadSparseTranspose(gpu, d.features) };
  }
  const graphs = new GraphSet(gpu, d.edgeIndex, n);
  const masks = {} as Record<Split, Tensor>;
  const counts = {} as Record<Split, number>;
  for (const [split, m] of [['train', d.trainMask], ['val', d.valMask], ['test', d.testMask]] as const) {
    masks[split] = gpu.tensor('u32', [n], Uint32Array.from(m, (v) => (v ? 1 : 0)));
    counts[split] = m.reduce((s, v) => s + (v ? 1 : 0), 0);
  }
  const labels = gpu.tensor('i32', [n], d.labels);
  return {
    numNodes: n, numFeatures: d.numFeatures, numClasses: d.numClasses, features, graphs, labels, masks, counts,
    dispose() {
      if (features.kind === 'sparse') (features.x.dispose(), features.xT.dispose());
      else features.x.dispose();
      graphs.dispose();
      labels.dispose();
      Object.values(masks).forEach((t) => t.dispose());
    },
  };
}
