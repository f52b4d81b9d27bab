// Optimizers over a model's parameters: zeroGrad() and step(), everything on the GPU. When the parameters are all of
// a model's (model.parameters()), a step is one dispatch over the model's flat buffer; a subset is updated one
// parameter at a time.
import type { Gpu } from '../gpu/gpu.ts';
import { Tensor } from '../gpu/tensor.ts';
import { adamScalars, adamStep, type AdamConfig } from '../kernels/adam.ts';
import type { Module, Parameter } from '../nn/module.ts';
import type { ParameterStore } from '../nn/params.ts';

/** What every optimizer does with its parameters: the flat buffer they live in, and their modules' gradient state. */
export abstract class Optimizer {
  readonly params: Parameter[];
  readonly gpu: Gpu;
  protected readonly store: ParameterStore;
  /** Every parameter of the store, in order: one flat update. */
  protected readonly whole: boolean;
  private readonly modules: Module[];
  /** Steps taken. */
  steps = 0;

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
    this.update();
  }

  protected abstract update(): void;

  /** The (value, gradient, state...) views to update: the whole flat buffers, or each parameter's range. */
  protected ranges(states: Tensor[]): { value: Tensor; grad: Tensor; states: Tensor[] }[] {
    if (this.whole) return [{ value: this.store.values, grad: this.store.grads, states }];
    return this.params.map((p) => {
      const slot = this.store.slot(p.name);
      return { value: p.value, grad: p.grad, states: states.map((s) => s.view(slot.offset, slot.shape)) };
    });
  }

  dispose(): void {}
}

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  /** L2 penalty added to the gradient, as torch.optim.Adam's weight_decay (not AdamW's decoupled decay). */
  weightDecay?: number;
}

/**
 * Steps whose scalars are uploaded at once: a queue write (which must not overtake recorded work) per this many.
 * The training-memory estimate (budget.ts) counts this table.
 */
export const SCALAR_TABLE_STEPS = 1024;

/**
 * torch.optim.Adam (defaults lr 1e-3, betas (0.9, 0.999), eps 1e-8, weight decay 0), the same arithmetic in the
 * same order as torch's single-tensor implementation (kernels/adam.ts). The per-step scalars (lr and the bias
 * corrections, computed in float64 on the host) are uploaded for many steps at once and copied in order with the
 * recorded work, so that any number of steps may be recorded before a submit.
 */
export class Adam extends Optimizer {
  readonly config: AdamConfig;
  private readonly m: Tensor;
  private readonly v: Tensor;
  private readonly scalars: Tensor;
  private readonly table: Tensor;
  private tableFrom = 0;

  constructor(params: Iterable<Parameter>, options: AdamOptions = {}) {
    super(params);
    const [beta1, beta2] = options.betas ?? [0.9, 0.999];
    this.config = {
      lr: options.lr ?? 1e-3,
      beta1,
      beta2,
      eps: options.eps ?? 1e-8,
      weightDecay: options.weightDecay ?? 0,
    };
    adamScalars(this.config, 1); // checks the settings
    const made: Tensor[] = [];
    const make = (t: () => Tensor) => (made.push(t()), made[made.length - 1]);
    try {
      this.m = make(() => this.gpu.full('f32', [this.store.total], 0));
      this.v = make(() => this.gpu.full('f32', [this.store.total], 0));
      this.scalars = make(() => this.gpu.full('f32', [4], 0));
      this.table = make(() => this.gpu.empty('f32', [SCALAR_TABLE_STEPS, 4]));
    } catch (err) {
      made.forEach((t) => t.dispose()); // a refusal keeps nothing
      throw err;
    }
    this.fillTable(1);
  }

  /** Uploads the scalars of steps first .. first + SCALAR_TABLE_STEPS - 1. */
  private fillTable(first: number): void {
    const host = new Float32Array(SCALAR_TABLE_STEPS * 4);
    for (let k = 0; k < SCALAR_TABLE_STEPS; k++) host.set(adamScalars(this.config, first + k), 4 * k);
    this.table.write(host);
    this.tableFrom = first;
  }

  protected update(): void {
    const t = this.steps;
    if (t >= this.tableFrom + SCALAR_TABLE_STEPS) this.fillTable(t);
    const k = t - this.tableFrom;
    const entry = new Tensor(this.gpu, this.table.buffer, 'f32', [4], this.table.byteOffset + 16 * k, this.table);
    this.gpu.copy(entry, this.scalars);
    for (const r of this.ranges([this.m, this.v]))
      adamStep(this.gpu, r.value, r.grad, r.states[0], r.states[1], this.scalars, this.config);
  }

  /** The moment buffers (exp_avg, exp_avg_sq) in the model's flat layout. */
  get state(): { expAvg: Tensor; expAvgSq: Tensor } {
    return { expAvg: this.m, expAvgSq: this.v };
  }

  override dispose(): void {
    [this.m, this.v, this.scalars, this.table].forEach((t) => t.dispose());
  }
}
