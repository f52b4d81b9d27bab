// The training CLI's flags: parsed with node:util's parseArgs (strict: unknown flags and stray arguments are
// refused), numbers read strictly, then checked by the same rules as the API's options (train/options.ts) under
// the flags' own names, so `--epochs 0` says "--epochs must be a positive integer".
import type { PlanetoidName } from '../data/planetoid.ts';
import { resolveRunOptions, type ResolvedRunOptions } from '../train/options.ts';
import { numberFlag, parseFlags } from './flags.ts';

export const HELP = `Usage: npm run train -- [options]

  --task node|graph         node classification (these options; default) or graph classification on a TU
                            dataset (npm run train -- --task graph --help lists its options)
  --dataset cora|citeseer   dataset (default cora)
  --data FILE.npz           train on your own graph instead: an .npz with x, edge_index, y and split masks
  --model gatv2|gat         layer type (default gatv2)
  --heads N                 attention heads of the hidden layer (default 8)
  --hidden N                channels per head (default 8)
  --epochs N                training epochs (default 200)
  --lr X                    Adam learning rate (default 0.005)
  --weight-decay X          L2 weight decay, as torch.optim.Adam (default 5e-4)
  --dropout X               dropout on features and attention, in [0, 1) (default 0.6)
  --seed N                  initialisation and dropout seed, an integer in [0, 2^32) (default 0)
  --residual                add residual connections
  --log-every N             print a line every N epochs (default 20)
  --save FILE               save the trained weights as safetensors (PyG state_dict names)
  --data-dir DIR            read the Planetoid files from DIR only
                            (default: search ./data/planetoid, ../shared/datasets/planetoid, else download)
  --profile                 time every kernel over epochs 11-20 (or the last 10) with timestamp queries
                            and print a table
  --trace FILE              write a Chrome trace of the profiled epochs (open in Perfetto or
                            chrome://tracing); implies --profile
  --json                    print the final result as JSON
  --help`;

/** The CLI's flag for each run option it sets. */
const FLAGS: Record<string, string> = {
  model: '--model',
  heads: '--heads',
  hiddenChannels: '--hidden',
  epochs: '--epochs',
  lr: '--lr',
  weightDecay: '--weight-decay',
  dropout: '--dropout',
  seed: '--seed',
  residual: '--residual',
};

export interface TrainArgs {
  help: boolean;
  dataset: PlanetoidName;
  /** An .npz graph to train on instead of the dataset. */
  data?: string;
  /** The run's options, checked (the CLI sets model, heads, hiddenChannels, epochs, lr, weightDecay, dropout,
   * seed, residual). */
  run: ResolvedRunOptions;
  logEvery: number;
  save?: string;
  dataDir?: string;
  /** True with --profile, and with --trace (which needs the profile). */
  profile: boolean;
  trace?: string;
  json: boolean;
}

/** Parses and checks the CLI's arguments; every refusal names its flag. */
export function parseTrainArgs(argv: readonly string[]): TrainArgs {
  const values = parseFlags(
    argv,
    {
      task: { type: 'string', default: 'node' },
      dataset: { type: 'string', default: 'cora' },
      data: { type: 'string' },
      model: { type: 'string' },
      heads: { type: 'string' },
      hidden: { type: 'string' },
      epochs: { type: 'string' },
      lr: { type: 'string' },
      'weight-decay': { type: 'string' },
      dropout: { type: 'string' },
      seed: { type: 'string' },
      residual: { type: 'boolean', default: false },
      'log-every': { type: 'string', default: '20' },
      save: { type: 'string' },
      'data-dir': { type: 'string' },
      profile: { type: 'boolean', default: false },
      trace: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    '(npm run train -- --help lists them)',
  );
  if (values.task !== 'node') {
    throw new Error(`--task must be node or graph, got ${JSON.stringify(values.task)}`);
  }
  if (values.dataset !== 'cora' && values.dataset !== 'citeseer') {
    throw new Error(`--dataset must be one of cora, citeseer, got ${JSON.stringify(values.dataset)}`);
  }
  const run: Record<string, unknown> = { residual: values.residual };
  if (values.model !== undefined) run.model = values.model;
  for (const [key, flag] of Object.entries(FLAGS)) {
    const name = flag.slice(2) as keyof typeof values;
    if (key === 'model' || key === 'residual' || values[name] === undefined) continue;
    run[key] = numberFlag(flag, values[name] as string);
  }
  const logEvery = numberFlag('--log-every', values['log-every']!);
  if (!Number.isInteger(logEvery) || logEvery < 1)
    throw new Error(`--log-every must be a positive integer, got ${values['log-every']}`);
  for (const flag of ['save', 'trace', 'data-dir', 'data'] as const) {
    if (values[flag] !== undefined && values[flag]!.trim() === '')
      throw new Error(`--${flag} needs a path, got an empty string`);
  }
  return {
    help: values.help!,
    dataset: values.dataset as PlanetoidName,
    data: values.data,
    run: resolveRunOptions(run, (key) => FLAGS[key] ?? key),
    logEvery,
    save: values.save,
    dataDir: values['data-dir'],
    profile: values.profile! || values.trace !== undefined,
    trace: values.trace,
    json: values.json!,
  };
}
