// Checking a state dict before anything is copied from it, the way PyTorch's Module.load_state_dict reports
// problems: every missing and unexpected name, every shape and dtype mismatch, in one error.
//
// Loading is then transactional: a model calls checkStateDict first and copies only when it returned, so a refused
// load leaves every parameter as it was.

/** One tensor a model expects: its state-dict name, its shape and its dtype (default 'F32'). */
export interface TensorSpec {
  name: string;
  shape: readonly number[];
  dtype?: string;
}

/** A tensor offered for loading. Without `dtype`, the dtype is that of `data` (Float32Array: 'F32', ...). */
export interface StateDictTensor {
  shape: readonly number[];
  data: ArrayLike<number> | ArrayLike<bigint>;
  dtype?: string;
}

export interface CheckStateDictOptions {
  /**
   * As PyTorch's `strict` (default true): missing and unexpected names are errors. With `strict: false` they are
   * reported in the result instead; shape and dtype mismatches are errors either way.
   */
  strict?: boolean;
  /** Named in the message: "Error(s) in loading state_dict for <owner>:". */
  owner?: string;
}

export interface StateDictCheck {
  /** Expected names the dict lacks (empty when strict). */
  missing: string[];
  /** Names in the dict the model does not have (empty when strict). */
  unexpected: string[];
  /** Expected names the dict has, with the right shape and dtype: what a load copies. */
  matched: string[];
}

/** The error checkStateDict throws; its lists say what was wrong, its message says it as PyTorch does. */
export class StateDictError extends Error {
  constructor(
    message: string,
    readonly missing: string[],
    readonly unexpected: string[],
    readonly mismatched: string[],
  ) {
    super(message);
    this.name = 'StateDictError';
  }
}

const DTYPE_OF: [new (n: number) => unknown, string][] = [
  [Float32Array, 'F32'],
  [Float64Array, 'F64'],
  [Int32Array, 'I32'],
  [Uint32Array, 'U32'],
  [Uint8Array, 'U8'],
  [BigInt64Array, 'I64'],
  [Int8Array, 'I8'],
  [Int16Array, 'I16'],
  [Uint16Array, 'U16'],
  [BigUint64Array, 'U64'],
];

function dtypeOf(t: StateDictTensor): string {
  if (t.dtype !== undefined) return t.dtype;
  for (const [ctor, name] of DTYPE_OF) if (t.data instanceof ctor) return name;
  return Array.isArray(t.data) ? 'F32' : 'unknown';
}

const shapeText = (s: readonly unknown[]) => `[${s.join(', ')}]`;
const quoted = (names: string[]) => names.map((n) => `"${n}"`).join(', ');

/**
 * Validates a whole state dict against what a model expects, before anything is copied.
 *
 * Throws a StateDictError listing, as PyTorch does, the missing keys and the unexpected keys (when `strict`, the
 * default), and every size mismatch, dtype mismatch or tensor whose data does not hold shape-many values:
 *
 *   Error(s) in loading state_dict for GATModel:
 *     Missing key(s) in state_dict: "conv2.att".
 *     Unexpected key(s) in state_dict: "conv3.bias".
 *     size mismatch for conv1.att: copying a param with shape [1, 4, 16] from checkpoint, the shape in current
 *     model is [1, 8, 8].
 *
 * Returns the names to copy (and, with `strict: false`, the missing and unexpected ones).
 */
export function checkStateDict(
  expected: readonly TensorSpec[],
  dict: Readonly<Record<string, StateDictTensor>>,
  opts: CheckStateDictOptions = {},
): StateDictCheck {
  const strict = opts.strict ?? true;
  const head = `Error(s) in loading state_dict${opts.owner ? ` for ${opts.owner}` : ''}:`;
  if (dict === null || typeof dict !== 'object' || Array.isArray(dict)) {
    throw new StateDictError(
      `${head}\n\tthe state dict is not an object of named tensors (got ${dict === null ? 'null' : typeof dict})`,
      [],
      [],
      [],
    );
  }
  const wanted = new Map(expected.map((s) => [s.name, s]));
  const missing = expected.map((s) => s.name).filter((n) => !Object.hasOwn(dict, n));
  const unexpected = Object.keys(dict).filter((n) => !wanted.has(n));
  const matched: string[] = [];
  const mismatched: string[] = [];
  const problems: string[] = [];
  for (const spec of expected) {
    if (!Object.hasOwn(dict, spec.name)) continue;
    const t = dict[spec.name];
    const name = spec.name;
    if (
      t === null ||
      typeof t !== 'object' ||
      !Array.isArray(t.shape) ||
      t.data === null ||
      typeof t.data !== 'object'
    ) {
      problems.push(`${name} is not a tensor ({ shape, data })`);
    } else if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      problems.push(`${name} has an invalid shape ${shapeText(t.shape)}`);
    } else if (t.shape.length !== spec.shape.length || t.shape.some((d, i) => d !== spec.shape[i])) {
      problems.push(
        `size mismatch for ${name}: copying a param with shape ${shapeText(t.shape)} from checkpoint, ` +
          `the shape in current model is ${shapeText(spec.shape)}.`,
      );
    } else if (dtypeOf(t) !== (spec.dtype ?? 'F32')) {
      problems.push(
        `dtype mismatch for ${name}: copying a param with dtype ${dtypeOf(t)} from checkpoint, ` +
          `the dtype in current model is ${spec.dtype ?? 'F32'}.`,
      );
    } else if (t.data.length !== t.shape.reduce((a, b) => a * b, 1)) {
      problems.push(`${name} has shape ${shapeText(t.shape)} but ${t.data.length} values`);
    } else {
      matched.push(name);
      continue;
    }
    mismatched.push(name);
  }
  // PyTorch's order: missing, then unexpected, then the per-tensor problems.
  const lines: string[] = [];
  if (strict && missing.length > 0) lines.push(`Missing key(s) in state_dict: ${quoted(missing)}. `);
  if (strict && unexpected.length > 0) lines.push(`Unexpected key(s) in state_dict: ${quoted(unexpected)}. `);
  lines.push(...problems);
  if (lines.length > 0) {
    throw new StateDictError(`${head}\n\t${lines.join('\n\t')}`, missing, unexpected, mismatched);
  }
  return { missing, unexpected, matched };
}
