import type { Gpu } from '../../src/gpu/gpu.ts';
import type { Tensor } from '../../src/gpu/tensor.ts';
import {
  spmm,
  transposeSparse,
  uploadSparse,
  uploadSparseTranspose,
  type SparseRows,
  type SpmmOptions,
} from '../../src/kernels/spmm.ts';
import { checkVjp } from '../reference/fd.ts';
import * as ref from '../reference/spmm.ts';
import {
  assert,
  assertBitIdentical,
  assertClose,
  assertEqual,
  assertThrows,
  poisoned,
  randInt,
  randomArray,
  repeat,
  type KernelCase,
} from './harness.ts';

const CASES = 20;

interface Shape {
  rows: number;
  cols: number;
  /** Nonzeros per row, drawn uniformly from [0, maxPerRow]. */
  maxPerRow: number;
  /** Rows forced empty, and rows forced to hold `longRow` nonzeros. */
  emptyEvery?: number;
  longRows?: number[];
  longRow?: number;
  /** Allow repeated column indices within a row (they add up). */
  duplicates?: boolean;
}

/** A random CSR matrix; columns sorted within each row (as Planetoid's features). */
function randomSparse(rand: () => number, s: Shape): SparseRows {
  const rowPtr = new Uint32Array(s.rows + 1);
  const colIdx: number[] = [];
  const values: number[] = [];
  for (let r = 0; r < s.rows; r++) {
    let count = randInt(rand, 0, s.maxPerRow + 1);
    if (s.emptyEvery && r % s.emptyEvery === 0) count = 0;
    if (s.longRows?.includes(r)) count = s.longRow!;
    const cols = s.cols === 0 ? [] : Array.from({ length: count }, () => randInt(rand, 0, s.cols));
    const row = s.duplicates ? cols : [...new Set(cols)];
    row.sort((x, y) => x - y);
    for (const c of row) colIdx.push(c), values.push(2 * rand() - 1);
    rowPtr[r + 1] = colIdx.length;
  }
  return { rows: s.rows, cols: s.cols, rowPtr, colIdx: Uint32Array.from(colIdx), values: Float32Array.from(values) };
}

/** Runs spmm into a NaN-poisoned Y (or a random Y when accumulating) and returns it with the float64 answer. */
async function runCase(
  gpu: Gpu,
  rand: () => number,
  a: SparseRows,
  n: number,
  opts: { accumulate?: boolean; dropout?: ref.Dropout; transpose?: boolean; bias?: boolean } = {},
) {
  const rows = opts.transpose ? a.cols : a.rows,
    inner = opts.transpose ? a.rows : a.cols;
  const b = randomArray(rand, inner * n),
    y0 = randomArray(rand, rows * n);
  const ta = opts.transpose ? uploadSparseTranspose(gpu, a) : uploadSparse(gpu, a);
  const tb = gpu.tensor('f32', [inner, n], b);
  const out = opts.accumulate ? gpu.tensor('f32', [rows, n], y0) : poisoned(gpu, 'f32', [rows, n]);
  const step = opts.dropout && gpu.tensor('u32', [1], [opts.dropout.step]);
  const dropout = opts.dropout && step && { p: opts.dropout.p, seed: opts.dropout.seed, step };
  const biasValues = opts.bias ? randomArray(rand, n) : null;
  const bias = biasValues ? gpu.tensor('f32', [n], biasValues) : undefined;
  const got = (await spmm(gpu, ta, tb, { out, accumulate: opts.accumulate, dropout, bias }).read()) as Float32Array;
  const want = opts.transpose
    ? addInto(ref.spmmBackwardB(a, b, n, opts.dropout), opts.accumulate ? y0 : undefined)
    : ref.spmm(a, b, n, opts.dropout, opts.accumulate ? y0 : undefined);
  if (biasValues) for (let i = 0; i < want.length; i++) want[i] += biasValues[i % n];
  ta.dispose();
  [tb, out, step, bias].forEach((t) => t?.dispose());
  return { got, want };
}

function addInto(x: Float64Array, y?: ArrayLike<number>): Float64Array {
  if (y) for (let i = 0; i < x.length; i++) x[i] += y[i];
  return x;
}

/**
 * N: multiples of 4 (the vec4 kernel, up to 32 columns a thread) and not (16), below and above one thread's columns.
 */
const randomN = (rand: () => number) => (rand() < 0.5 ? 4 * randInt(rand, 1, 40) : randInt(rand, 1, 80));

export const cases: KernelCase[] = [
  {
    name:
      'Y = A B (+ bias) matches float64 on random sparse matrices (empty rows, duplicates, ragged N), ' +
      'accumulate off and on',
    async run(gpu) {
      await repeat(CASES, 1, async (rand, i) => {
        const a = randomSparse(rand, {
          rows: randInt(rand, 1, 300),
          cols: randInt(rand, 1, 200),
          maxPerRow: randInt(rand, 0, 40),
          emptyEvery: randInt(rand, 2, 9),
          duplicates: i % 3 === 0,
        });
        const n = randomN(rand);
        for (const accumulate of [false, true]) {
          const bias = rand() < 0.5;
          const { got, want } = await runCase(gpu, rand, a, n, { accumulate, bias });
          assertClose(
            `[${a.rows}, ${a.cols}] (${a.colIdx.length} nonzeros) x [${a.cols}, ` +
              `${n}]${accumulate ? ' accumulate' : ''}${bias ? ' bias' : ''}`,
            got,
            want,
          );
        }
      });
    },
  },
  {
    name: 'the transposed product (weight gradient A^T dY) matches float64, including rows of 10,000 nonzeros',
    async run(gpu) {
      await repeat(CASES, 2, async (rand, i) => {
        // Few columns, many rows: the transpose has long rows of very different lengths.
        const a = randomSparse(rand, {
          rows: randInt(rand, 1, 400),
          cols: randInt(rand, 1, 60),
          maxPerRow: 8,
          emptyEvery: 5,
        });
        const n = randomN(rand);
        const { got, want } = await runCase(gpu, rand, a, n, { transpose: true, accumulate: i % 2 === 1 });
        assertClose(`[${a.rows}, ${a.cols}]^T x [${a.rows}, ${n}]`, got, want);
      });
      const rand = Math.random;
      const long = randomSparse(rand, {
        rows: 50,
        cols: 12_000,
        maxPerRow: 3,
        longRows: [7, 31],
        longRow: 10_000,
        duplicates: true,
      });
      for (const n of [13, 64]) {
        const fwd = await runCase(gpu, rand, long, n);
        assertClose(`rows of 10,000 nonzeros, N = ${n}`, fwd.got, fwd.want);
      }
      const tall = randomSparse(rand, { rows: 12_000, cols: 3, maxPerRow: 1 }); // its transpose: rows of ~4,000
      const bwd = await runCase(gpu, rand, tall, 20, { transpose: true });
      assertClose('transpose with rows of ~4,000 nonzeros', bwd.got, bwd.want);
    },
  },
  {
    name:
      'dropout on the nonzeros matches the float64 hash mask (forward and transpose), drops about p, changes ' +
      'with the step',
    async run(gpu) {
      await repeat(CASES, 3, async (rand, i) => {
        const a = randomSparse(rand, {
          rows: randInt(rand, 50, 300),
          cols: randInt(rand, 20, 200),
          maxPerRow: 30,
          emptyEvery: 7,
        });
        const drop = { p: 0.05 + 0.85 * rand(), seed: randInt(rand, 0, 2 ** 31), step: randInt(rand, 0, 10_000) };
        const n = randomN(rand);
        const fwd = await runCase(gpu, rand, a, n, { dropout: drop, accumulate: i % 2 === 1 });
        assertClose(`dropout p=${drop.p.toFixed(2)} forward`, fwd.got, fwd.want);
        const bwd = await runCase(gpu, rand, a, n, { dropout: drop, transpose: true });
        assertClose(`dropout p=${drop.p.toFixed(2)} transpose`, bwd.got, bwd.want);
      });
      // The fraction of dropped nonzeros, and a new mask at the next step: read the mask through B = identity.
      const rand = Math.random;
      const a = randomSparse(rand, { rows: 400, cols: 64, maxPerRow: 64 });
      const ta = uploadSparse(gpu, a),
        eye = gpu.tensor('f32', [64, 64], identity(64));
      const step = gpu.tensor('u32', [1], [5]);
      const p = 0.3;
      const masked = async () =>
        (await spmm(gpu, ta, eye, {
          dropout: { p, seed: 11, step },
          out: poisoned(gpu, 'f32', [400, 64]),
        }).read()) as Float32Array;
      const first = await masked();
      const kept = countNonzero(first) / a.colIdx.length;
      const sd = Math.sqrt((p * (1 - p)) / a.colIdx.length);
      assert(Math.abs(1 - kept - p) < 5 * sd + 1e-3, `dropped ${1 - kept} of the nonzeros, p = ${p}`);
      step.write(new Uint32Array([6]));
      const next = await masked();
      assert(
        next.some((v, j) => (v === 0) !== (first[j] === 0)),
        'the mask did not change with the step',
      );
      [ta, eye, step].forEach((t) => t.dispose());
    },
  },
  {
    name:
      'dropout walks only the kept nonzeros: bit-identical to the product with the masked matrix, zeros in ' +
      'place (rows that lose all, some or none of their nonzeros); repeated calls allocate nothing new',
    async run(gpu) {
      await repeat(CASES, 13, async (rand, i) => {
        // Short rows at high p lose everything; long rows at low p keep everything.
        const p = [0.95, 0.6, 0.05][i % 3];
        const a = randomSparse(rand, {
          rows: randInt(rand, 1, 300),
          cols: randInt(rand, 1, 150),
          maxPerRow: p > 0.5 ? 6 : 40,
          emptyEvery: 5,
          longRows: [0],
          longRow: 3,
        });
        const n = randomN(rand);
        const step = gpu.tensor('u32', [1], [randInt(rand, 0, 1000)]);
        const dropout = { p, seed: randInt(rand, 0, 2 ** 31), step };
        // The masked values as the GPU scales them, read through B = identity (one term per output element).
        const ta = uploadSparse(gpu, a),
          eye = gpu.tensor('f32', [a.cols, a.cols], identity(a.cols));
        const dense = (await spmm(gpu, ta, eye, {
          dropout,
          out: poisoned(gpu, 'f32', [a.rows, a.cols]),
        }).read()) as Float32Array;
        const masked = { ...a, values: new Float32Array(a.values.length) };
        for (let r = 0; r < a.rows; r++)
          for (let q = a.rowPtr[r]; q < a.rowPtr[r + 1]; q++) masked.values[q] = dense[r * a.cols + a.colIdx[q]];
        const tm = uploadSparse(gpu, masked);
        const b = gpu.tensor('f32', [a.cols, n], randomArray(rand, a.cols * n));
        const product = async (m: typeof ta, drop?: typeof dropout) => {
          const out = spmm(gpu, m, b, { dropout: drop, out: poisoned(gpu, 'f32', [a.rows, n]) });
          const y = (await out.read()) as Float32Array;
          out.dispose();
          return y;
        };
        const got = await product(ta, dropout);
        assertBitIdentical(`p = ${p}: (A with dropout) B`, got, await product(tm));
        const created = gpu.pool.created;
        assertBitIdentical(`p = ${p}: again`, await product(ta, dropout), got);
        assert(gpu.pool.created === created, `a repeated product created ${gpu.pool.created - created} buffers`);
        ta.dispose();
        tm.dispose();
        [eye, b, step].forEach((t) => t.dispose());
      });
    },
  },
  {
    name:
      'forward and transpose see the same dropout mask: (A ∘ M)^T via uploadSparseTranspose equals the ' +
      'transpose of (A ∘ M)',
    async run(gpu) {
      await repeat(CASES, 4, async (rand) => {
        // no duplicates
        const a = randomSparse(rand, { rows: randInt(rand, 1, 90), cols: randInt(rand, 1, 70), maxPerRow: 20 });
        const drop = { p: 0.1 + 0.8 * rand(), seed: randInt(rand, 0, 2 ** 31), step: randInt(rand, 0, 1000) };
        const step = gpu.tensor('u32', [1], [drop.step]);
        const dropout = { p: drop.p, seed: drop.seed, step };
        // Times an identity matrix, each product reads out its own masked matrix exactly (one term per element).
        const ta = uploadSparse(gpu, a),
          tat = uploadSparseTranspose(gpu, a);
        const eyeCols = gpu.tensor('f32', [a.cols, a.cols], identity(a.cols)),
          eyeRows = gpu.tensor('f32', [a.rows, a.rows], identity(a.rows));
        const dense = (await spmm(gpu, ta, eyeCols, {
          dropout,
          out: poisoned(gpu, 'f32', [a.rows, a.cols]),
        }).read()) as Float32Array;
        const denseT = (await spmm(gpu, tat, eyeRows, {
          dropout,
          out: poisoned(gpu, 'f32', [a.cols, a.rows]),
        }).read()) as Float32Array;
        assertClose('A ∘ M', dense, ref.toDense(a, drop));
        assertBitIdentical('(A ∘ M)^T', denseT, Float32Array.from(ref.transposeDense(dense, a.rows, a.cols)));
        ta.dispose();
        tat.dispose();
        [eyeCols, eyeRows, step].forEach((t) => t.dispose());
      });
    },
  },
  {
    name:
      'backward of Y = (A ∘ M) B: dB = (A ∘ M)^T dY on the GPU matches the float64 reference, itself checked by ' +
      'finite differences',
    async run(gpu) {
      // The reference backward against central differences of the reference forward (with and without dropout).
      const rand = Math.random;
      const small = randomSparse(rand, { rows: 9, cols: 6, maxPerRow: 4, duplicates: true });
      const n = 5;
      const b = Float64Array.from(randomArray(rand, small.cols * n)),
        dy = Float64Array.from(randomArray(rand, small.rows * n));
      for (const drop of [undefined, { p: 0.4, seed: 3, step: 2 }]) {
        checkVjp(
          `dB${drop ? ' with dropout' : ''}`,
          (x) => ref.spmm(small, x, n, drop),
          b,
          dy,
          ref.spmmBackwardB(small, dy, n, drop),
        );
      }
      // The GPU's transposed product against that reference.
      await repeat(CASES, 5, async (r) => {
        const a = randomSparse(r, {
          rows: randInt(r, 1, 200),
          cols: randInt(r, 1, 120),
          maxPerRow: 25,
          emptyEvery: 4,
          duplicates: true,
        });
        const drop = r() < 0.5 ? { p: 0.5, seed: randInt(r, 0, 1000), step: randInt(r, 0, 1000) } : undefined;
        const { got, want } = await runCase(gpu, r, a, randomN(r), { transpose: true, dropout: drop });
        assertClose('dB', got, want);
      });
    },
  },
  {
    name: 'the Cora-sized products X W and X^T dY (2708 x 1433, ~18 nonzeros per row, N = 64 and 14) match float64',
    async run(gpu) {
      const rand = Math.random;
      const x = randomSparse(rand, { rows: 2708, cols: 1433, maxPerRow: 36 });
      for (const n of [64, 14]) {
        const fwd = await runCase(gpu, rand, x, n, { dropout: { p: 0.6, seed: 1, step: 9 } });
        assertClose(`X W, N = ${n}`, fwd.got, fwd.want);
        const bwd = await runCase(gpu, rand, x, n, { transpose: true, dropout: { p: 0.6, seed: 1, step: 9 } });
        assertClose(`X^T dY, N = ${n}`, bwd.got, bwd.want);
      }
    },
  },
  {
    name: 'same inputs twice give bit-identical outputs',
    async run(gpu) {
      await repeat(4, 6, async (rand) => {
        const a = randomSparse(rand, { rows: randInt(rand, 1, 500), cols: randInt(rand, 1, 300), maxPerRow: 60 });
        const n = randomN(rand);
        const ta = uploadSparse(gpu, a),
          tb = gpu.tensor('f32', [a.cols, n], randomArray(rand, a.cols * n));
        const step = gpu.tensor('u32', [1], [3]);
        const opts = (): SpmmOptions => ({
          dropout: { p: 0.3, seed: 8, step },
          out: poisoned(gpu, 'f32', [a.rows, n]),
        });
        const once = (await spmm(gpu, ta, tb, opts()).read()) as Float32Array;
        const twice = (await spmm(gpu, ta, tb, opts()).read()) as Float32Array;
        assertBitIdentical('spmm', once, twice);
        ta.dispose();
        [tb, step].forEach((t) => t.dispose());
      });
    },
  },
  {
    name: 'a matrix with zero nonzeros gives zeros (or keeps Y with accumulate); zero rows or N = 0 launch nothing',
    async run(gpu) {
      const rand = Math.random;
      for (const n of [1, 8, 21]) {
        const a = {
          rows: 37,
          cols: 11,
          rowPtr: new Uint32Array(38),
          colIdx: new Uint32Array(0),
          values: new Float32Array(0),
        };
        const zero = await runCase(gpu, rand, a, n);
        assertClose(`no nonzeros, N = ${n}`, zero.got, zero.want);
        assertEqual('exact zeros', zero.got, new Float32Array(37 * n));
        const kept = await runCase(gpu, rand, a, n, { accumulate: true });
        assertClose('no nonzeros, accumulate', kept.got, kept.want);
      }
      const noCols = await runCase(
        gpu,
        rand,
        { rows: 5, cols: 0, rowPtr: new Uint32Array(6), colIdx: new Uint32Array(0), values: new Float32Array(0) },
        4,
      );
      assertEqual('zero columns', noCols.got, new Float32Array(20));
      const before = gpu.dispatchCount;
      const empty = uploadSparse(gpu, {
        rows: 0,
        cols: 4,
        rowPtr: new Uint32Array(1),
        colIdx: new Uint32Array(0),
        values: new Float32Array(0),
      });
      const y = spmm(gpu, empty, gpu.tensor('f32', [4, 3], randomArray(rand, 12)));
      assert(
        y.shape[0] === 0 && y.shape[1] === 3 && gpu.dispatchCount === before,
        'zero rows: shape [0, 3] and no dispatch',
      );
      const a = uploadSparse(gpu, {
        rows: 2,
        cols: 3,
        rowPtr: Uint32Array.from([0, 1, 2]),
        colIdx: Uint32Array.from([0, 2]),
        values: Float32Array.from([1, 2]),
      });
      const none = spmm(gpu, a, gpu.tensor('f32', [3, 0], []));
      assert(
        none.shape[0] === 2 && none.shape[1] === 0 && gpu.dispatchCount === before,
        'N = 0: shape [2, 0] and no dispatch',
      );
      [empty, a].forEach((t) => t.dispose());
    },
  },
  {
    name: 'a launch of more than 65,535 workgroups is folded into 2-D and covers every row',
    async run(gpu) {
      const rand = Math.random;
      // N = 1: one thread per row; 64 * 65,536 + 1,000 rows need 66,552 workgroups of 64.
      const rows = 64 * 65_536 + 1000;
      const rowPtr = new Uint32Array(rows + 1);
      // Three nonzeros in each of the first and last two rows, none elsewhere.
      for (let r = 0; r < rows; r++) rowPtr[r + 1] = rowPtr[r] + (r < 2 || r >= rows - 2 ? 3 : 0);
      const a: SparseRows = {
        rows,
        cols: 5,
        rowPtr,
        colIdx: Uint32Array.from({ length: 12 }, (_, p) => p % 5),
        values: randomArray(rand, 12),
      };
      const { got, want } = await runCase(gpu, rand, a, 1);
      assertClose('66,552 workgroups', got, want);
    },
  },
  {
    name:
      'transposeSparse: the transpose of the transpose is the matrix, and nzId points each entry back to its ' +
      'origin',
    async run() {
      await repeat(CASES, 7, async (rand) => {
        const a = randomSparse(rand, {
          rows: randInt(rand, 0, 60),
          cols: randInt(rand, 1, 40),
          maxPerRow: 12,
          duplicates: true,
          emptyEvery: 3,
        });
        const { matrix: t, nzId } = transposeSparse(a);
        assert(t.rows === a.cols && t.cols === a.rows, 'transposed shape');
        for (let c = 0; c < t.rows; c++) {
          for (let q = t.rowPtr[c]; q < t.rowPtr[c + 1]; q++) {
            const p = nzId[q];
            assert(
              a.colIdx[p] === c &&
                a.values[p] === t.values[q] &&
                a.rowPtr[t.colIdx[q]] <= p &&
                p < a.rowPtr[t.colIdx[q] + 1],
              `nonzero ${q} of the transpose`,
            );
          }
        }
        const back = transposeSparse(t).matrix;
        assertEqual('rowPtr', back.rowPtr, a.rowPtr);
        assertEqual('colIdx', back.colIdx, a.colIdx);
        assertEqual('values', back.values, a.values);
      });
    },
  },
  {
    name:
      'bad input: column out of range, NaN or Inf value, rowPtr not monotone or not from 0 to nnz, B of the ' +
      'wrong shape or dtype',
    async run(gpu) {
      const ok = (): SparseRows => ({
        rows: 3,
        cols: 4,
        rowPtr: Uint32Array.from([0, 2, 2, 3]),
        colIdx: Uint32Array.from([0, 3, 1]),
        values: Float32Array.from([1, 2, 3]),
      });
      const bad = (edit: (m: SparseRows) => void) => {
        const m = ok();
        edit(m);
        return () => uploadSparse(gpu, m);
      };
      assertThrows(
        'column',
        bad((m) => (m.colIdx[1] = 4)),
        /column index 4 at nonzero 1 is out of range for 4 columns/,
      );
      assertThrows(
        'NaN',
        bad((m) => (m.values[2] = NaN)),
        /value at nonzero 2 is NaN/,
      );
      assertThrows(
        'Inf',
        bad((m) => (m.values[0] = -Infinity)),
        /value at nonzero 0 is -Infinity/,
      );
      assertThrows(
        'monotone',
        bad((m) => ((m.rowPtr[1] = 3), (m.rowPtr[2] = 1))),
        /rowPtr is not monotone: rowPtr\[2\] = 1 < rowPtr\[1\] = 3/,
      );
      assertThrows(
        'start',
        bad((m) => (m.rowPtr[0] = 1)),
        /rowPtr must start at 0/,
      );
      assertThrows(
        'end',
        bad((m) => (m.rowPtr[3] = 2)),
        /rowPtr must end at nnz = 3, got 2/,
      );
      assertThrows(
        'rowPtr length',
        bad((m) => (m.rowPtr = Uint32Array.from([0, 3]))),
        /rowPtr has 2 entries, expected rows \+ 1 = 4/,
      );
      assertThrows(
        'values length',
        bad((m) => (m.values = Float32Array.from([1, 2]))),
        /3 column indices but 2 values/,
      );
      assertThrows(
        'transpose validates',
        () => transposeSparse({ ...ok(), colIdx: Uint32Array.from([0, 9, 1]) }),
        /column index 9/,
      );

      const a = uploadSparse(gpu, ok());
      const call = (b: Tensor, o?: SpmmOptions) => () => spmm(gpu, a, b, o);
      assertThrows(
        'B rows',
        call(gpu.empty('f32', [3, 5])),
        /spmm: shape mismatch: A is \[3, 4\] but B is \[3,5\]; B must have 4 rows/,
      );
      assertThrows('B 1-D', call(gpu.empty('f32', [4])), /spmm: shape mismatch for B: expected \[\*,\*\], got \[4\]/);
      assertThrows('B dtype', call(gpu.empty('u32', [4, 5])), /spmm: B must be f32, got u32/);
      assertThrows(
        'out shape',
        call(gpu.empty('f32', [4, 5]), { out: gpu.empty('f32', [4, 5]) }),
        /spmm: shape mismatch for out: expected \[3,5\], got \[4,5\]/,
      );
      assertThrows('accumulate', call(gpu.empty('f32', [4, 5]), { accumulate: true }), /accumulate needs/);
      // Refused before the output is allocated: nothing stays held.
      const b45 = gpu.empty('f32', [4, 5]),
        bias4 = gpu.empty('f32', [4]);
      const inUse = gpu.pool.bytesInUse;
      assertThrows(
        'bias',
        call(b45, { bias: bias4 }),
        /spmm: shape mismatch: bias has 4 values, the product has 5 columns/,
      );
      assert(gpu.pool.bytesInUse === inUse, `a refused call left ${gpu.pool.bytesInUse - inUse} bytes in use`);
      [b45, bias4].forEach((t) => t.dispose());
      const step = gpu.tensor('u32', [1], [0]);
      assertThrows(
        'p',
        call(gpu.empty('f32', [4, 5]), { dropout: { p: 1, seed: 0, step } }),
        /dropout p must be in \[0, 1\), got 1/,
      );
      assertThrows(
        'step dtype',
        call(gpu.empty('f32', [4, 5]), { dropout: { p: 0.5, seed: 0, step: gpu.empty('f32', [1]) } }),
        /dropout.step must be u32, got f32/,
      );
      a.dispose();
    },
  },
];

function identity(n: number): Float32Array {
  const e = new Float32Array(n * n);
  for (let i = 0; i < n; i++) e[i * n + i] = 1;
  return e;
}

function countNonzero(a: ArrayLike<number>): number {
  let c = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== 0) c++;
  return c;
}
