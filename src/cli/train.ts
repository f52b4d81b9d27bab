// Node CLI: train GAT / GATv2 on Cora or Citeseer on the GPU (or SwiftShader where there is none).
//   npm run train -- --dataset cora --model gatv2 --epochs 200 --save model.safetensors
import { writeFileSync } from 'node:fs';
import type { Data } from '../data/data.ts';
import { loadNpzFile } from '../data/npz-node.ts';
import { loadPlanetoid } from '../data/planetoid-node.ts';
import type { GraphDataset } from '../data/planetoid.ts';
import { Gpu } from '../gpu/gpu.ts';
import { checkWritable, saveCheckpointFile } from '../io/checkpoint-node.ts';
import { trainNodeClassifier } from '../train/run.ts';
import { HELP, parseTrainArgs, type TrainArgs } from './train-options.ts';
import { taskOf } from './graph-train-options.ts';
import { trainGraphTask } from './train-graph.ts';

/** The graph to train on: a user's .npz (--data) or a Planetoid dataset (--dataset). */
async function loadTrainingData(a: TrainArgs): Promise<{ name: string; dataset: GraphDataset | Data }> {
  if (a.data === undefined) {
    const dataset = await loadPlanetoid(a.dataset, { dir: a.dataDir, log: (m) => console.error(m) });
    return { name: a.dataset, dataset };
  }
  const data = await loadNpzFile(a.data);
  if (!(data.y instanceof Int32Array)) {
    throw new Error(`${a.data}: y must hold class labels (a 1-D integer array) to train a node classifier`);
  }
  if (data.trainMask.every((v) => v === 0)) {
    throw new Error(`${a.data}: no training nodes: add train_mask (or train_index)`);
  }
  // Mostly-zero features (bag of words) train much faster as sparse rows, with the same model.
  let nonzero = 0;
  if (data.x instanceof Float32Array) for (const v of data.x) if (v !== 0) nonzero++;
  const sparse = data.x instanceof Float32Array && nonzero <= 0.1 * data.x.length;
  return { name: a.data, dataset: sparse ? data.withSparseX() : data };
}

const pct = (x: number | null) => (x === null ? '-' : (100 * x).toFixed(1) + '%');

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

async function main(): Promise<void> {
  if (taskOf(process.argv.slice(2)) === 'graph') return trainGraphTask(process.argv.slice(2));
  const a = parseTrainArgs(process.argv.slice(2));
  const { run } = a;
  if (a.help) {
    console.log(HELP);
    return;
  }
  if (a.save) await checkWritable(a.save, 'checkpoint file'); // before training, not after it
  const { name, dataset } = await loadTrainingData(a);
  const gpu = await Gpu.create();
  const info = gpu.adapterInfo;
  console.error(
    `device: ${info.vendor} ${info.architecture} ` +
      `${info.description}${info.isFallbackAdapter ? ' (fallback adapter)' : ''}`,
  );
  console.error(
    `${name}: ${dataset.numNodes} nodes, ${dataset.numEdges} edges, ${dataset.numFeatures} features, ` +
      `${dataset.numClasses} classes`,
  );
  console.error(
    `${run.model}: ${run.heads} heads x ${run.hiddenChannels} hidden, dropout ${run.dropout}, Adam lr ${run.lr} wd ` +
      `${run.weightDecay}, ${run.epochs} epochs, seed ${run.seed}`,
  );
  const tty = process.stderr.isTTY;
  // Profiled window: epochs profileFrom+1 .. profileTo (each epoch = training step + evaluation pass).
  if (a.trace && !gpu.hasTimestamps)
    throw new Error('--trace: this adapter has no timestamp-query feature, so there is nothing to trace');
  const profileTo = Math.min(20, run.epochs);
  const profileFrom = Math.max(0, profileTo - 10);
  if (a.profile && gpu.hasTimestamps && profileFrom === 0) gpu.profiler.start();
  try {
    const result = await trainNodeClassifier(gpu, dataset, run, {
      onEpoch: async (epoch, trainer) => {
        if (a.profile && gpu.hasTimestamps) {
          if (epoch === profileFrom) gpu.profiler.start();
          if (epoch === profileTo) gpu.profiler.stop();
        }
        if (tty) process.stderr.write(`\r${progressBar(epoch, run.epochs)}`);
        if (epoch % a.logEvery === 0 || epoch === run.epochs) {
          const m = (await trainer.metrics())[epoch - 1];
          if (tty) process.stderr.write('\r\x1b[K');
          console.error(
            `epoch ${String(epoch).padStart(4)}  loss ${m.loss.toFixed(4)}  train ${pct(m.trainAcc)}  val ` +
              `${pct(m.valAcc)}  test ${pct(m.testAcc)}`,
          );
        }
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    const { final, best, medianEpochMs } = result;
    console.log(`final test accuracy ${pct(final.testAcc)} (epoch ${final.epoch}, val ${pct(final.valAcc)})`);
    if (best) console.log(`best val ${pct(best.valAcc)} at epoch ${best.epoch}: test accuracy ${pct(best.testAcc)}`);
    console.log(
      `median ${medianEpochMs.toFixed(2)} ms per epoch (training step + evaluation), ${gpu.submitCount} submits, ` +
        `${gpu.pool.created} buffers`,
    );
    if (a.profile) {
      if (!gpu.hasTimestamps) console.log('profiling: this adapter has no timestamp-query feature');
      else {
        await gpu.profiler.collect();
        const window = `epochs ${profileFrom + 1}-${profileTo}, training steps and evaluation passes`;
        console.log(`\nGPU time per kernel over ${window}:\n${gpu.profiler.table()}`);
        if (a.trace) writeFileSync(a.trace, gpu.profiler.traceJson()), console.log(`trace written to ${a.trace}`);
      }
    }
    if (a.save) {
      await saveCheckpointFile(result.model, a.save); // atomic: a failed write leaves any previous file intact
      console.log(`weights saved to ${a.save}`);
    }
    if (a.json) console.log(JSON.stringify({ final, best, medianEpochMs, device: info }));
  } finally {
    gpu.destroy();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    const e = err as Error;
    console.error(`error: ${e?.message || e?.name || String(err)}`);
    process.exit(1);
  },
);
