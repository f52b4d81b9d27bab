// Public API.
export { Gpu, type DispatchCall } from './gpu/gpu.ts';
export { Tensor, type DType } from './gpu/tensor.ts';
export { Profiler, type KernelSummary, type KernelCost } from './gpu/profiler.ts';
export { WEBGPU_HELP, type AdapterSummary, type DeviceOptions } from './gpu/device.ts';
export {
  buildGraph, splitEdgeIndex, uploadGraph, type Graph, type GraphTensors, type EdgeIndex, type IndexArray,
} from './graph.ts';
export { GATConv } from './nn/gat-conv.ts';
export { GATv2Conv } from './nn/gatv2-conv.ts';
export type { ConvOptions, StepContext } from './nn/conv.ts';
export { GATModel, type GATModelConfig, type NodeFeatures } from './nn/model.ts';
export { Data, type DataInit, type GpuData, type NodeMask, type NodeIndex, type Split } from './data/data.ts';
export { loadNpz, readNpz, NPZ_KEYS, type NpyArray, type NpzOptions } from './data/npz.ts';
export { uploadDataset, type NodeDataset, type GpuDataset } from './train/data.ts';
export { Trainer, summarize, type EpochMetrics, type TrainConfig } from './train/trainer.ts';
export { trainNodeClassifier, PAPER_CONFIG, type RunConfig, type RunResult } from './train/run.ts';
export { MODEL_NAMES, RUN_DEFAULTS, resolveRunOptions, type NonFinitePolicy, type ResolvedRunOptions } from './train/options.ts';
export { NonFiniteLossError } from './train/divergence.ts';
export { estimateTrainingMemory, checkTrainingFits, datasetShape, formatBytes, type MemoryEstimate, type MemoryItem } from './train/budget.ts';
export { parsePlanetoid, PLANETOID_PARTS, type GraphDataset, type PlanetoidName } from './data/planetoid.ts';
export { encodeSafetensors, decodeSafetensors } from './io/safetensors.ts';
export { saveCheckpoint, loadCheckpoint, type LoadCheckpointOptions } from './io/checkpoint.ts';
export {
  checkStateDict, StateDictError, type CheckStateDictOptions, type StateDictCheck, type StateDictTensor,
  type TensorSpec,
} from './io/state-dict.ts';
export { parseTU, unzipTU, TU_PARTS, type TUDataset, type TUFiles, type TUOptions, type TUPart } from './data/tu.ts';
export { Batch, type GraphSample } from './data/batch.ts';
export { DataLoader, GpuGraphDataset, BatchGraphs, type DataLoaderOptions, type GpuBatch, type GraphDatasetLike } from './data/loader.ts';
export { stratifiedKFold, type Fold, type FoldOptions } from './data/folds.ts';
