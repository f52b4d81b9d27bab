// Flags of `npm run train -- --task graph`: graph classification with k-fold cross-validation on a TU dataset.
// Parsed with node:util's parseArgs (strict: unknown flags and stray arguments are refused); every number is read
// strictly and checked under its flag's name, so `--folds 1` says "--folds must be an integer of at least 2".
import type { GraphReadout } from '../nn/graph-classifier.ts';
import type { GraphTrainConfig } from '../train/graph.ts';
import { numberFlag, parseFlags } from './flags.ts';

export const GRAPH_DATASETS = ['MUTAG', 'PROTEINS', 'ENZYMES'] as const;
export type GraphDatasetName = (typeof GRAPH_DATASETS)[number];

export const GRAPH_HELP = `Usage: npm run train -- --task graph [options]

Graph classification: a GATv2 graph classifier (GATv2Conv layers, jumping knowledge, a readout over each graph's
nodes, an MLP head) trained with k-fold stratified cross-validation. Prints mean ± std of the test accuracy over
the folds at the epoch with the best mean (the GIN paper's protocol) and at the last epoch, the per-fold table
and ms per epoch.

  --dataset MUTAG|PROTEINS|ENZYMES   TU dataset (default MUTAG)
  --pool add|mean|max|attention      readout (default add; attention = AttentionalAggregation with a gate per node)
  --jk cat|last                      jumping knowledge: every layer's output, or the last only (default cat)
  --layers N                         GATv2Conv layers (default 3)
  --heads N                          attention heads per layer, concatenated (default 4)
  --hidden N                         channels per head (default 16)
  --dropout X                        dropout before the head, in [0, 1) (default 0.5)
  --folds N                          folds of the cross-validation (default 10)
  --fold-seed N                      seed of the stratified folds (default 0)
  --epochs N                         training epochs per fold (default 100)
  --batch-size N                     graphs per training batch (default 32)
  --lr X                             Adam learning rate (default 0.005)
  --weight-decay X                   Adam L2 weight decay (default 0)
  --seed N                           initialisation, dropout and shuffle seed (default 0)
  --node-attr                        use the continuous node attributes (PROTEINS, ENZYMES) besides the labels
  --no-edge-features                 ignore the dataset's edge features (by default every GATv2Conv layer attends
                                     over them, as PyG's edge_dim: MUTAG's 4 bond types; PROTEINS and ENZYMES
                                     have none)
  --data-dir DIR                     where the TU files are (default ./data/tu, ../shared/datasets/tu, else download)
  --log-every N                      print a line every N epochs of each fold (default 0: only the summary)
  --json                             print the result as JSON
  --help`;

export interface GraphTrainArgs {
  help: boolean;
  dataset: GraphDatasetName;
  config: GraphTrainConfig;
  useNodeAttr: boolean;
  edgeFeatures: boolean;
  dataDir?: string;
  logEvery: number;
  json: boolean;
}

function intFlag(flag: string, s: string, min: number): number {
  const v = numberFlag(flag, s);
  if (!Number.isInteger(v) || v < min) throw new Error(`${flag} must be an integer of at least ${min}, got ${s}`);
  return v;
}

/** The task named by `--task` (default 'node'), read before the task's own flags are parsed. */
export function taskOf(argv: readonly string[]): string {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--task') return argv[i + 1] ?? '';
    if (argv[i].startsWith('--task=')) return argv[i].slice('--task='.length);
  }
  return 'node';
}

/** Parses and checks the graph task's flags; every refusal names its flag. */
export function parseGraphTrainArgs(argv: readonly string[]): GraphTrainArgs {
  const values = parseFlags(
    argv,
    {
      task: { type: 'string' },
      dataset: { type: 'string', default: 'MUTAG' },
      pool: { type: 'string', default: 'add' },
      jk: { type: 'string', default: 'cat' },
      layers: { type: 'string' },
      heads: { type: 'string' },
      hidden: { type: 'string' },
      dropout: { type: 'string' },
      folds: { type: 'string' },
      'fold-seed': { type: 'string' },
      epochs: { type: 'string' },
      'batch-size': { type: 'string' },
      lr: { type: 'string' },
      'weight-decay': { type: 'string' },
      seed: { type: 'string' },
      'node-attr': { type: 'boolean', default: false },
      'no-edge-features': { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      'log-every': { type: 'string', default: '0' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    'for --task graph (npm run train -- --task graph --help lists them)',
  );
  if (values.task !== undefined && values.task !== 'graph')
    throw new Error(`--task must be node or graph, got ${JSON.stringify(values.task)}`);
  const upper = values.dataset!.toUpperCase();
  if (!(GRAPH_DATASETS as readonly string[]).includes(upper)) {
    throw new Error(
      `--dataset must be one of ${GRAPH_DATASETS.join(', ')} for --task graph, got ${JSON.stringify(values.dataset)}`,
    );
  }
  if (!['add', 'mean', 'max', 'attention'].includes(values.pool!)) {
    throw new Error(`--pool must be one of attention, mean, add, max, got ${JSON.stringify(values.pool)}`);
  }
  if (values.jk !== 'cat' && values.jk !== 'last')
    throw new Error(`--jk must be cat or last, got ${JSON.stringify(values.jk)}`);
  const config: GraphTrainConfig = {
    readout: values.pool as GraphReadout,
    jk: values.jk,
    edgeFeatures: !values['no-edge-features'],
  };
  const ints = [
    ['layers', 'numLayers', 1],
    ['heads', 'heads', 1],
    ['hidden', 'hiddenChannels', 1],
    ['folds', 'folds', 2],
    ['fold-seed', 'foldSeed', 0],
    ['epochs', 'epochs', 1],
    ['batch-size', 'batchSize', 1],
    ['seed', 'seed', 0],
  ] as const;
  for (const [flag, key, min] of ints) {
    const s = values[flag];
    if (s === undefined) continue;
    const v = intFlag(`--${flag}`, s, min);
    if ((key === 'seed' || key === 'foldSeed') && v >= 2 ** 32)
      throw new Error(`--${flag} must be an integer in [0, 2^32), got ${s}`);
    (config as Record<string, number>)[key] = v;
  }
  if (values.dropout !== undefined) {
    const v = numberFlag('--dropout', values.dropout);
    if (!(v >= 0 && v < 1)) throw new Error(`--dropout must be in [0, 1), got ${values.dropout}`);
    config.dropout = v;
  }
  if (values.lr !== undefined) {
    const v = numberFlag('--lr', values.lr);
    if (!(v > 0)) throw new Error(`--lr must be a positive number, got ${values.lr}`);
    config.lr = v;
  }
  if (values['weight-decay'] !== undefined) {
    const v = numberFlag('--weight-decay', values['weight-decay']);
    if (!(v >= 0)) throw new Error(`--weight-decay must be a non-negative number, got ${values['weight-decay']}`);
    config.weightDecay = v;
  }
  const logEvery = intFlag('--log-every', values['log-every']!, 0);
  if (values['data-dir'] !== undefined && values['data-dir'].trim() === '')
    throw new Error('--data-dir needs a path, got an empty string');
  return {
    help: values.help!,
    dataset: upper as GraphDatasetName,
    config,
    useNodeAttr: values['node-attr']!,
    edgeFeatures: !values['no-edge-features'],
    dataDir: values['data-dir'],
    logEvery,
    json: values.json!,
  };
}
