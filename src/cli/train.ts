// Node CLI: train GAT / GATv2 on Cora or Citeseer on the GPU (or SwiftShader where there is none).
//   npm run train -- --dataset cora --model gatv2 --epochs 200 --save model.safetensors
import { writeFileSync } from 'node:fs';
import { loadPlanetoid } from '../data/planetoid-node.ts';
import { Gpu } from '../gpu/gpu.ts';
import { saveCheckpoint } from '../io/checkpoint.ts';
import { trainNodeClassifier } from '../train/run.ts';
import { HELP, parseTrainArgs } from './train-options.ts';

const pct = (x: number | null) => (x === null ? '-' : (100 * x).toFixed(1) + '%');

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

async function main(): Promise<void> {
  const a = parseTrainArgs(process.argv.slice(2));
  const { run } = a;
  if (a.help) {
    console.log(HELP);
    return;
  }
  const dataset = await loadPlanetoid(a.dataset, { root: a.dataDir, log: (m) => console.error(m) });
  const gpu = await Gpu.create();
  const info = gpu.adapterInfo;
  console.error(`device: ${info.vendor} ${info.architecture} ${info.description}${info.isFallbackAdapter ? ' (fallback adapter)' : ''}`);
  console.error(`${a.dataset}: ${dataset.numNodes} nodes, ${dataset.numEdges} edges, ${dataset.numFeatures} features, ${dataset.numClasses} classes`);
  console.error(`${run.model}: ${run.heads} heads x ${run.hiddenChannels} hidden, dropout ${run.dropout}, Adam lr ${run.lr} wd ${run.weightDecay}, ${run.epochs} epochs, seed ${run.seed}`);
  const tty = process.stderr.isTTY;
  // Profiled window: epochs profileFrom+1 .. profileTo (each epoch = training step + evaluation pass).
  if (a.trace && !gpu.hasTimestamps) throw new Error('--trace: this adapter has no timestamp-query feature, so there is nothing to trace');
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
          console.error(`epoch ${String(epoch).padStart(4)}  loss ${m.loss.toFixed(4)}  train ${pct(m.trainAcc)}  val ${pct(m.valAcc)}  test ${pct(m.testAcc)}`);
        }
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    const { final, best, medianEpochMs } = result;
    console.log(`final test accuracy ${pct(final.testAcc)} (epoch ${final.epoch}, val ${pct(final.valAcc)})`);
    if (best) console.log(`best val ${pct(best.valAcc)} at epoch ${best.epoch}: test accuracy ${pct(best.testAcc)}`);
    console.log(`median ${medianEpochMs.toFixed(2)} ms per epoch (training step + evaluation), ${gpu.submitCount} submits, ${gpu.pool.created} buffers`);
    if (a.profile) {
      if (!gpu.hasTimestamps) console.log('profiling: this adapter has no timestamp-query feature');
      else {
        await gpu.profiler.collect();
        const window = `epochs ${profileFrom + 1}-${profileTo}, training steps and evaluation passes`;
        console.log(`\nGPU time per kernel over ${window}:\n${gpu.profiler.table()}`);
        if (a.trace) (writeFileSync(a.trace, gpu.profiler.traceJson()), console.log(`trace written to ${a.trace}`));
      }
    }
    if (a.save) {
      writeFileSync(a.save, await saveCheckpoint(result.model));
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
    console.error(`error: ${(err as Error).message}`);
    process.exit(1);
  },
);
