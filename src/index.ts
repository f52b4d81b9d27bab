// Public API.
export { Gpu, type DispatchCall } from './gpu/gpu.ts';
export { Tensor, type DType } from './gpu/tensor.ts';
export { Profiler, type KernelSummary, type KernelCost } from './gpu/profiler.ts';
export { WEBGPU_HELP, type AdapterSummary, type DeviceOptions } from './gpu/device.ts';
export { buildGraph, uploadGraph, gcnNorm, uploadGcn, type Graph, type GraphTensors, type EdgeIndex, type GcnNormOptions, type GcnMatrices, type GcnTensors } from './graph.ts';
export { GATConv } from './nn/gat-conv.ts';
export { GATv2Conv } from './nn/gatv2-conv.ts';
export { GCNConv, type GCNConvOptions } from './nn/gcn-conv.ts';
export type { ConvOptions, StepContext } from './nn/conv.ts';
export { GATModel, type GATModelConfig, type NodeFeatures } from './nn/model.ts';
export { uploadDataset, type NodeDataset, type GpuDataset } from './train/data.ts';
export { Trainer, summarize, type EpochMetrics, type TrainConfig } from './train/trainer.ts';
export { trainNodeClassifier, PAPER_CONFIG, type RunConfig, type RunResult } from './train/run.ts';
export { parsePlanetoid, PLANETOID_PARTS, type GraphDataset, type PlanetoidName } from './data/planetoid.ts';
export { encodeSafetensors, decodeSafetensors } from './io/safetensors.ts';
export { saveCheckpoint, loadCheckpoint } from './io/checkpoint.ts';
