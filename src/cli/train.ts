// Node CLI: train GAT / GATv2 on Cora or Citeseer on the GPU (or SwiftShader where there is none).
//   npm run train -- --dataset cora --model gatv2 --epochs 200 --save model.safetensors
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadPlanetoid } from '../data/planetoid-node.ts';
import type { PlanetoidName } from '../data/planetoid.ts';
import { Gpu } from '../gpu/gpu.ts';
import { saveCheckpoint } from '../io/checkpoint.ts';
import { PAPER_CONFIG, trainNodeClassifier } from '../train/run.ts';
import { taskOf } from './graph-train-options.ts';
import { trainGraphTask } from './train-graph.ts';

const HELP = `Usage: npm run train -- [options]

  --dataset cora|citeseer   dataset (default cora)
  --model gatv2|gat         layer type (default gatv2)
  --heads N                 attention heads of the hidden layer (default 8)
  --hidden N                channels per head (default 8)
  --epochs N                training epochs (default 200)
  --lr X                    Adam learning rate (default 0.005)
  --weight-decay X          L2 weight decay, as torch.optim.Adam (default 5e-4)
  --dropout X               dropout on features and attention (default 0.6)
  --seed N                  initialisation and dropout seed (default 0)
  --residual                add residual connections
  --log-every N             print a line every N epochs (default 20)
  --save FILE               save the trained weights as safetensors (PyG state_dict names)
  --data-dir DIR            where the Planetoid files are (default: ./data/planetoid, ../shared/datasets/planetoid, else download)
  --profile                 time every kernel over epochs 11-20 (or the last 10) with timestamp queries and print a table
  --trace FILE              with --profile: write a Chrome trace (open in Perfetto or chrome://tracing)
  --json                    print the final result as JSON
  --help`;

function parse() {
  const { values } = parseArgs({
    options: {
      dataset: { type: 'string', default: 'cora' },
      model: { type: 'string', default: PAPER_CONFIG.model },
      heads: { type: 'string', default: String(PAPER_CONFIG.heads) },
      hidden: { type: 'string', default: String(PAPER_CONFIG.hiddenChannels) },
      epochs: { type: 'string', default: String(PAPER_CONFIG.epochs) },
      lr: { type: 'string', default: String(PAPER_CONFIG.lr) },
      'weight-decay': { type: 'string', default: String(PAPER_CONFIG.weightDecay) },
      dropout: { type: 'string', default: String(PAPER_CONFIG.dropout) },
      seed: { type: 'string', default: String(PAPER_CONFIG.seed) },
      residual: { type: 'boolean', default: false },
      'log-every': { type: 'string', default: '20' },
      save: { type: 'string' },
      'data-dir': { type: 'string' },
      profile: { type: 'boolean', default: false },
      trace: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  const num = (name: keyof typeof values) => {
    const v = Number(values[name]);
    if (!Number.isFinite(v)) throw new Error(`--${name} must be a number, got ${values[name]}`);
    return v;
  };
  if (values.dataset !== 'cora' && values.dataset !== 'citeseer') throw new Error(`--dataset must be cora or citeseer, got ${values.dataset}`);
  if (values.model !== 'gatv2' && values.model !== 'gat') throw new Error(`--model must be gatv2 or gat, got ${values.model}`);
  return {
    help: values.help, dataset: values.dataset as PlanetoidName, model: values.model as 'gatv2' | 'gat',
    heads: num('heads'), hidden: num('hidden'), epochs: num('epochs'), lr: num('lr'), weightDecay: num('weight-decay'),
    dropout: num('dropout'), seed: num('seed'), residual: values.residual, logEvery: Math.max(1, num('log-every')),
    save: values.save, dataDir: values['data-dir'], profile: values.profile, trace: values.trace, json: values.json,
  };
}

const pct = (x: number) => (100 * x).toFixed(1) + '%';

function progressBar(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}

async function main(): Promise<void> {
  if (taskOf(process.argv.slice(2)) === 'graph') return trainGraphTask(process.argv.slice(2));
  const a = parse();
  if (a.help) {
    console.log(HELP);
    return;
  }
  const dataset = await loadPlanetoid(a.dataset, { root: a.dataDir, log: (m) => console.error(m) });
  const gpu = await Gpu.create();
  const info = gpu.adapterInfo;
  console.error(`device: ${info.vendor} ${info.architecture} ${info.description}${info.isFallbackAdapter ? ' (fallback adapter)' : ''}`);
  console.error(`${a.dataset}: ${dataset.numNodes} nodes, ${dataset.numEdges} edges, ${dataset.numFeatures} features, ${dataset.numClasses} classes`);
  console.error(`${a.model}: ${a.heads} heads x ${a.hidden} hidden, dropout ${a.dropout}, Adam lr ${a.lr} wd ${a.weightDecay}, ${a.epochs} epochs, seed ${a.seed}`);
  const tty = process.stderr.isTTY;
  // Profiled window: epochs profileFrom+1 .. profileTo (each epoch = training step + evaluation pass).
  const profileTo = Math.min(20, a.epochs);
  const profileFrom = Math.max(0, profileTo - 10);
  if (a.profile && gpu.hasTimestamps && profileFrom === 0) gpu.profiler.start();
  try {
    const result = await trainNodeClassifier(gpu, dataset, {
      model: a.model, heads: a.heads, hiddenChannels: a.hidden, epochs: a.epochs, lr: a.lr, weightDecay: a.weightDecay,
      dropout: a.dropout, seed: a.seed, residual: a.residual,
    }, {
      onEpoch: async (epoch, trainer) => {
        if (a.profile && gpu.hasTimestamps) {
          if (epoch === profileFrom) gpu.profiler.start();
          if (epoch === profileTo) gpu.profiler.stop();
        }
        if (tty) process.stderr.write(`\r${progressBar(epoch, a.epochs)}`);
        if (epoch % a.logEvery === 0 || epoch === a.epochs) {
          const m = (await trainer.metrics())[epoch - 1];
          if (tty) process.stderr.write('\r\x1b[K');
          console.error(`epoch ${String(epoch).padStart(4)}  loss ${m.loss.toFixed(4)}  train ${pct(m.trainAcc)}  val ${pct(m.valAcc)}  test ${pct(m.testAcc)}`);
        }
      },
    });
    if (tty) process.stderr.write('\r\x1b[K');
    const { final, best, medianEpochMs } = result;
    console.log(`final test accuracy ${pct(final.testAcc)} (epoch ${final.epoch}, val ${pct(final.valAcc)})`);
    console.log(`best val ${pct(best.valAcc)} at epoch ${best.epoch}: test accuracy ${pct(best.testAcc)}`);
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
