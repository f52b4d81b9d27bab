// Elementwise activations as modules (ELU, ReLU, LeakyReLU) and as Variable methods (x.elu(), x.relu(),
// x.leakyRelu()), each with its backward:
//
//   ELU(x)       = x (x > 0), alpha (e^x - 1) otherwise     d/dx = 1 (x > 0), alpha e^x otherwise
//   LeakyReLU(x) = x (x > 0), slope x otherwise             d/dx = 1 (x > 0), slope otherwise
//   ReLU(x)      = LeakyReLU(x) with slope 0
import type { Tensor } from '../gpu/tensor.ts';
import { eluBackward, eluForward, leakyReluBackward, leakyReluForward } from '../kernels/elementwise.ts';
import { Module } from './module.ts';
import { asVariable, elementwiseOps, opScope, record, Variable, type Features, type Scope } from './tape.ts';

/** What a fused backward (Dropout after ELU) needs from an ELU node. */
export interface EluInfo {
  x: Tensor;
  alpha: number;
}

function elu(v: Variable, alpha: number, scope: Scope): Variable {
  const { gpu } = v;
  const x = v.dense();
  const y = eluForward(gpu, x, alpha, scope.get('out', x.shape));
  const info: EluInfo = { x, alpha };
  return record(new Variable({ value: y, scope }), {
    label: 'ELU',
    inputs: [v],
    saved: [v],
    kind: 'elu',
    info,
    // dx overwrites dy when no one else reads it.
    backward: (dy, ctx) => ctx.deliver(v, eluBackward(gpu, x, dy, alpha, ctx.owned ? dy : scope.get('dx', x.shape))),
  });
}

function leakyRelu(v: Variable, slope: number, scope: Scope, label: string): Variable {
  const { gpu } = v;
  const x = v.dense();
  const y = leakyReluForward(gpu, x, slope, scope.get('out', x.shape));
  return record(new Variable({ value: y, scope }), {
    label,
    inputs: [v],
    saved: [v],
    backward: (dy, ctx) => ctx.deliver(v, leakyReluBackward(gpu, x, dy, slope, scope.get('dx', x.shape))),
  });
}

elementwiseOps.elu = (v, alpha) => elu(v, alpha, opScope(v.gpu, 'elu'));
elementwiseOps.leakyRelu = (v, slope) =>
  leakyRelu(v, slope, opScope(v.gpu, 'leaky_relu'), slope === 0 ? 'ReLU' : 'LeakyReLU');

/** ELU({ alpha = 1 }): elementwise, any shape [N, F]. */
export class ELU extends Module {
  readonly alpha: number;
  constructor(options: { alpha?: number } = {}) {
    super();
    this.alpha = options.alpha ?? 1;
    if (!Number.isFinite(this.alpha)) throw new Error(`ELU: alpha must be a finite number, got ${options.alpha}`);
  }
  override forward(x: Features): Variable {
    return elu(asVariable(x), this.alpha, this.scope);
  }
}

/** LeakyReLU({ negativeSlope = 0.01 }): elementwise, any shape [N, F]. */
export class LeakyReLU extends Module {
  readonly negativeSlope: number;
  constructor(options: { negativeSlope?: number } = {}) {
    super();
    this.negativeSlope = options.negativeSlope ?? 0.01;
    if (!Number.isFinite(this.negativeSlope))
      throw new Error(`LeakyReLU: negativeSlope must be a finite number, got ${options.negativeSlope}`);
  }
  override forward(x: Features): Variable {
    return leakyRelu(asVariable(x), this.negativeSlope, this.scope, 'LeakyReLU');
  }
}

/** ReLU(): max(x, 0) elementwise (the LeakyReLU kernels with slope 0; the gradient at 0 is 0, as PyTorch's). */
export class ReLU extends Module {
  override forward(x: Features): Variable {
    return leakyRelu(asVariable(x), 0, this.scope, 'ReLU');
  }
}
