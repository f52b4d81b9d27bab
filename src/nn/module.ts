// The base of every layer and model, as torch.nn.Module: children (fields that hold modules, in declaration order,
// or the names a container gives), train() / eval(), parameters, and state dicts in PyTorch's names. A module is
// built without a device; init(gpu) allocates every parameter of the tree in one flat GPU buffer (ParameterStore),
// so that an optimizer updates them all in one dispatch.
import type { Gpu } from '../gpu/gpu.ts';
import { numel, type Tensor } from '../gpu/tensor.ts';
import { argmax } from '../kernels/loss.ts';
import { add as addInto, fill } from '../kernels/elementwise.ts';
import { seededRandom } from './init.ts';
import { checkStateDict, type StateDictCheck, type StateDictTensor, type TensorSpec } from '../io/state-dict.ts';
import { ParameterStore, type ParamSpec } from './params.ts';
import { hash32 } from './seeds.ts';
import {
  atTopLevel,
  Frame,
  inFrame,
  startPass,
  currentPass,
  type GradientOwner,
  type Scope,
  type Variable,
} from './tape.ts';
import { Workspace } from './workspace.ts';

/** A PyTorch-layout tensor of a state dict. */
export interface NamedArray {
  shape: number[];
  data: Float32Array;
  /** Optional; when given it must say float32 ('F32', 'f32' or 'float32'). */
  dtype?: string;
}

export type StateDict = Record<string, NamedArray>;

/** A state-dict entry a module expects: PyTorch name (without the module's prefix) and shape. */
export interface StateSpec {
  name: string;
  shape: number[];
  /**
   * The entry this one shares storage with (GATv2's lin_r with shared weights is lin_l): PyTorch's state_dict lists
   * both, safetensors' save_model writes one, so it may be absent when its twin is given.
   */
  alias?: string;
}

/** What init() gives every module of a tree. */
export interface ModelContext {
  gpu: Gpu;
  store: ParameterStore;
  /** u32 [1]: the training step, hashed into every dropout mask. */
  step: Tensor;
  /** Training passes run so far (the value written into `step` at the start of each). */
  stepValue: number;
}

/** One parameter: its internal name and layout, its value and gradient (views of the flat buffers). */
export interface Parameter {
  readonly name: string;
  readonly shape: readonly number[];
  readonly value: Tensor;
  readonly grad: Tensor;
  readonly module: Module;
}

/** What loadStateDict returns: the missing and unexpected names (empty when strict) and the names it copied. */
export type LoadResult = StateDictCheck;

const join = (prefix: string, name: string) => (prefix ? `${prefix}.${name}` : name);

export abstract class Module implements GradientOwner {
  /** Training mode (dropout on) or evaluation mode. */
  training = true;
  /** Whether Sequential passes the graph to this module's forward. */
  readonly takesGraph: boolean = false;
  /** Seed of this module's dropout site (set by init()). */
  dropoutSeed = 0;

  private _ctx: ModelContext | null = null;
  private _prefix = '';
  private _children: [string, Module][] | null = null;
  private _frames: Frame[] = [];
  private _pass = -1;
  private _calls = 0;
  /** 'zero': the gradients are logically zero (the next backward overwrites them); 'written': it adds to them. */
  private _gradState: 'zero' | 'written' = 'zero';
  private _gradRedirect: Map<string, Tensor> | null = null;
  private _gradWs: Workspace | null = null;

  constructor() {
    // Every forward runs inside a frame of buffers of its own (tape.ts); the outermost call starts a pass.
    const forward = this.forward;
    Object.defineProperty(this, 'forward', {
      value: (...args: unknown[]) => this.call(() => (forward as (...a: unknown[]) => Variable).apply(this, args)),
      writable: true,
      configurable: true,
      enumerable: false,
    });
  }

  abstract forward(...args: never[]): Variable;

  private call(body: () => Variable): Variable {
    const ctx = this.context;
    if (atTopLevel()) {
      startPass();
      if (this.training) ctx.step.write(new Uint32Array([++ctx.stepValue]));
    }
    if (this._pass !== currentPass()) (this._pass = currentPass()), (this._calls = 0);
    const k = this._calls++;
    const frame = (this._frames[k] ??= new Frame(ctx.gpu));
    frame.begin();
    return inFrame(frame, body);
  }

  /** The buffers of the call in progress (layers keep their outputs and scratch there). */
  protected get scope(): Scope {
    const f = this._frames[this._calls - 1];
    if (!f || this._pass !== currentPass()) throw new Error(`${this.constructor.name}: no forward in progress`);
    return f.own;
  }

  get context(): ModelContext {
    if (!this._ctx)
      throw new Error(
        `${this.constructor.name}: call init(gpu) on the model before its forward (it allocates the parameters)`,
      );
    return this._ctx;
  }

  get gpu(): Gpu {
    return this.context.gpu;
  }

  get initialized(): boolean {
    return this._ctx !== null;
  }

  /** Training passes run so far: the step value hashed into this pass's dropout masks. */
  get stepCount(): number {
    return this.context.stepValue;
  }

  // ---- the tree ----

  /** Registers a child under a name of your choosing (fields holding modules are found without this). */
  addModule(name: string, module: Module): this {
    if (!(module instanceof Module)) throw new Error(`addModule: ${name} is not a Module`);
    (this._children ??= []).push([name, module]);
    return this;
  }

  /**
   * The direct children with their names: those given to addModule, then fields that hold a module (field name)
   * or an array of modules (`name.0`, `name.1`, ... as torch.nn.ModuleList), in declaration order.
   */
  namedChildren(): [string, Module][] {
    const out: [string, Module][] = [...(this._children ?? [])];
    for (const [key, value] of Object.entries(this)) {
      if (key.startsWith('_')) continue;
      if (value instanceof Module) out.push([key, value]);
      else if (Array.isArray(value) && value.length > 0 && value.every((m) => m instanceof Module)) {
        value.forEach((m, i) => out.push([`${key}.${i}`, m]));
      }
    }
    return out;
  }

  /** Every module of the tree with its prefix, this one first ('' ), depth first in child order. */
  namedModules(prefix = ''): [string, Module][] {
    const out: [string, Module][] = [[prefix, this]];
    for (const [name, child] of this.namedChildren()) out.push(...child.namedModules(join(prefix, name)));
    return out;
  }

  modules(): Module[] {
    return this.namedModules().map(([, m]) => m);
  }

  /** Sets training mode on this module and every descendant. */
  train(mode = true): this {
    for (const m of this.modules()) m.training = mode;
    return this;
  }

  eval(): this {
    return this.train(false);
  }

  // ---- what subclasses declare ----

  /** This module's own parameters in the internal layout (weights [in, out]), in initialisation order. */
  protected parameterSpecs(): ParamSpec[] {
    return [];
  }

  /** This module's own state-dict entries (PyTorch names and shapes), in PyTorch's order. */
  stateSpecs(): StateSpec[] {
    return [];
  }

  /** This module's own entries in PyTorch's layout, from the internal values. */
  protected toState(_values: (name: string) => Float32Array): StateDict {
    return {};
  }

  /** Converts PyTorch-layout entries (got by name) into internal values (set by internal name). */
  protected fromState(_get: (name: string) => Float32Array, _set: (name: string, data: Float32Array) => void): void {}

  /** Dropout sites are seeded in this order: 1 for Dropout modules, 2 for attention dropout; null for none. */
  protected get dropoutPhase(): number | null {
    return null;
  }

  /** Called by init() once the parameters exist. */
  protected onInit(_gpu: Gpu): void {}

  /** Called by stateDict() before toState: a module with state outside the parameters (running statistics) reads it. */
  protected async readState(): Promise<void> {}

  /** Called by dispose(): a module frees the buffers it allocated itself (outside the parameters and its frames). */
  protected onDispose(): void {}

  // ---- parameters ----

  /**
   * Allocates and initialises (seeded) every parameter of the tree in one flat buffer, seeds every dropout site
   * and makes the model ready to run on `gpu`.
   */
  init(gpu: Gpu, opts: { seed?: number } = {}): this {
    const seed = opts.seed ?? 0;
    if (!Number.isInteger(seed) || seed < 0) throw new Error(`init: seed must be a non-negative integer, got ${seed}`);
    const mods = this.namedModules();
    const seen = new Set<Module>();
    for (const [prefix, m] of mods) {
      if (m._ctx)
        throw new Error(
          `init: ${m.constructor.name} at '${prefix}' is already initialised (a module belongs to one model)`,
        );
      if (seen.has(m))
        throw new Error(
          `init: ${m.constructor.name} appears twice in the model (at '${prefix}'); call it twice instead`,
        );
      seen.add(m);
    }
    const specs = mods.flatMap(([prefix, m]) => m.parameterSpecs().map((s) => ({ ...s, name: join(prefix, s.name) })));
    const store = new ParameterStore(gpu, specs, seededRandom(seed));
    const ctx: ModelContext = { gpu, store, step: gpu.full('u32', [1], 0), stepValue: 0 };
    // Dropout sites: each mask is hash(site seed, step, index).
    const site = (k: number) => hash32((seed * 0x9e3779b1 + k) >>> 0);
    let k = 1;
    for (const phase of [1, 2]) for (const [, m] of mods) if (m.dropoutPhase === phase) m.dropoutSeed = site(k++);
    for (const [prefix, m] of mods) {
      m._ctx = ctx;
      m._prefix = prefix;
      m.onInit(gpu);
    }
    return this;
  }

  get parameterStore(): ParameterStore {
    return this.context.store;
  }

  /** The value of one of this module's own parameters (internal name). */
  protected param(name: string): Tensor {
    return this.context.store.value(join(this._prefix, name));
  }

  /** Where the backward writes the gradient of one of this module's own parameters. */
  protected grad(name: string): Tensor {
    const full = join(this._prefix, name);
    if (this._gradRedirect) {
      const slot = this.context.store.slot(full);
      this._gradWs ??= new Workspace(this.gpu);
      const t = this._gradWs.get(full, slot.shape);
      this._gradRedirect.set(full, t);
      return t;
    }
    return this.context.store.grad(full);
  }

  get hasParameters(): boolean {
    return this.parameterSpecs().length > 0;
  }

  /** Before this module's backward: the first since zeroGrad() writes the gradients, later ones add to them. */
  beginGradients(): void {
    if (this._gradState === 'zero') this._gradState = 'written';
    else this._gradRedirect = new Map();
  }

  endGradients(): void {
    const redirect = this._gradRedirect;
    this._gradRedirect = null;
    if (!redirect) return;
    const { gpu, store } = this.context;
    for (const [name, t] of redirect) {
      const g = store.grad(name);
      const sum = this._gradWs!.get(`${name}#sum`, g.shape);
      addInto(gpu, g, t, sum);
      gpu.copy(sum, g);
    }
  }

  /** Marks this module's gradients as zero without touching them: the next backward overwrites them. */
  zeroGrad(): void {
    for (const m of this.modules()) m._gradState = 'zero';
  }

  /** Writes zeros into the gradients still marked zero (an optimizer step with no backward since zeroGrad). */
  settleGradients(): void {
    for (const m of this.modules()) {
      if (m._gradState !== 'zero' || !m._ctx) continue;
      for (const s of m.parameterSpecs()) fill(m.gpu, m.context.store.grad(join(m._prefix, s.name)), 0);
      m._gradState = 'written';
    }
  }

  /** Every parameter of the tree with its internal name (`1.lin.weight`, ...), in the flat buffer's order. */
  namedParameters(): [string, Parameter][] {
    const out: [string, Parameter][] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const s of m.parameterSpecs()) {
        const name = join(prefix, s.name);
        const store = m.context.store;
        out.push([name, { name, shape: s.shape, value: store.value(name), grad: store.grad(name), module: m }]);
      }
    }
    return out;
  }

  parameters(): Parameter[] {
    return this.namedParameters().map(([, p]) => p);
  }

  // ---- state dicts ----

  /** The expected state dict: PyTorch name -> shape, in PyTorch's order. */
  stateShapes(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const [prefix, m] of this.namedModules())
      for (const s of m.stateSpecs()) out.set(join(prefix, s.name), s.shape);
    return out;
  }

  /** Every parameter in PyTorch's names, shapes and order (`0.lin_l.weight`, `conv1.att`, ...); one readback. */
  async stateDict(): Promise<StateDict> {
    const all = await this.context.store.readAll();
    for (const [, m] of this.namedModules()) await m.readState();
    const out: StateDict = {};
    for (const [prefix, m] of this.namedModules()) {
      const entries = m.toState((name) => all.get(join(prefix, name))!);
      for (const [k, v] of Object.entries(entries)) out[join(prefix, k)] = v;
    }
    return out;
  }

  /** What loadStateDict expects for `dict`: every entry, less aliases whose twin the dict gives (all F32). */
  stateDictSpec(dict: Readonly<Record<string, unknown>> = {}): TensorSpec[] {
    const spec: TensorSpec[] = [];
    for (const [prefix, m] of this.namedModules()) {
      for (const s of m.stateSpecs()) {
        const name = join(prefix, s.name);
        const twin = s.alias === undefined ? undefined : join(prefix, s.alias);
        if (twin !== undefined && !Object.hasOwn(dict, name) && Object.hasOwn(dict, twin)) continue;
        spec.push({ name, shape: s.shape });
      }
    }
    return spec;
  }

  /**
   * Loads PyTorch-named tensors, as PyTorch's load_state_dict: the whole dict is checked first (checkStateDict:
   * missing and unexpected names when `strict`, the default, as one error in PyTorch's words; shapes and dtypes
   * always), then converted, then copied, so a refused load changes nothing. With `strict: false`, missing tensors
   * keep their current values (also where a parameter combines several tensors, as GATv2's lin_l and lin_r) and
   * unexpected ones are ignored; both are listed in the result.
   */
  loadStateDict(dict: Readonly<Record<string, StateDictTensor>>, opts: { strict?: boolean } = {}): StateDictCheck {
    const check = checkStateDict(this.stateDictSpec(dict ?? {}), dict, {
      strict: opts.strict,
      owner: this.constructor.name,
    });
    const given = (name: string) => Object.hasOwn(dict, name);
    const writes: [string, Float32Array, Float32Array | null][] = [];
    for (const [prefix, m] of this.namedModules()) {
      const specs = m.stateSpecs();
      if (specs.length === 0) continue;
      const shapes = new Map(specs.map((s) => [s.name, s.shape]));
      const aliasOf = new Map(specs.map((s) => [s.name, s.alias]));
      // An alias left out reads its twin.
      const source = (name: string) => {
        const full = join(prefix, name);
        const twin = aliasOf.get(name);
        return given(full) ? full : twin !== undefined && given(join(prefix, twin)) ? join(prefix, twin) : null;
      };
      const names = specs.map((s) => s.name);
      const present = names.filter((n) => source(n) !== null);
      if (present.length === 0) continue;
      const zeros = (name: string) => new Float32Array(numel(shapes.get(name)!));
      const values = new Map<string, Float32Array>();
      m.fromState(
        (name) => {
          const from = source(name);
          if (from === null) return zeros(name);
          const data = dict[from].data;
          return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
        },
        (name, data) => values.set(name, data),
      );
      // Elements that come from missing tensors keep their values: a dry run with those tensors NaN finds them.
      const keep = new Map<string, Float32Array>();
      if (present.length < names.length) {
        const marker = (name: string) => zeros(name).fill(source(name) === null ? NaN : 0);
        m.fromState(marker, (name, data) => keep.set(name, data));
      }
      for (const [name, data] of values) writes.push([join(prefix, name), data, keep.get(name) ?? null]);
    }
    const store = this.context.store;
    for (const [name, data] of writes) {
      if (data.length !== store.slot(name).size)
        throw new Error(`loadStateDict: ${name}: ${data.length} values, expected ${store.slot(name).size}`);
    }
    for (const [name, data, mask] of writes) {
      if (!mask) {
        store.write(name, data);
        continue;
      }
      const t = store.value(name);
      for (let i = 0; i < data.length; ) {
        if (Number.isNaN(mask[i])) {
          i++;
          continue;
        }
        let j = i;
        while (j < data.length && !Number.isNaN(mask[j])) j++;
        this.gpu.writeBuffer(t.buffer, t.byteOffset + 4 * i, data.subarray(i, j));
        i = j;
      }
    }
    return check;
  }

  // ---- inference ----

  /** The predicted class of every node: argmax of an evaluation-mode forward (the mode is restored). */
  async predict(...args: unknown[]): Promise<Int32Array> {
    const modes = this.modules().map((m) => m.training);
    this.eval();
    let out: Variable;
    try {
      out = (this.forward as (...a: unknown[]) => Variable)(...args);
    } finally {
      this.modules().forEach((m, i) => (m.training = modes[i]));
    }
    const pred = argmax(this.gpu, out.dense());
    const values = (await pred.read()) as Uint32Array;
    pred.dispose();
    return Int32Array.from(values);
  }

  /** Frees every buffer of the tree: parameters, gradients, outputs and scratch. */
  dispose(): void {
    const ctx = this._ctx;
    for (const m of this.modules()) {
      m.onDispose();
      m._frames.forEach((f) => f.dispose());
      m._frames = [];
      m._gradWs?.dispose();
      m._gradWs = null;
      m._ctx = null;
    }
    ctx?.store.dispose();
    ctx?.step.dispose();
  }
}
