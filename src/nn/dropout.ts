// Dropout (torch.nn.Dropout): in training, each element is zeroed with probability p and the others scaled by
// 1 / (1 - p); in evaluation, the identity.
//
//   forward   y = x * m,  m = 0 or 1 / (1 - p), hashed from (site seed, step, element index)
//   backward  dx = dy * m
//
// The mask is never stored, and the dropped-out features usually are not either: the output is x with the mask
// attached, applied by the next linear map as it reads x (dense or sparse: the mask of a sparse input hashes the
// nonzero's index), or materialised by the dropout kernel for any other consumer. After an ELU, the backward of
// both runs as one kernel.
import { dropout as dropoutKernel, eluDropoutBackward } from '../kernels/elementwise.ts';
import type { EluInfo } from './activations.ts';
import { Module } from './module.ts';
import { asVariable, record, Variable, type Features } from './tape.ts';

export class Dropout extends Module {
  /** Dropout(p = 0.5): any shape [N, F]. */
  constructor(readonly p = 0.5) {
    super();
    if (!(p >= 0 && p < 1)) throw new Error(`Dropout: p must be in [0, 1), got ${p}`);
  }

  protected override get dropoutPhase(): number | null {
    return 1;
  }

  override forward(x: Features): Variable {
    const v = asVariable(x);
    if (!this.training || this.p === 0) return v;
    const { gpu, scope } = this;
    const args = { p: this.p, seed: this.dropoutSeed, step: this.context.step };
    // A Variable that is itself dropped out is materialised first (two masks in a row).
    const out = new Variable({ dropped: { base: v.dropped ? materialisedOf(v) : v, args }, scope });
    return record(out, {
      label: 'Dropout',
      inputs: [v],
      backward: (dy, ctx) => {
        if (!ctx.needsGrad(v)) return;
        const producer = v.node;
        if (producer?.kind === 'elu' && ctx.consumers(v) === 1) {
          // ELU then dropout: one kernel for both backwards, delivered to the ELU's input.
          const { x: ex, alpha } = producer.info as EluInfo;
          const dh = eluDropoutBackward(gpu, ex, dy, alpha, args, ctx.owned ? dy : scope.get('dx', ex.shape));
          ctx.skip(producer);
          ctx.deliver(producer.inputs[0], dh);
          return;
        }
        ctx.deliver(v, dropoutKernel(gpu, dy, args, scope.get('dx', [v.rows, v.cols])));
      },
    });
  }
}

/** A dense stand-in for a dropped-out Variable (its values materialised; no node of its own). */
function materialisedOf(v: Variable): Variable {
  return new Variable({ value: v.dense() });
}
