// Linear (torch.nn.Linear): y = x W^T + b on node features.
//
//   forward   y [N, out] = x [N, in] W^T + b
//   backward  dW = dy^T x,  db = sum_rows dy,  dx = dy W
//
// PyTorch's initialisation: W ~ kaiming_uniform(a = sqrt(5)) = U(-1/sqrt(in), 1/sqrt(in)),
// b ~ U(-1/sqrt(in), 1/sqrt(in)).
// W is stored transposed ([in, out], the layout the products read); the state dict has PyTorch's `weight` [out, in].
import { matmul } from '../kernels/matmul.ts';
import { columnSum } from '../kernels/reduce.ts';
import { transpose } from './conv.ts';
import { linearBias, uniform } from './init.ts';
import { Module, type StateDict, type StateSpec } from './module.ts';
import type { ParamSpec } from './params.ts';
import { asVariable, record, Variable, type Features } from './tape.ts';

export class Linear extends Module {
  readonly bias: boolean;

  /** Linear(inFeatures, outFeatures, { bias = true }): x [N, in] -> [N, out]. */
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    options: { bias?: boolean } = {},
  ) {
    super();
    for (const [name, v] of [
      ['inFeatures', inFeatures],
      ['outFeatures', outFeatures],
    ] as const) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`Linear: ${name} must be a positive integer, got ${v}`);
    }
    this.bias = options.bias ?? true;
  }

  protected override parameterSpecs(): ParamSpec[] {
    const { inFeatures: fin, outFeatures: fout } = this;
    const bound = 1 / Math.sqrt(fin);
    const specs: ParamSpec[] = [
      { name: 'weight', shape: [fin, fout], init: (r) => transpose(uniform(r, fout * fin, bound), fout, fin) },
    ];
    if (this.bias) specs.push({ name: 'bias', shape: [fout], init: (r) => linearBias(r, fout, fin) });
    return specs;
  }

  override forward(x: Features): Variable {
    const v = asVariable(x);
    const input = v.layerInput();
    if (input.cols !== this.inFeatures)
      throw new Error(`Linear: shape mismatch: input has ${input.cols} features, the layer expects ${this.inFeatures}`);
    const { gpu, scope } = this;
    const n = input.rows;
    const y = input.times(
      gpu,
      this.param('weight'),
      scope.get('out', [n, this.outFeatures]),
      this.bias ? this.param('bias') : undefined,
    );
    return record(new Variable({ value: y, scope }), {
      label: 'Linear',
      inputs: [v],
      saved: [v],
      owner: this,
      backward: (dy, ctx) => {
        input.transposeTimes(gpu, dy, this.grad('weight'));
        if (this.bias) columnSum(gpu, dy, { out: this.grad('bias') });
        if (ctx.needsGrad(v))
          ctx.deliver(
            v,
            matmul(gpu, dy, this.param('weight'), { transB: true, out: scope.get('dx', [n, this.inFeatures]) }),
          );
      },
    });
  }

  override stateSpecs(): StateSpec[] {
    return [
      { name: 'weight', shape: [this.outFeatures, this.inFeatures] },
      ...(this.bias ? [{ name: 'bias', shape: [this.outFeatures] }] : []),
    ];
  }

  protected override toState(values: (name: string) => Float32Array): StateDict {
    const d: StateDict = {
      weight: {
        shape: [this.outFeatures, this.inFeatures],
        data: transpose(values('weight'), this.inFeatures, this.outFeatures),
      },
    };
    if (this.bias) d.bias = { shape: [this.outFeatures], data: values('bias') };
    return d;
  }

  protected override fromState(
    get: (name: string) => Float32Array,
    set: (name: string, data: Float32Array) => void,
  ): void {
    set('weight', transpose(get('weight'), this.outFeatures, this.inFeatures));
    if (this.bias) set('bias', get('bias'));
  }
}
