// The graph task's CLI flags (`npm run train -- --task graph`), checked without a GPU: random argv arrays
// (fast-check), each flag drawn valid or invalid; every outcome is either a configuration with the values given or
// an error that names one of the invalid flags. Plus hand-written cases, and the training options refused by name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { GRAPH_HELP, parseGraphTrainArgs, taskOf } from '../../src/cli/graph-train-options.ts';
import { resolveGraphTrainConfig } from '../../src/train/graph.ts';

type Flag = { flag: string; args: string[]; valid: boolean };
const pick = (flag: string, ok: fc.Arbitrary<string>, bad: fc.Arbitrary<string>): fc.Arbitrary<Flag> =>
  fc.oneof(
    { weight: 5, arbitrary: ok.map((v) => ({ flag, args: [flag, v], valid: true })) },
    { weight: 1, arbitrary: bad.map((v) => ({ flag, args: [flag, v], valid: false })) },
  );
const int = (min: number, max: number) => fc.integer({ min, max }).map(String);
const notNumber = fc.constantFrom('', 'abc', '0x10', 'NaN', '1e', '--', 'Infinity');
const FLAGS = [
  pick('--dataset', fc.constantFrom('MUTAG', 'PROTEINS', 'ENZYMES', 'mutag'), fc.constantFrom('cora', 'NCI1', '')),
  pick('--pool', fc.constantFrom('attention', 'mean', 'add', 'max'), fc.constantFrom('sum', 'softmax', '')),
  pick('--jk', fc.constantFrom('cat', 'last'), fc.constantFrom('max', 'lstm')),
  pick('--folds', int(2, 20), fc.oneof(int(-5, 1), notNumber, fc.constant('2.5'))),
  pick('--epochs', int(1, 500), fc.oneof(int(-5, 0), notNumber, fc.constant('1.5'))),
  pick('--batch-size', int(1, 256), fc.oneof(int(-5, 0), notNumber)),
  pick('--layers', int(1, 6), fc.oneof(int(-3, 0), notNumber)),
  pick('--heads', int(1, 8), fc.oneof(int(-3, 0), notNumber)),
  pick('--hidden', int(1, 64), fc.oneof(int(-3, 0), notNumber)),
  pick('--seed', int(0, 2 ** 31), fc.oneof(fc.constantFrom('-1', '4294967296', '0.5'), notNumber)),
  pick('--fold-seed', int(0, 1000), fc.oneof(fc.constantFrom('-1', '0.5'), notNumber)),
  pick(
    '--lr',
    fc.double({ min: 1e-5, max: 1, noNaN: true }).map(String),
    fc.oneof(fc.constantFrom('0', '-0.1'), notNumber),
  ),
  pick(
    '--dropout',
    fc.double({ min: 0, max: 0.99, noNaN: true }).map(String),
    fc.oneof(fc.constantFrom('1', '-0.1', '2'), notNumber),
  ),
  pick(
    '--weight-decay',
    fc.double({ min: 0, max: 0.1, noNaN: true }).map(String),
    fc.oneof(fc.constantFrom('-1'), notNumber),
  ),
];

test('random argv: a configuration with the given values, or an error naming an invalid flag', () => {
  fc.assert(
    fc.property(
      fc.subarray(FLAGS.map((_, i) => i)).chain((ix) => fc.tuple(...ix.map((i) => FLAGS[i]))),
      fc.boolean(),
      (flags, noEdge) => {
        const argv = ['--task', 'graph', ...flags.flatMap((f) => f.args), ...(noEdge ? ['--no-edge-features'] : [])];
        const bad = flags.filter((f) => !f.valid).map((f) => f.flag);
        let parsed: ReturnType<typeof parseGraphTrainArgs>;
        try {
          parsed = parseGraphTrainArgs(argv);
        } catch (err) {
          const msg = (err as Error).message;
          assert.ok(bad.length > 0, `refused a valid argv ${JSON.stringify(argv)}: ${msg}`);
          assert.ok(
            bad.some((f) => msg.includes(f)),
            `error "${msg}" names none of ${bad.join(', ')}`,
          );
          return;
        }
        assert.equal(bad.length, 0, `accepted invalid ${bad.join(', ')} in ${JSON.stringify(argv)}`);
        assert.equal(parsed.edgeFeatures, !noEdge);
        assert.equal(parsed.config.edgeFeatures, !noEdge);
        const given = (flag: string) => flags.find((f) => f.flag === flag)?.args[1];
        if (given('--folds')) assert.equal(parsed.config.folds, Number(given('--folds')));
        if (given('--epochs')) assert.equal(parsed.config.epochs, Number(given('--epochs')));
        if (given('--batch-size')) assert.equal(parsed.config.batchSize, Number(given('--batch-size')));
        if (given('--pool')) assert.equal(parsed.config.readout, given('--pool'));
        if (given('--dataset')) assert.equal(parsed.dataset, given('--dataset')!.toUpperCase());
      },
    ),
    { seed: 20261130, numRuns: 1000 },
  );
});

test('defaults, --task, unknown flags, stray arguments and --help', () => {
  const d = parseGraphTrainArgs(['--task', 'graph']);
  assert.equal(d.dataset, 'MUTAG');
  assert.equal(d.config.readout, 'add');
  assert.equal(d.edgeFeatures, true);
  assert.equal(taskOf(['--dataset', 'cora']), 'node');
  assert.equal(taskOf(['--task', 'graph']), 'graph');
  assert.equal(taskOf(['--task=graph']), 'graph');
  assert.throws(
    () => parseGraphTrainArgs(['--task', 'graph', '--model', 'gat']),
    /^Error: unknown option --model for --task graph \(npm run train -- --task graph --help lists them\)$/,
  );
  assert.throws(() => parseGraphTrainArgs(['--task', 'graph', '--folds']), /^Error: --folds argument missing$/);
  assert.throws(() => parseGraphTrainArgs(['--task', 'graph', 'MUTAG']), /unexpected argument "MUTAG"/);
  assert.throws(() => parseGraphTrainArgs(['--task', 'link']), /--task must be node or graph/);
  assert.throws(() => parseGraphTrainArgs(['--task', 'graph', '--data-dir', ' ']), /--data-dir needs a path/);
  assert.equal(parseGraphTrainArgs(['--task', 'graph', '--help']).help, true);
  for (const flag of ['--pool', '--no-edge-features', '--folds', '--epochs', '--batch-size'])
    assert.ok(GRAPH_HELP.includes(flag), `--help lists ${flag}`);
  assert.match(GRAPH_HELP, /--no-edge-features +ignore the dataset's edge features/);
});

test('trainGraphClassifier options: each bad value refused by name before anything is uploaded', () => {
  const dims = { inChannels: 7, numClasses: 2 };
  const ok = resolveGraphTrainConfig({}, dims);
  assert.equal(ok.folds, 10);
  assert.equal(ok.batchSize, 32);
  assert.equal(ok.readout, 'add');
  assert.equal(ok.norm, 'batch');
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ folds: 1 }, /folds must be at least 2/],
    [{ epochs: 0 }, /epochs must be a positive integer/],
    [{ batchSize: 2.5 }, /batchSize must be a positive integer/],
    [{ lr: 0 }, /lr must be a positive number/],
    [{ weightDecay: -1 }, /weightDecay must be a non-negative number/],
    [{ seed: -1 }, /seed must be an integer in \[0, 2\^32\)/],
    [{ onlyFolds: [10] }, /onlyFolds holds 10, outside 0..9/],
    [{ readout: 'sum' }, /readout must be/],
    [{ norm: 'layer' }, /norm must be 'batch' or 'none'/],
    [{ dropout: 1 }, /dropout must be in \[0, 1\)/],
    [{ edgeFeatures: 'yes' }, /edgeFeatures must be true or false/],
  ];
  for (const [cfg, pattern] of bad)
    assert.throws(() => resolveGraphTrainConfig(cfg, dims), pattern, JSON.stringify(cfg));
  // Edge features: the dataset's width by default, none with edgeFeatures false or a dataset without any.
  assert.equal(ok.edgeDim, 0);
  assert.equal(resolveGraphTrainConfig({}, { ...dims, numEdgeFeatures: 4 }).edgeDim, 4);
  assert.equal(resolveGraphTrainConfig({ edgeFeatures: false }, { ...dims, numEdgeFeatures: 4 }).edgeDim, 0);
});
