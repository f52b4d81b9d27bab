// Optimizers over a model's parameters: zeroGrad() and step(), everything on the GPU. When the parameters are all of
// a model's (model.parameters()), a step is one dispatch over the model's flat buffer; a subset is updated one
// parameter at a time.
import type { Gpu } from '../gpu/gpu.ts';
import { Tensor } from '../gpu/tensor.ts';
import { adamScalars, adamStep, adamWScalars, adamWStep, type AdamConfig } from '../kernels/adam.ts';
import { checkSgdConfig, sgdScalars, sgdStep, type SgdConfig } from '../kernels/sgd.ts';
import type { Module, Parameter } from '../nn/module.ts';
import type { ParameterStore } from '../nn/params.ts';
import { releaseOnThrow } from './cleanup.ts';

/**
 * Steps whose scalars are uploaded at once: a queue write (which must not overtake recorded work) per this many.
 * The training-memory estimate (budget.ts) counts this table.
 */
export const SCALAR_TABLE_STEPS = 1024;

/**
 * What every optimizer does with its parameters: the flat buffer they live in, their modules' gradient state, and
 * the per-step scalars (learning rate, bias corrections, ...: 4 floats a step, computed in float64 on the host). These
 * are uploaded for SCALAR_TABLE_STEPS steps at once and copied into `scalars` in order with the recorded work, so
 * that any number of steps may be recorded before a submit.
 */
export abstract class Optimizer {
  readonly params: Parameter[];
  readonly gpu: Gpu;
  protected readonly store: ParameterStore;
  /** Every parameter of the store, in order: one flat update. */
  protected readonly whole: boolean;
  private readonly modules: Module[];
  /** Steps taken. */
  steps = 0;
  /** The current step's scalars, read by the update kernel (allocated by allocate()). */
  protected scalars!: Tensor;
  /** The scalars of steps tableFrom .. tableFrom + SCALAR_TABLE_STEPS - 1. */
  private table!: Tensor;
  private tableFrom = 0;

  constructor(params: Iterable<Parameter>) {
    this.params = [...params];
    if (this.params.length === 0)
      throw new Error(`${this.constructor.name}: no parameters to optimize (did you call model.init(gpu)?)`);
    const store = this.params[0].module.parameterStore;
    if (this.params.some((p) => p.module.parameterStore !== store))
      throw new Error(`${this.constructor.name}: the parameters belong to different models`);
    this.store = store;
    this.gpu = store.gpu;
    const names = new Set(this.params.map((p) => p.name));
    if (names.size !== this.params.length) throw new Error(`${this.constructor.name}: a parameter is given twice`);
    this.whole = store.slots.length === names.size && store.slots.every((s) => names.has(s.name));
    this.modules = [...new Set(this.params.map((p) => p.module))];
  }

  /** Marks the gradients as zero (no dispatch: the next backward overwrites them instead of adding to them). */
  zeroGrad(): void {
    for (const m of this.modules) m.zeroGrad();
  }

  /** Updates the parameters from their gradients (recorded; it runs with the next submit). */
  step(): void {
    // Gradients still marked zero (no backward reached them) must read as zero.
    for (const m of this.modules) m.settleGradients();
    this.steps++;
    const t = this.steps;
    if (t >= this.tableFrom + SCALAR_TABLE_STEPS) this.fillTable(t);
    const k = t - this.tableFrom;
    const entry = new Tensor(this.gpu, this.table.buffer, 'f32', [4], this.table.byteOffset + 16 * k, this.table);
    this.gpu.copy(entry, this.scalars);
    this.update();
  }

  /** Records the update of step `this.steps`, whose scalars are in `this.scalars`. */
  protected abstract update(): void;

  /** The 4 scalars of step t (from 1). */
  protected abstract scalarsOf(t: number): Float32Array;

  /**
   * Allocates the optimizer's state (what `makeState` returns; call it once the settings are checked) and the scalar
   * table, then uploads the first steps' scalars. All or nothing: a refusal keeps no GPU memory.
   */
  protected allocate<S>(makeState: () => S): S {
    return releaseOnThrow(this.gpu, () => {
      const state = makeState();
      this.scalars = this.gpu.full('f32', [4], 0);
      this.table = this.gpu.empty('f32', [SCALAR_TABLE_STEPS, 4]);
      this.fillTable(1);
      return state;
    });
  }

  /** Uploads the scalars of steps first .. first + SCALAR_TABLE_STEPS - 1. */
  private fillTable(first: number): void {
    const host = new Float32Array(SCALAR_TABLE_STEPS * 4);
    for (let k = 0; k < SCALAR_TABLE_STEPS; k++) host.set(this.scalarsOf(first + k), 4 * k);
    this.table.write(host);
    this.tableFrom = first;
  }

  /** The (value, gradient, state...) views to update: the whole flat buffers, or each parameter's range. */
  protected ranges(states: Tensor[]): { value: Tensor; grad: Tensor; states: Tensor[] }[] {
    if (this.whole) return [{ value: this.store.values, grad: this.store.grads, states }];
    return this.params.map((p) => {
      const slot = this.store.slot(p.name);
      return { value: p.value, grad: p.grad, states: states.map((s) => s.view(slot.offset, slot.shape)) };
    });
  }

  dispose(): void {
    [this.scalars, this.table].forEach((t) => t?.dispose());
  }
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** L2 penalty added to the gradient, as torch.optim.Adam's weight_decay (not AdamW's decoupled decay). */
  weightDecay?: number;
}

/**
 * torch.optim.Adam (defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0), the same arithmetic in the
 * same order as torch's single-tensor implementation (kernels/adam.ts). The per-step scalars are lr and the bias
 * corrections.
 */
export class Adam extends Optimizer {
  readonly config: AdamConfig;
  private readonly m: Tensor;
  private readonly v: Tensor;

  constructor(params: Iterable<Parameter>, options: AdamOptions = {}) {
    super(params);
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    this.config = {
      lr: options.lr ?? 1e-3,
      beta1,
      beta2,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? this.defaultWeightDecay,
    };
    this.scalarsOf(1); // checks the settings
    const moments = this.allocate(() => ({
      m: this.gpu.full('f32', [this.store.total], 0),
      v: this.gpu.full('f32', [this.store.total], 0),
    }));
    this.m = moments.m;
    this.v = moments.v;
  }

  protected update(): void {
    const step = this.decoupled ? adamWStep : adamStep;
    for (const r of this.ranges([this.m, this.v]))
      step(this.gpu, r.value, r.grad, r.states[0], r.states[1], this.scalars, this.config);
  }

  /** Adam's weight decay goes into the gradient; AdamW's is decoupled (a getter: the constructor reads it). */
  protected get decoupled(): boolean {
    return false;
  }

  protected get defaultWeightDecay(): number {
    return 0;
  }

  /** The scalars of step t: [lr, 1 - beta1^t, 1 - beta2^t, AdamW's 1 - lr wd]. */
  protected scalarsOf(t: number): Float32Array {
    return (this.decoupled ? adamWScalars : adamScalars)(this.config, t);
  }

  /** The moment buffers (exp_avg, exp_avg_sq) in the model's flat layout. */
  get state(): { expAvg: Tensor; expAvgSq: Tensor } {
    return { expAvg: this.m, expAvgSq: this.v };
  }

  override dispose(): void {
    [this.m, this.v].forEach((t) => t.dispose());
    super.dispose();
  }
}

/**
 * torch.optim.AdamW (defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 1e-2): decoupled weight decay,
 * p *= 1 - lr * wd before Adam's update with the plain gradient, as torch does it (kernels/adam.ts adamWStep).
 */
export class AdamW extends Adam {
  protected override get decoupled(): boolean {
    return true;
  }

  protected override get defaultWeightDecay(): number {
    return 1e-2;
  }
}

export interface SGDOptions {
  lr?: number;
  momentum?: number;
  dampening?: number;
  weightDecay?: number;
  nesterov?: boolean;
}

/**
 * torch.optim.SGD (defaults lr 1e-3, momentum 0, dampening 0, weight decay 0, nesterov false), the arithmetic and
 * order of torch's single-tensor implementation (kernels/sgd.ts): d = grad + wd p; with momentum, buf = d on the
 * first step, then momentum buf + (1 - dampening) d, and d = d + momentum buf (Nesterov) or buf; p -= lr d. The
 * per-step scalars are lr and whether the step is the first.
 */
export class SGD extends Optimizer {
  readonly config: SgdConfig;
  /** The momentum buffer in the model's flat layout (null without momentum). */
  readonly momentumBuffer: Tensor | null;

  constructor(params: Iterable<Parameter>, options: SGDOptions = {}) {
    super(params);
    this.config = {
      lr: options.lr ?? 1e-3,
      momentum: options.momentum ?? 0,
      dampening: options.dampening ?? 0,
      weightDecay: options.weightDecay ?? 0,
      nesterov: options.nesterov ?? false,
    };
    checkSgdConfig(this.config);
    this.momentumBuffer = this.allocate(() =>
      this.config.momentum !== 0 ? this.gpu.full('f32', [this.store.total], 0) : null,
    );
  }

  protected update(): void {
    const buffers = this.momentumBuffer ? [this.momentumBuffer] : [];
    for (const r of this.ranges(buffers))
      sgdStep(this.gpu, r.value, r.grad, r.states[0] ?? null, this.scalars, this.config);
  }

  /** The scalars of step t: [lr, 1 on the first step else 0, 0, 0]. */
  protected scalarsOf(t: number): Float32Array {
    return sgdScalars(this.config, t);
  }

  override dispose(): void {
    this.momentumBuffer?.dispose();
    super.dispose();
  }
}
