// Node entry point (`webgpu-gat/node`): everything of the main entry, plus the loaders that read files from disk.
export * from './index.ts';
export { loadNpzFile } from './data/npz-node.ts';
export {
  loadPlanetoid,
  findPlanetoidDir,
  PLANETOID_DEFAULT_URL,
  type LoadPlanetoidOptions,
} from './data/planetoid-node.ts';
export { loadTUDataset, findTUDir, TU_DEFAULT_URL, type LoadTUOptions } from './data/tu-node.ts';
export { saveCheckpointFile, loadCheckpointFile, writeFileAtomically } from './io/checkpoint-node.ts';
