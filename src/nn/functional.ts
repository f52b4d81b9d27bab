// Functional ops on node features, for models written as classes: add (skip connections) and concat (jumping
// knowledge), each with its backward.
//
//   add:     y = a + b                      da = dy, db = dy
//   concat:  y = [x_0 | x_1 | ...] [N, sum F_i]   dx_i = the columns of dy that x_i filled
import { copyColumns } from '../kernels/columns.ts';
import { add as addKernel } from '../kernels/elementwise.ts';
import './activations.ts'; // x.elu() and friends
import { asVariable, opScope, record, Variable, type Features } from './tape.ts';

/** a + b, elementwise, for node features of the same shape [N, F]. */
export function add(a: Features, b: Features): Variable {
  const va = asVariable(a),
    vb = asVariable(b);
  if (va.rows !== vb.rows || va.cols !== vb.cols)
    throw new Error(`add: shape mismatch: [${va.shape}] and [${vb.shape}]`);
  const gpu = va.gpu;
  const scope = opScope(gpu, 'add');
  const y = addKernel(gpu, va.dense(), vb.dense(), scope.get('out', va.shape));
  return record(new Variable({ value: y, scope }), {
    label: 'add',
    inputs: [va, vb],
    backward: (dy, ctx) => {
      ctx.deliver(va, dy);
      ctx.deliver(vb, dy);
    },
  });
}

/** Concatenation along the feature axis: [x_0 | x_1 | ...], each [N, F_i], gives [N, sum F_i]. */
export function concat(xs: readonly Features[]): Variable {
  if (!Array.isArray(xs) || xs.length === 0) throw new Error('concat: give a non-empty array of node features');
  const vs = xs.map(asVariable);
  const rows = vs[0].rows;
  vs.forEach((v, i) => {
    if (v.rows !== rows) throw new Error(`concat: input ${i} has ${v.rows} rows, input 0 has ${rows}`);
  });
  const gpu = vs[0].gpu;
  const scope = opScope(gpu, 'concat');
  const width = vs.reduce((s, v) => s + v.cols, 0);
  const y = scope.get('out', [rows, width]);
  const offsets: number[] = [];
  let at = 0;
  for (const v of vs) {
    offsets.push(at);
    copyColumns(gpu, v.dense(), y, { cols: v.cols, dstOffset: at });
    at += v.cols;
  }
  return record(new Variable({ value: y, scope }), {
    label: 'concat',
    inputs: vs,
    backward: (dy, ctx) => {
      vs.forEach((v, i) => {
        if (!ctx.needsGrad(v)) return;
        ctx.deliver(
          v,
          copyColumns(gpu, dy, scope.get(`d${i}`, [rows, v.cols]), { cols: v.cols, srcOffset: offsets[i] }),
        );
      });
    },
  });
}
