// Saves and loads a model's parameters as safetensors, in PyG's state_dict names and shapes
// (`conv1.lin_l.weight` [H*C, in], ...), so that PyTorch reads the same file with safetensors.torch.load_file.
import type { GATModel } from '../nn/model.ts';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from './safetensors.ts';
import type { StateDictCheck } from './state-dict.ts';

export async function saveCheckpoint(model: GATModel): Promise<Uint8Array> {
  const dict = await model.stateDict();
  const tensors: Record<string, SafeTensor> = {};
  for (const [name, t] of Object.entries(dict)) tensors[name] = { dtype: 'F32', shape: t.shape, data: t.data };
  return encodeSafetensors(tensors, { format: 'pt', config: JSON.stringify(model.config) });
}

export interface LoadCheckpointOptions {
  /** As PyTorch's load_state_dict (default true): missing and unexpected tensors are errors. */
  strict?: boolean;
  /** The file the bytes came from, named in errors. */
  file?: string;
}

/**
 * Loads safetensors bytes into the model. The file and the whole state dict (names, shapes, dtypes) are checked
 * before the first parameter is written: a refused load leaves the model unchanged.
 */
export function loadCheckpoint(model: GATModel, bytes: Uint8Array, opts: LoadCheckpointOptions = {}): StateDictCheck {
  const { tensors } = decodeSafetensors(bytes, { file: opts.file });
  try {
    return model.loadStateDict(tensors, { strict: opts.strict });
  } catch (e) {
    if (opts.file) (e as Error).message = `${opts.file}: ${(e as Error).message}`;
    throw e;
  }
}
