// Public API.
export { Gpu, type DispatchCall } from './gpu/gpu.ts';
export { Tensor, type DType } from './gpu/tensor.ts';
export { Profiler, type KernelSummary, type KernelCost } from './gpu/profiler.ts';
export { WEBGPU_HELP, type AdapterSummary, type DeviceOptions } from './gpu/device.ts';
export {
  buildGraph,
  splitEdgeIndex,
  uploadGraph,
  type Graph,
  type GraphTensors,
  type EdgeIndex,
  type IndexArray,
} from './graph.ts';
export { gcnNorm, uploadGcn, type GcnNormOptions, type GcnMatrices, type GcnTensors } from './graph.ts';
export { Module, type Parameter, type StateDict, type NamedArray, type LoadResult } from './nn/module.ts';
export { Variable, type Features, type NodeFeatures } from './nn/tape.ts';
export { Sequential } from './nn/sequential.ts';
export { GATConv } from './nn/gat-conv.ts';
export { GATv2Conv } from './nn/gatv2-conv.ts';
export { GCNConv, type GCNConvOptions, type GcnGraphs } from './nn/gcn-conv.ts';
export { AttentionConv, type ConvOptions, type LayerGraphs } from './nn/conv.ts';
export type { FillValue } from './kernels/edge-attr.ts';
export { Linear } from './nn/linear.ts';
export { Dropout } from './nn/dropout.ts';
export { ELU, ReLU, LeakyReLU } from './nn/activations.ts';
export { add, concat } from './nn/functional.ts';
export { GraphSet } from './nn/graphs.ts';
export { GATModel, type GATModelConfig } from './nn/model.ts';
export { Adam, AdamW, SGD, Optimizer, type AdamOptions, type SGDOptions } from './train/optim.ts';
export { crossEntropy, binaryCrossEntropyWithLogits, mseLoss, Loss, recordLoss, noteMaskCount } from './train/loss.ts';
export type { RowSelection } from './train/loss.ts';
export { Data, type DataInit, type GpuData, type NodeMask, type NodeIndex, type Split } from './data/data.ts';
export { loadNpz, readNpz, NPZ_KEYS, type NpyArray, type NpzOptions } from './data/npz.ts';
export { uploadDataset, type NodeDataset, type GpuDataset } from './train/data.ts';
export { Trainer, summarize, type EpochMetrics, type TrainConfig, type NodeClassifier } from './train/trainer.ts';
export { trainNodeClassifier, PAPER_CONFIG, type RunConfig, type RunResult } from './train/run.ts';
export {
  MODEL_NAMES,
  RUN_DEFAULTS,
  resolveRunOptions,
  type NonFinitePolicy,
  type ResolvedRunOptions,
} from './train/options.ts';
export { NonFiniteLossError } from './train/divergence.ts';
export {
  estimateTrainingMemory,
  checkTrainingFits,
  datasetShape,
  formatBytes,
  type MemoryEstimate,
  type MemoryItem,
} from './train/budget.ts';
export { parsePlanetoid, PLANETOID_PARTS, type GraphDataset, type PlanetoidName } from './data/planetoid.ts';
export { encodeSafetensors, decodeSafetensors } from './io/safetensors.ts';
export { saveCheckpoint, loadCheckpoint, type LoadCheckpointOptions } from './io/checkpoint.ts';
export {
  checkStateDict,
  StateDictError,
  type CheckStateDictOptions,
  type StateDictCheck,
  type StateDictTensor,
  type TensorSpec,
} from './io/state-dict.ts';
export { parseTU, unzipTU, TU_PARTS, type TUDataset, type TUFiles, type TUOptions, type TUPart } from './data/tu.ts';
export { Batch, type GraphSample } from './data/batch.ts';
export {
  DataLoader,
  GpuGraphDataset,
  BatchGraphs,
  type DataLoaderOptions,
  type GpuBatch,
  type GraphDatasetLike,
} from './data/loader.ts';
export { stratifiedKFold, type Fold, type FoldOptions } from './data/folds.ts';
export { globalAddPool, globalMeanPool, globalMaxPool, AttentionalAggregation, type GraphSegments } from './nn/pool.ts';
export { BatchNorm1d } from './nn/batchnorm.ts';
export {
  GATv2GraphClassifier,
  type GraphClassifierConfig,
  type GraphReadout,
  type GraphBatchLike,
} from './nn/graph-classifier.ts';
export { trainGraphClassifier, type GraphTrainConfig, type GraphCVResult, type FoldResult } from './train/graph.ts';
