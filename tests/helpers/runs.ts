// For tests that train through trainNodeClassifier: freeing a run, and the weights a run ends with.
import type { Gpu } from '../../src/gpu/gpu.ts';
import { trainNodeClassifier } from '../../src/train/run.ts';

/** Frees the model, the data and the trainer of a run. */
export function disposeRun(r: { model: { dispose(): void }; data: { dispose(): void }; trainer: { dispose(): void } }) {
  r.model.dispose();
  r.data.dispose();
  r.trainer.dispose();
}

/** The bytes of the weights after training `dataset` with `config` (the run is freed). */
export async function weightsAfter(
  gpu: Gpu,
  dataset: Parameters<typeof trainNodeClassifier>[1],
  config: Parameters<typeof trainNodeClassifier>[2],
): Promise<Uint8Array> {
  const r = await trainNodeClassifier(gpu, dataset, config);
  const w = new Uint8Array(((await r.model.parameterStore.values.read()) as Float32Array).buffer);
  disposeRun(r);
  return w;
}
