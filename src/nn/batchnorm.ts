// BatchNorm1d (torch.nn.BatchNorm1d on [N, F]): each feature normalised over the rows of the batch.
//
//   training    y = (x - mean_B) / sqrt(var_B + eps) * weight + bias      (var_B biased)
//               running_mean <- (1 - momentum) running_mean + momentum mean_B
//               running_var  <- (1 - momentum) running_var + momentum var_B * N / (N - 1)   (unbiased)
//   evaluation  y = (x - running_mean) / sqrt(running_var + eps) * weight + bias
//
// Defaults as PyTorch: eps 1e-5, momentum 0.1, weight 1, bias 0, running_mean 0, running_var 1. The running
// statistics live beside the parameters (the optimizer never sees them). State dict: weight, bias, running_mean,
// running_var, num_batches_tracked (a float32 scalar here; PyTorch stores an int64).
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { batchNormBackward, batchNormEval, batchNormTrain } from '../kernels/batchnorm.ts';
import { Module, type StateDict, type StateSpec } from './module.ts';
import type { ParamSpec } from './params.ts';
import { asVariable, record, Variable, type Features } from './tape.ts';

export class BatchNorm1d extends Module {
  readonly eps: number;
  readonly momentum: number;
  /** Training forwards run so far (PyTorch's num_batches_tracked). */
  numBatchesTracked = 0;
  private running: { mean: Tensor; var: Tensor } | null = null;
  private host: { mean: Float32Array; var: Float32Array } | null = null;

  /** BatchNorm1d(numFeatures, { eps = 1e-5, momentum = 0.1 }): x [N, F] -> [N, F]. */
  constructor(
    readonly numFeatures: number,
    options: { eps?: number; momentum?: number } = {},
  ) {
    super();
    if (!Number.isInteger(numFeatures) || numFeatures < 1)
      throw new Error(`BatchNorm1d: numFeatures must be a positive integer, got ${numFeatures}`);
    this.eps = options.eps ?? 1e-5;
    this.momentum = options.momentum ?? 0.1;
    if (!(this.eps > 0 && Number.isFinite(this.eps)))
      throw new Error(`BatchNorm1d: eps must be a positive number, got ${options.eps}`);
    if (!(this.momentum >= 0 && this.momentum <= 1))
      throw new Error(`BatchNorm1d: momentum must be in [0, 1], got ${options.momentum}`);
  }

  protected override parameterSpecs(): ParamSpec[] {
    const f = this.numFeatures;
    return [
      { name: 'weight', shape: [f], init: () => new Float32Array(f).fill(1) },
      { name: 'bias', shape: [f], init: () => new Float32Array(f) },
    ];
  }

  protected override onInit(gpu: Gpu): void {
    this.running = { mean: gpu.full('f32', [this.numFeatures], 0), var: gpu.full('f32', [this.numFeatures], 1) };
  }

  protected override onDispose(): void {
    this.running?.mean.dispose();
    this.running?.var.dispose();
    this.running = null;
  }

  /** The running statistics on the GPU (f32 [F] each). */
  get runningStats(): { mean: Tensor; var: Tensor } {
    if (!this.running) throw new Error('BatchNorm1d: call init(gpu) on the model first');
    return this.running;
  }

  override forward(x: Features): Variable {
    const v = asVariable(x);
    const f = this.numFeatures;
    if (v.cols !== f)
      throw new Error(`BatchNorm1d: shape mismatch: input has ${v.cols} features, the layer expects ${f}`);
    const { gpu, scope } = this;
    const n = v.rows;
    const xd = v.dense();
    const state = {
      weight: this.param('weight'),
      bias: this.param('bias'),
      runningMean: this.runningStats.mean,
      runningVar: this.runningStats.var,
    };
    const out = scope.get('out', [n, f]);
    if (!this.training) {
      batchNormEval(gpu, xd, state, { eps: this.eps, out });
      return record(new Variable({ value: out, scope }), {
        label: 'BatchNorm1d (eval)',
        inputs: [v],
        owner: this,
        backward: () => {
          throw new Error(
            'BatchNorm1d: backward through an evaluation-mode forward is not supported; call train() first',
          );
        },
      });
    }
    const mean = scope.get('mean', [f]),
      invstd = scope.get('invstd', [f]);
    batchNormTrain(gpu, xd, state, { eps: this.eps, momentum: this.momentum, update: true, out, mean, invstd });
    this.numBatchesTracked++;
    return record(new Variable({ value: out, scope }), {
      label: 'BatchNorm1d',
      inputs: [v],
      saved: [v],
      owner: this,
      backward: (dy, ctx) => {
        const dx = scope.get('dx', [n, f]);
        batchNormBackward(gpu, xd, dy, this.param('weight'), mean, invstd, {
          dx,
          dweight: this.grad('weight'),
          dbias: this.grad('bias'),
        });
        if (ctx.needsGrad(v)) ctx.deliver(v, dx);
      },
    });
  }

  override stateSpecs(): StateSpec[] {
    const f = this.numFeatures;
    return [
      { name: 'weight', shape: [f] },
      { name: 'bias', shape: [f] },
      { name: 'running_mean', shape: [f] },
      { name: 'running_var', shape: [f] },
      { name: 'num_batches_tracked', shape: [] },
    ];
  }

  protected override async readState(): Promise<void> {
    const { mean, var: variance } = this.runningStats;
    this.host = { mean: (await mean.read()) as Float32Array, var: (await variance.read()) as Float32Array };
  }

  protected override toState(values: (name: string) => Float32Array): StateDict {
    const f = this.numFeatures;
    return {
      weight: { shape: [f], data: values('weight') },
      bias: { shape: [f], data: values('bias') },
      running_mean: { shape: [f], data: this.host!.mean },
      running_var: { shape: [f], data: this.host!.var },
      num_batches_tracked: { shape: [], data: Float32Array.of(this.numBatchesTracked) },
    };
  }

  protected override fromState(
    get: (name: string) => Float32Array,
    set: (name: string, data: Float32Array) => void,
  ): void {
    set('weight', get('weight'));
    set('bias', get('bias'));
    // The whole dict was checked before this runs; the statistics are not parameters, so they are written here.
    this.runningStats.mean.write(get('running_mean'));
    this.runningStats.var.write(get('running_var'));
    this.numBatchesTracked = get('num_batches_tracked')[0];
  }
}
