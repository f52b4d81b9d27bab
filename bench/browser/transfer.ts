// Moves a NodeDataset from Node to the bench page as JSON (typed arrays as plain arrays) and back.
import type { SparseRows } from '../../src/kernels/spmm.ts';
import type { NodeDataset } from '../../src/train/data.ts';

export function datasetToJson(d: NodeDataset): string {
  const features =
    d.features instanceof Float32Array
      ? { dense: Array.from(d.features) }
      : {
          rows: d.features.rows,
          cols: d.features.cols,
          rowPtr: Array.from(d.features.rowPtr),
          colIdx: Array.from(d.features.colIdx),
          values: Array.from(d.features.values),
        };
  const edges = d.edgeIndex as ArrayLike<number> | readonly [ArrayLike<number>, ArrayLike<number>];
  const edgeIndex =
    (edges as readonly ArrayLike<number>[]).length === 2 && typeof (edges as readonly unknown[])[0] === 'object'
      ? (edges as readonly ArrayLike<number>[]).map((r) => Array.from(r))
      : Array.from(edges as ArrayLike<number>);
  return JSON.stringify({
    numNodes: d.numNodes,
    numFeatures: d.numFeatures,
    numClasses: d.numClasses,
    features,
    labels: Array.from(d.labels),
    edgeIndex,
    trainMask: Array.from(d.trainMask),
    valMask: Array.from(d.valMask),
    testMask: Array.from(d.testMask),
  });
}

interface Json {
  numNodes: number;
  numFeatures: number;
  numClasses: number;
  features: { dense: number[] } | { rows: number; cols: number; rowPtr: number[]; colIdx: number[]; values: number[] };
  labels: number[];
  edgeIndex: number[] | [number[], number[]];
  trainMask: number[];
  valMask: number[];
  testMask: number[];
}

export function datasetFromJson(text: string): NodeDataset {
  const j = JSON.parse(text) as Json;
  const f = j.features;
  const features: Float32Array | SparseRows =
    'dense' in f
      ? Float32Array.from(f.dense)
      : {
          rows: f.rows,
          cols: f.cols,
          rowPtr: Uint32Array.from(f.rowPtr),
          colIdx: Uint32Array.from(f.colIdx),
          values: Float32Array.from(f.values),
        };
  const edgeIndex =
    typeof j.edgeIndex[0] === 'object'
      ? ([Int32Array.from((j.edgeIndex as number[][])[0]), Int32Array.from((j.edgeIndex as number[][])[1])] as const)
      : Int32Array.from(j.edgeIndex as number[]);
  return {
    numNodes: j.numNodes,
    numFeatures: j.numFeatures,
    numClasses: j.numClasses,
    features,
    labels: Int32Array.from(j.labels),
    edgeIndex,
    trainMask: Uint8Array.from(j.trainMask),
    valMask: Uint8Array.from(j.valMask),
    testMask: Uint8Array.from(j.testMask),
  };
}
