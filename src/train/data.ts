// A node-classification dataset on the GPU: features, graph, labels and split masks.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { Data, type Split } from '../data/data.ts';
import type { EdgeIndex } from '../graph.ts';
import type { SparseRows } from '../kernels/spmm.ts';
import type { GraphSet } from '../nn/graphs.ts';
import type { NodeFeatures } from '../nn/model.ts';

export interface NodeDataset {
  numNodes: number;
  numFeatures: number;
  numClasses: number;
  /**
   * Sparse CSR rows, or dense row-major [numNodes * numFeatures]. At run time a plain number[] is accepted too
   * (finite values only).
   */
  features: SparseRows | Float32Array;
  /** Class per node. At run time a plain number[] is accepted too (integers only: never truncated). */
  labels: Int32Array;
  edgeIndex: EdgeIndex;
  trainMask: Uint8Array;
  valMask: Uint8Array;
  testMask: Uint8Array;
}

export type { Split };

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

/**
 * Checks the whole dataset, then uploads it: a thin wrapper over `new Data(...).to(gpu)` (every shape and value is
 * checked before anything is uploaded; a failure part-way, a device limit, frees what was uploaded).
 */
export function uploadDataset(gpu: Gpu, d: NodeDataset): GpuDataset {
  const data = new Data(
    {
      x: d.features,
      numNodes: d.numNodes,
      numFeatures: d.numFeatures,
      edgeIndex: d.edgeIndex,
      y: d.labels,
      numClasses: d.numClasses,
      trainMask: d.trainMask,
      valMask: d.valMask,
      testMask: d.testMask,
    },
    { names: { x: 'features', y: 'labels' } },
  );
  return data.to(gpu);
}
