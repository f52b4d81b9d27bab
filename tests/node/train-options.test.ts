// Training options and CLI flags, checked without a GPU: random option objects and argv arrays (fast-check), each
// value drawn as valid or invalid; every outcome is either options a run can start with or an error that names one
// of the invalid options. Plus one hand-written case per kind of refusal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseTrainArgs } from '../../src/cli/train-options.ts';
import { GATConv } from '../../src/nn/gat-conv.ts';
import { GATv2Conv } from '../../src/nn/gatv2-conv.ts';
import {
  MAX_EPOCHS,
  resolveModelOptions,
  resolveRunOptions,
  resolveTrainOptions,
  RUN_DEFAULTS,
  RUN_OPTION_KEYS,
} from '../../src/train/options.ts';

const SEED = 20261130;
const RUNS = Number(process.env.OPTION_FUZZ_RUNS ?? 1500);

type Tagged = { value: unknown; valid: boolean };
const valid = (a: fc.Arbitrary<unknown>) => a.map((value): Tagged => ({ value, valid: true }));
const invalid = (a: fc.Arbitrary<unknown>) => a.map((value): Tagged => ({ value, valid: false }));
/** Mostly valid values, so that many cases have a single invalid option or none (a run that must start). */
const either = (ok: fc.Arbitrary<unknown>, bad: fc.Arbitrary<unknown>) =>
  fc.oneof({ weight: 6, arbitrary: valid(ok) }, { weight: 1, arbitrary: invalid(bad) });

const notNumber = fc.oneof(
  fc.constant(null),
  fc.string({ maxLength: 4 }),
  fc.boolean(),
  fc.constant([1]),
  fc.constant({}),
);
const nonFinite = fc.constantFrom(NaN, Infinity, -Infinity);
const badCount = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(0, -1, 1.5) },
  fc.integer({ min: -1000, max: 0 }),
  fc.double({ min: 0.01, max: 1000, noNaN: true }).filter((v) => !Number.isInteger(v)),
  nonFinite,
  notNumber,
);
const notBoolean = fc.oneof(fc.constantFrom(0, 1, 'true', null), fc.string({ maxLength: 3 }));

/** For each option: values it accepts, and values it must refuse. */
const OPTIONS: Record<string, [ok: fc.Arbitrary<unknown>, bad: fc.Arbitrary<unknown>]> = {
  model: [
    fc.constantFrom('gatv2', 'gat'),
    fc.oneof(
      fc.constantFrom('gcn', 'GAT', 'gatv3', ''),
      notNumber.filter((v) => v !== 'gat' && v !== 'gatv2'),
    ),
  ],
  hiddenChannels: [fc.integer({ min: 1, max: 64 }), badCount],
  heads: [fc.integer({ min: 1, max: 16 }), badCount],
  outHeads: [fc.integer({ min: 1, max: 4 }), badCount],
  dropout: [
    fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
    fc.oneof(
      fc.constantFrom(1, -Number.MIN_VALUE),
      fc.double({ min: 1, max: 1e6, noNaN: true }),
      fc.double({ max: -1e-9, min: -1e6, noNaN: true }),
      nonFinite,
      notNumber,
    ),
  ],
  seed: [
    fc.oneof(fc.constantFrom(0, 2 ** 32 - 1), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    fc.oneof(fc.constantFrom(-1, 2 ** 32, 1.5, 2 ** 53), nonFinite, notNumber),
  ],
  residual: [fc.boolean(), notBoolean],
  shareWeights: [fc.boolean(), notBoolean],
  addSelfLoops: [fc.boolean(), notBoolean],
  epochs: [
    fc.oneof(fc.constantFrom(1, MAX_EPOCHS), fc.integer({ min: 1, max: MAX_EPOCHS })),
    fc.oneof(badCount, fc.constantFrom(MAX_EPOCHS + 1, 1e300, 2 ** 53)),
  ],
  lr: [
    fc.double({ min: 0, max: 10, noNaN: true }),
    fc.oneof(fc.double({ max: -1e-12, min: -1e10, noNaN: true }), nonFinite, notNumber),
  ],
  weightDecay: [
    fc.double({ min: 0, max: 1, noNaN: true }),
    fc.oneof(fc.double({ max: -1e-12, min: -1e10, noNaN: true }), nonFinite, notNumber),
  ],
  evaluate: [fc.boolean(), notBoolean],
  onNonFinite: [fc.constantFrom('error', 'warn'), fc.oneof(fc.constantFrom('ignore', 'Error', ''), notNumber)],
  allowEmptySplits: [fc.boolean(), notBoolean],
  memoryBudget: [
    fc.oneof(fc.double({ min: 1, max: 1e12, noNaN: true }), fc.constant(Infinity)),
    fc.oneof(fc.constantFrom(0, -1, NaN, -Infinity), notNumber),
  ],
};
const OPTION_VALUES = Object.fromEntries(Object.entries(OPTIONS).map(([k, [ok, bad]]) => [k, either(ok, bad)]));

test('every run option has a generator of valid and invalid values', () => {
  assert.deepEqual(Object.keys(OPTION_VALUES).sort(), [...RUN_OPTION_KEYS].sort());
});

/** All options valid but (at most) one: each refusal must then name that one. */
const oneBad = fc
  .constantFrom(null, ...Object.keys(OPTIONS))
  .chain((victim) =>
    fc.record(
      Object.fromEntries(Object.entries(OPTIONS).map(([k, [ok, bad]]) => [k, k === victim ? invalid(bad) : valid(ok)])),
      { requiredKeys: victim ? [victim] : [] },
    ),
  );
const optionObjects = fc.record({
  options: fc.oneof(fc.record(OPTION_VALUES, { requiredKeys: [] }), oneBad),
  unknown: fc.option(fc.constantFrom('learningRate', 'epoch', 'hidden', 'weight_decay', 'layers', 'gcn'), {
    nil: undefined,
  }),
});

test('random option objects: options a run can start with, or an error naming an invalid option', () => {
  fc.assert(
    fc.property(optionObjects, ({ options, unknown }) => {
      const config: Record<string, unknown> = Object.fromEntries(
        Object.entries(options).map(([k, t]) => [k, t!.value]),
      );
      const bad = Object.entries(options)
        .filter(([, t]) => !t!.valid)
        .map(([k]) => k);
      if (unknown) config[unknown] = 1;
      const model = options.model?.valid ? options.model.value : RUN_DEFAULTS.model;
      const conflict = bad.length === 0 && options.shareWeights?.value === true && model === 'gat';
      let resolved: ReturnType<typeof resolveRunOptions>;
      try {
        resolved = resolveRunOptions(config);
      } catch (err) {
        const msg = (err as Error).message;
        const named =
          bad.some((k) => msg.startsWith(`${k} must be`)) ||
          (unknown !== undefined && msg.includes(`unknown option ${unknown} (valid options: `)) ||
          (conflict && msg.startsWith('shareWeights applies to gatv2 layers only'));
        assert.ok(named, `refusal names none of the bad options [${bad}${unknown ? `, ${unknown}` : ''}]: ${msg}`);
        return;
      }
      assert.deepEqual(bad, [], `accepted invalid options ${bad.join(', ')}`);
      assert.equal(unknown, undefined, `accepted the unknown option ${unknown}`);
      assert.ok(!conflict, 'accepted shareWeights with GAT layers');
      for (const [k, t] of Object.entries(options))
        assert.equal((resolved as unknown as Record<string, unknown>)[k], t!.value, k);
      // The run can start: the layers accept what the options resolved to (built on the host only, no GPU).
      const Conv = resolved.model === 'gat' ? GATConv : GATv2Conv;
      const extra = resolved.model === 'gatv2' ? { shareWeights: resolved.shareWeights } : {};
      new Conv(5, resolved.hiddenChannels, {
        heads: resolved.heads,
        dropout: resolved.dropout,
        residual: resolved.residual,
        ...extra,
      });
      new Conv(resolved.hiddenChannels * resolved.heads, 3, {
        heads: resolved.outHeads,
        concat: false,
        dropout: resolved.dropout,
        ...extra,
      });
      resolveModelOptions({ ...resolved, inChannels: 5, outChannels: 3 });
      resolveTrainOptions(resolved);
    }),
    { numRuns: RUNS, seed: SEED },
  );
});

// ---- the CLI ----

/** For each value flag: (its run option, or null) and strings it accepts or refuses. */
const numberString = (a: fc.Arbitrary<number>) => a.map(String);
const badNumberString = fc.oneof(fc.constantFrom('', ' ', 'abc', '0x10', 'NaN', 'Infinity', '1,5', '5e', '--', 'one'));
const badCountString = fc.oneof(badNumberString, fc.constant('0'), fc.constantFrom('0', '-3', '2.5', '1e-3', '-0.5'));
const FLAG_VALUES: Record<string, { option: string | null; values: fc.Arbitrary<Tagged> }> = {
  '--dataset': {
    option: null,
    values: either(fc.constantFrom('cora', 'citeseer'), fc.constantFrom('pubmed', 'Cora', '', 'cora ')),
  },
  '--model': {
    option: 'model',
    values: either(fc.constantFrom('gatv2', 'gat'), fc.constantFrom('gcn', 'GATv2', '', 'gat2')),
  },
  '--heads': { option: 'heads', values: either(numberString(fc.integer({ min: 1, max: 16 })), badCountString) },
  '--hidden': {
    option: 'hiddenChannels',
    values: either(numberString(fc.integer({ min: 1, max: 64 })), badCountString),
  },
  '--epochs': {
    option: 'epochs',
    values: either(
      numberString(fc.integer({ min: 1, max: MAX_EPOCHS })),
      fc.oneof(badCountString, fc.constantFrom('1e9', String(MAX_EPOCHS + 1), '1e400')),
    ),
  },
  '--lr': {
    option: 'lr',
    values: either(
      fc.constantFrom('0.005', '1e-3', '0', '.5', '2'),
      fc.oneof(badNumberString, fc.constantFrom('-1', '-1e-3', '1e400')),
    ),
  },
  '--weight-decay': {
    option: 'weightDecay',
    values: either(fc.constantFrom('5e-4', '0', '0.1'), fc.oneof(badNumberString, fc.constantFrom('-5e-4', '1e999'))),
  },
  '--dropout': {
    option: 'dropout',
    values: either(
      fc.constantFrom('0', '0.6', '0.999'),
      fc.oneof(badNumberString, fc.constantFrom('1', '1.5', '-0.1')),
    ),
  },
  '--seed': {
    option: 'seed',
    values: either(
      numberString(fc.integer({ min: 0, max: 2 ** 32 - 1 })),
      fc.oneof(badNumberString, fc.constantFrom('-1', '4294967296', '1.5')),
    ),
  },
  '--log-every': { option: null, values: either(numberString(fc.integer({ min: 1, max: 500 })), badCountString) },
  '--save': {
    option: null,
    values: either(fc.constantFrom('model.safetensors', 'out/w.safetensors'), fc.constantFrom('', '  ')),
  },
  '--trace': { option: null, values: either(fc.constantFrom('trace.json'), fc.constant('')) },
  '--data-dir': {
    option: null,
    values: either(fc.constantFrom('data', '../shared/datasets/planetoid'), fc.constant('')),
  },
};
const BOOLEAN_FLAGS = ['--residual', '--profile', '--json'];

const argvs = fc.record({
  flags: fc.record(FLAG_VALUES_ARB(), { requiredKeys: [] }),
  booleans: fc.subarray(BOOLEAN_FLAGS),
  unknown: fc.option(fc.constantFrom('--learning-rate', '--epoch', '--gpu', '-x', '--hidden-channels'), {
    nil: undefined,
  }),
  positional: fc.option(fc.constantFrom('cora', '200', 'x'), { nil: undefined }),
  spaced: fc.boolean(),
});

function FLAG_VALUES_ARB(): Record<string, fc.Arbitrary<Tagged>> {
  return Object.fromEntries(Object.entries(FLAG_VALUES).map(([flag, { values }]) => [flag, values]));
}

test('random argv arrays: options a run can start with, or an error naming an invalid flag', () => {
  fc.assert(
    fc.property(argvs, ({ flags, booleans, unknown, positional, spaced }) => {
      const argv: string[] = [];
      for (const [flag, t] of Object.entries(flags)) {
        const v = String(t!.value);
        // "--flag value" where the value cannot be taken for a flag, else "--flag=value".
        if (spaced && v !== '' && !v.startsWith('-')) argv.push(flag, v);
        else argv.push(`${flag}=${v}`);
      }
      argv.push(...booleans);
      if (unknown) argv.push(unknown);
      if (positional) argv.push(positional);
      const bad = Object.entries(flags)
        .filter(([, t]) => !t!.valid)
        .map(([f]) => f);
      let args: ReturnType<typeof parseTrainArgs>;
      try {
        args = parseTrainArgs(argv);
      } catch (err) {
        const msg = (err as Error).message;
        const named =
          bad.some((f) => msg.startsWith(`${f} `)) ||
          (unknown !== undefined && msg.includes(`unknown option ${unknown}`)) ||
          (positional !== undefined && msg.startsWith(`unexpected argument "${positional}"`));
        assert.ok(
          named,
          `refusal names none of [${bad}${unknown ? `, ${unknown}` : ''}${positional ? `, "${positional}"` : ''}] ` +
            `in ${JSON.stringify(argv)}: ${msg}`,
        );
        return;
      }
      assert.deepEqual(bad, [], `accepted invalid flags in ${JSON.stringify(argv)}`);
      assert.equal(unknown, undefined, `accepted ${unknown}`);
      assert.equal(positional, undefined, `accepted the argument ${positional}`);
      for (const [flag, t] of Object.entries(flags)) {
        const option = FLAG_VALUES[flag].option;
        if (option)
          assert.equal(
            String((args.run as unknown as Record<string, unknown>)[option]),
            String(Number.isNaN(Number(t!.value)) ? t!.value : Number(t!.value)),
            flag,
          );
      }
      assert.equal(args.run.residual, booleans.includes('--residual'));
      assert.equal(
        args.profile,
        booleans.includes('--profile') || flags['--trace'] !== undefined,
        '--trace implies --profile',
      );
    }),
    { numRuns: RUNS, seed: SEED },
  );
});

// ---- one case per kind of refusal ----

test('CLI: each bad flag is named (epochs 0, negative, fractional, huge; hidden 0; seed NaN; ...)', () => {
  const refuse = (argv: string[], pattern: RegExp) =>
    assert.throws(() => parseTrainArgs(argv), { message: pattern }, argv.join(' '));
  refuse(['--epochs', '0'], /^--epochs must be a positive integer \(at most 1000000\), got 0$/);
  refuse(['--epochs=-5'], /^--epochs must be a positive integer/);
  refuse(['--epochs', '2.5'], /^--epochs must be a positive integer.*got 2\.5/);
  refuse(['--epochs', '1e12'], /^--epochs must be a positive integer \(at most 1000000\), got 1000000000000/);
  refuse(['--hidden', '0'], /^--hidden must be a positive integer, got 0/);
  refuse(['--heads', 'eight'], /^--heads must be a number, got "eight"/);
  refuse(['--lr', 'Infinity'], /^--lr must be a number, got "Infinity"/);
  refuse(['--lr=-0.1'], /^--lr must be a finite number >= 0, got -0\.1/);
  refuse(['--seed', 'NaN'], /^--seed must be a number, got "NaN"/);
  refuse(['--seed', '1.5'], /^--seed must be an integer in \[0, 4294967295\], got 1\.5/);
  refuse(['--model', 'gcn'], /^--model must be one of gatv2, gat, got "gcn"/);
  refuse(['--dropout', '1'], /^--dropout must be a number in \[0, 1\), got 1/);
  refuse(['--log-every', '0'], /^--log-every must be a positive integer, got 0/);
  refuse(['--lrate', '0.1'], /^unknown option --lrate \(npm run train -- --help lists them\)$/);
  refuse(['--epochs'], /^--epochs argument missing$/);
  refuse(['--residual=yes'], /^--residual does not take an argument$/);
  refuse(['200'], /^unexpected argument "200"/);
  const a = parseTrainArgs(['--trace', 't.json']);
  assert.ok(a.profile, '--trace implies --profile');
  assert.equal(a.trace, 't.json');
  const d = parseTrainArgs([]);
  assert.deepEqual(d.run, RUN_DEFAULTS);
});

test("API: model: 'gcn' and unknown keys are refused listing the valid ones; shareWeights with GAT", () => {
  assert.throws(() => resolveRunOptions({ model: 'gcn' }), { message: /^model must be one of gatv2, gat, got "gcn"$/ });
  assert.throws(() => resolveModelOptions({ inChannels: 4, outChannels: 2, model: 'gcn' as 'gat' }), {
    message: /^model must be one of gatv2, gat/,
  });
  assert.throws(() => resolveRunOptions({ learningRate: 0.1 }), {
    message: /unknown option learningRate \(valid options: model, hiddenChannels, heads, .*lr, /,
  });
  assert.throws(() => resolveRunOptions({ model: 'gat', shareWeights: true }), {
    message: /^shareWeights applies to gatv2 layers only \(model is gat\)/,
  });
  assert.throws(() => resolveModelOptions({ inChannels: 0, outChannels: 2 }), {
    message: /^inChannels must be a positive integer, got 0/,
  });
  assert.throws(() => resolveTrainOptions({ epochs: 3, lr: NaN }), {
    message: /^lr must be a finite number >= 0, got NaN/,
  });
  // undefined means "the default", as an absent key does.
  assert.deepEqual(resolveRunOptions({ epochs: undefined, model: undefined }), RUN_DEFAULTS);
});
