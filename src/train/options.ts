// Checks on what a caller hands to training, made before anything is uploaded: every option by its own name
// (hyperparameters that would produce NaN, unknown model names, unknown keys), and the splits a run needs. The
// CLI runs the same checks with its flag names (`--epochs` rather than `epochs`).

/** The layer types a model can be built from. */
export const MODEL_NAMES = ['gatv2', 'gat'] as const;
export type ModelName = (typeof MODEL_NAMES)[number];

/** What happens when the training loss becomes NaN or infinite: an error naming the epoch, or a warning. */
export type NonFinitePolicy = 'error' | 'warn';

/** Most epochs a run may ask for: the metrics history keeps 5 floats per epoch on the GPU. */
export const MAX_EPOCHS = 1_000_000;

/** The model options (GATModelConfig without the data-given channel counts), resolved to their defaults. */
export interface ResolvedModelOptions {
  model: ModelName;
  hiddenChannels: number;
  heads: number;
  outHeads: number;
  dropout: number;
  seed: number;
  residual: boolean;
  shareWeights: boolean;
  addSelfLoops: boolean;
}

/** The training options, resolved to their defaults. */
export interface ResolvedTrainOptions {
  epochs: number;
  lr: number;
  weightDecay: number;
  evaluate: boolean;
  onNonFinite: NonFinitePolicy;
  allowEmptySplits: boolean;
}

/** Checks on a run as a whole. */
export interface ResolvedRunChecks {
  /** Bytes of GPU memory the run may take in all (estimated before upload); Infinity for no total limit. */
  memoryBudget: number;
}

export type ResolvedRunOptions = ResolvedModelOptions & ResolvedTrainOptions & ResolvedRunChecks;

/** The defaults: the paper configuration (Velickovic et al. 2018, as PyG's examples/gat.py) with GATv2 layers. */
export const RUN_DEFAULTS: ResolvedRunOptions = {
  model: 'gatv2',
  hiddenChannels: 8,
  heads: 8,
  outHeads: 1,
  dropout: 0.6,
  seed: 0,
  residual: false,
  shareWeights: false,
  addSelfLoops: true,
  epochs: 200,
  lr: 0.005,
  weightDecay: 5e-4,
  evaluate: true,
  onNonFinite: 'error',
  allowEmptySplits: false,
  memoryBudget: Infinity,
};

/** How an option is called in messages: its key for the API, its flag for the CLI. */
export type OptionLabel = (key: string) => string;
const apiLabel: OptionLabel = (key) => key;

type Rule = (v: unknown, name: string) => void;

const show = (v: unknown): string =>
  typeof v === 'string' ? JSON.stringify(v) : typeof v === 'bigint' ? `${v}n` : String(v);

function fail(name: string, what: string, v: unknown): never {
  throw new Error(`${name} must be ${what}, got ${show(v)}`);
}

const integer =
  (min: number, max: number, what?: string): Rule =>
  (v, name) => {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      fail(
        name,
        what ?? (max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer in [${min}, ${max}]`),
        v,
      );
    }
  };
const positiveInteger: Rule = integer(1, Number.MAX_SAFE_INTEGER, 'a positive integer');
const nonNegative: Rule = (v, name) => {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(name, 'a finite number >= 0', v);
};
const boolean: Rule = (v, name) => {
  if (typeof v !== 'boolean') fail(name, 'true or false', v);
};
const oneOf =
  (values: readonly string[]): Rule =>
  (v, name) => {
    if (typeof v !== 'string' || !values.includes(v)) fail(name, `one of ${values.join(', ')}`, v);
  };

const MODEL_RULES: Record<keyof ResolvedModelOptions, Rule> = {
  model: oneOf(MODEL_NAMES),
  hiddenChannels: positiveInteger,
  heads: positiveInteger,
  outHeads: positiveInteger,
  dropout: (v, name) => {
    if (typeof v !== 'number' || !(v >= 0 && v < 1)) fail(name, 'a number in [0, 1)', v);
  },
  seed: integer(0, 2 ** 32 - 1),
  residual: boolean,
  shareWeights: boolean,
  addSelfLoops: boolean,
};

const TRAIN_RULES: Record<keyof ResolvedTrainOptions, Rule> = {
  epochs: integer(1, MAX_EPOCHS, `a positive integer (at most ${MAX_EPOCHS})`),
  lr: nonNegative,
  weightDecay: nonNegative,
  evaluate: boolean,
  onNonFinite: oneOf(['error', 'warn']),
  allowEmptySplits: boolean,
};

const CHECK_RULES: Record<keyof ResolvedRunChecks, Rule> = {
  memoryBudget: (v, name) => {
    if (typeof v !== 'number' || !(v > 0)) fail(name, 'a positive number of bytes (or Infinity)', v);
  },
};

/** Every key a run's options may have (besides the channel counts of a model, which come from the data). */
export const RUN_OPTION_KEYS = [...Object.keys(MODEL_RULES), ...Object.keys(TRAIN_RULES), ...Object.keys(CHECK_RULES)];

/**
 * Applies `rules` to `given` over `defaults`: an undefined value takes the default, anything else must pass its
 * rule; keys without a rule (other than `allowed`) are refused, listing the valid ones.
 */
function resolve<T extends object>(
  what: string,
  given: unknown,
  defaults: T,
  rules: Record<string, Rule>,
  label: OptionLabel,
  allowed: readonly string[] = [],
): T {
  if (given === undefined || given === null) given = {};
  if (typeof given !== 'object' || Array.isArray(given))
    throw new Error(`${what} must be an object, got ${show(given)}`);
  const out = { ...defaults } as Record<string, unknown>;
  for (const [key, v] of Object.entries(given as Record<string, unknown>)) {
    if (!(key in rules)) {
      if (allowed.includes(key)) continue;
      const valid = [...Object.keys(rules), ...allowed].map(label).join(', ');
      throw new Error(`${what}: unknown option ${label(key)} (valid options: ${valid})`);
    }
    if (v === undefined) continue;
    rules[key](v, label(key));
    out[key] = v;
  }
  return out as T;
}

function checkModelCombination(o: ResolvedModelOptions, label: OptionLabel): void {
  if (o.shareWeights && o.model !== 'gatv2') {
    throw new Error(`${label('shareWeights')} applies to gatv2 layers only (${label('model')} is ${o.model})`);
  }
}

/**
 * The options of a whole run (model, training and checks), each checked under its own name, with the defaults
 * filled in. Unknown keys and unknown model names are refused with the valid ones listed.
 */
export function resolveRunOptions(config: unknown, label: OptionLabel = apiLabel): ResolvedRunOptions {
  const rules = { ...MODEL_RULES, ...TRAIN_RULES, ...CHECK_RULES };
  const o = resolve('Training options', config, RUN_DEFAULTS, rules, label);
  checkModelCombination(o, label);
  return o;
}

/** A model's options (GATModelConfig): the channel counts as given, the rest checked and defaulted. */
export function resolveModelOptions<T extends { inChannels: number; outChannels: number }>(
  config: T,
): ResolvedModelOptions & { inChannels: number; outChannels: number } {
  if (config === null || typeof config !== 'object')
    throw new Error(`Model options must be an object, got ${show(config)}`);
  const rules = { ...MODEL_RULES, inChannels: positiveInteger, outChannels: positiveInteger };
  const defaults = {
    ...(Object.fromEntries(
      Object.keys(MODEL_RULES).map((k) => [k, RUN_DEFAULTS[k as keyof ResolvedModelOptions]]),
    ) as unknown as ResolvedModelOptions),
    inChannels: 0,
    outChannels: 0,
  };
  for (const key of ['inChannels', 'outChannels'] as const) {
    if (config[key] === undefined) throw new Error(`Model options: ${key} is missing`);
  }
  // A run's whole option object may be handed to the model: its training and check keys are not the model's.
  const o = resolve('Model options', config, defaults, rules, apiLabel, [
    ...Object.keys(TRAIN_RULES),
    ...Object.keys(CHECK_RULES),
  ]);
  checkModelCombination(o, apiLabel);
  return o;
}

/** The training options a Trainer takes, checked and defaulted. */
export function resolveTrainOptions(config: unknown): ResolvedTrainOptions {
  const defaults = Object.fromEntries(
    Object.keys(TRAIN_RULES).map((k) => [k, RUN_DEFAULTS[k as keyof ResolvedTrainOptions]]),
  );
  // A run's whole option object may be handed to the Trainer: its model and check keys are not the Trainer's.
  return resolve('Trainer options', config, defaults as unknown as ResolvedTrainOptions, TRAIN_RULES, apiLabel, [
    ...Object.keys(MODEL_RULES),
    ...Object.keys(CHECK_RULES),
  ]);
}

/** The shape of a dataset as the checks below need it. */
export interface SplitSizes {
  numNodes: number;
  counts: Record<'train' | 'val' | 'test', number>;
}

/** Counts the selected nodes of each mask; a missing mask, or one of the wrong length, is an error naming it. */
export function splitCounts(d: {
  numNodes: number;
  trainMask: ArrayLike<number>;
  valMask: ArrayLike<number>;
  testMask: ArrayLike<number>;
}): Record<'train' | 'val' | 'test', number> {
  if (!Number.isInteger(d.numNodes) || d.numNodes < 1)
    throw new Error(`numNodes must be a positive integer to train, got ${show(d.numNodes)}`);
  const count = (name: string, m: ArrayLike<number> | undefined) => {
    if (!m || typeof m !== 'object' || typeof m.length !== 'number')
      throw new Error(`${name} is missing (expected one 0/1 entry per node)`);
    if (m.length !== d.numNodes) throw new Error(`${name} has ${m.length} entries for ${d.numNodes} nodes`);
    let c = 0;
    for (let i = 0; i < m.length; i++) if (m[i]) c++;
    return c;
  };
  return {
    train: count('trainMask', d.trainMask),
    val: count('valMask', d.valMask),
    test: count('testMask', d.testMask),
  };
}

/**
 * A training run needs nodes, training nodes, and (unless `allowEmptySplits`) validation and test nodes: without
 * them the loss, the accuracies and the best epoch would be meaningless.
 */
export function checkTrainingSplits(d: SplitSizes, o: { allowEmptySplits: boolean }): void {
  if (!Number.isInteger(d.numNodes) || d.numNodes < 1)
    throw new Error(`numNodes must be a positive integer to train, got ${show(d.numNodes)}`);
  if (d.counts.train === 0)
    throw new Error('trainMask selects no nodes: training needs at least one labelled training node');
  if (o.allowEmptySplits) return;
  for (const split of ['val', 'test'] as const) {
    if (d.counts[split] === 0) {
      throw new Error(
        `${split}Mask selects no nodes: its accuracy (and the best validation epoch) would be meaningless; ` +
          'give it nodes, or pass allowEmptySplits: true to train without it',
      );
    }
  }
}
