// Saves and loads a model's parameters as safetensors, in PyG's state_dict names and shapes
// (`conv1.lin_l.weight` [H*C, in], ...), so that PyTorch reads the same file with safetensors.torch.load_file.
import type { Module } from '../nn/module.ts';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from './safetensors.ts';

/** The model's state dict as safetensors; a model with a `config` (GATModel) stores it in the metadata. */
export async function saveCheckpoint(model: Module): Promise<Uint8Array> {
  const dict = await model.stateDict();
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(dict)) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data };
  const config = (model as { config?: unknown }).config;
  return encodeSafetensors(tensors, { format: 'pt', ...(config ? { config: JSON.stringify(config) } : {}) });
}

/** Loads a safetensors state dict (strict: the names and shapes must be exactly the model's). */
export function loadCheckpoint(model: Module, bytes: Uint8Array): void {
  const { tensors } = decodeSafetensors(bytes);
  const dict: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'F32') throw new Error(`Checkpoint tensor ${name} is ${t.dtype}; the model's parameters are F32`);
    dict[name] = { shape: t.shape, data: t.data as Float32Array };
  }
  model.loadStateDict(dict);
}
