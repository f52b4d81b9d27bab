// The tape of a step. Every module call (and every functional op: add, concat, elu, the losses) returns a Variable
// and records a node: the call's inputs and its hand-written backward, a closure over what the forward saved.
// `backward()` from a loss runs the recorded nodes that lead to it in reverse order of the forward calls; a Variable
// used more than once (skip connections) gets the sum of its gradients. No automatic differentiation is involved:
// each node's backward is written by hand beside its forward.
//
// Buffers. A training loop must allocate nothing after its first step, so a call's outputs and scratch live in
// named buffers (a Workspace) that the same call reuses every step: a module keeps one set per call within a pass
// (a pass is one top-level forward call, with every module call nested in it; a module called twice in one pass
// gets two sets), and functional ops keep theirs under the module whose forward called them, numbered by call.
// Functional ops called outside any forward (losses, mostly) are numbered from the last submit. When a later pass
// reuses a set, the Variables that lived there become stale, and a backward that still needs them is refused
// (a forward's outputs are valid until the next forward of the same model).
import type { Gpu } from '../gpu/gpu.ts';
import type { DType, Tensor } from '../gpu/tensor.ts';
import { add as addKernel, dropout as dropoutKernel, type DropoutArgs } from '../kernels/elementwise.ts';
import type { SparseTensors } from '../kernels/spmm.ts';
import { DenseInput, SparseInput, type LayerInput } from './input.ts';
import { Workspace } from './workspace.ts';

/** Node features on the GPU: sparse CSR (with its transpose, for the weight gradient) or dense [N, F]. */
export type NodeFeatures = { kind: 'sparse'; x: SparseTensors; xT: SparseTensors } | { kind: 'dense'; x: Tensor };

/** What a module takes as node features: a Variable, a dense f32 [N, F] tensor, or uploaded node features. */
export type Features = Variable | Tensor | NodeFeatures;

/** Why a Variable can no longer be read: its buffers were reused by a later call, or overwritten in place. */
type Staleness = false | 'reused' | 'overwritten';

/** A set of named buffers for one call (a module's call in a pass, or one functional op), and what lives there. */
export class Scope {
  readonly produced: Variable[] = [];
  constructor(
    private readonly ws: Workspace,
    private readonly prefix: string,
  ) {}

  get(name: string, shape: readonly number[], dtype: DType = 'f32'): Tensor {
    return this.ws.get(this.prefix + name, shape, dtype);
  }

  /** Marks what lived here as stale: a new call is about to overwrite it. */
  release(): void {
    for (const v of this.produced) v.stale ||= 'reused';
    this.produced.length = 0;
  }
}

/** The buffers of one call of a module: its own scope, and numbered scopes for the functional ops it calls. */
export class Frame {
  private readonly ws: Workspace;
  private readonly scopes = new Map<string, Scope>();
  private counters = new Map<string, number>();
  readonly own: Scope;

  constructor(readonly gpu: Gpu) {
    this.ws = new Workspace(gpu);
    this.own = new Scope(this.ws, '');
  }

  /** A new pass starts: everything made in this frame becomes stale, and op numbering restarts. */
  begin(): void {
    this.own.release();
    for (const s of this.scopes.values()) s.release();
    this.counters.clear();
  }

  /** The scope of the next call of functional op `op` in this frame. */
  next(op: string): Scope {
    const n = this.counters.get(op) ?? 0;
    this.counters.set(op, n + 1);
    const key = `${op}#${n}/`;
    let s = this.scopes.get(key);
    if (!s) this.scopes.set(key, (s = new Scope(this.ws, key)));
    s.release();
    return s;
  }

  restartNumbering(): void {
    this.counters.clear();
  }

  dispose(): void {
    this.begin();
    this.ws.dispose();
  }
}

/** Module calls in progress (innermost last), and the pass they belong to. */
const running: Frame[] = [];
let pass = 0;
/** Frames for functional ops called outside any forward, per device; numbering restarts after each submit. */
const topFrames = new WeakMap<Gpu, { frame: Frame; submits: number }>();

export function currentPass(): number {
  return pass;
}

/** Runs `body` as a module call in `frame`; the outermost call starts a new pass. */
export function inFrame<T>(frame: Frame, body: () => T): T {
  running.push(frame);
  try {
    return body();
  } finally {
    running.pop();
  }
}

/** Whether no module call is in progress (the next one starts a pass). */
export function atTopLevel(): boolean {
  return running.length === 0;
}

export function startPass(): number {
  return ++pass;
}

/** The scope for the next call of a functional op: under the innermost module call, or at top level. */
export function opScope(gpu: Gpu, op: string): Scope {
  const inner = running[running.length - 1];
  if (inner) return inner.next(op);
  let top = topFrames.get(gpu);
  if (!top) topFrames.set(gpu, (top = { frame: new Frame(gpu), submits: gpu.submitCount }));
  if (top.submits !== gpu.submitCount) {
    top.frame.restartNumbering();
    top.submits = gpu.submitCount;
  }
  return top.frame.next(op);
}

let nextSeq = 1;

/** What a node's backward is handed besides d output. */
export interface BackwardContext {
  readonly gpu: Gpu;
  /** Whether a gradient for this input is wanted (it leads to a parameter or to a leaf that asked for one). */
  needsGrad(v: Variable): boolean;
  /** Hands the gradient of `v` (contributions of several consumers are summed). */
  deliver(v: Variable, grad: Tensor): void;
  /** Whether d output may be overwritten (no one else reads it). */
  readonly owned: boolean;
  /** How many of this backward's nodes read `v`. */
  consumers(v: Variable): number;
  /** Marks a node as done by this one (a fused backward of two nodes). */
  skip(node: TapeNode): void;
}

export interface NodeSpec {
  /** Shown in errors: the module or op. */
  label: string;
  inputs: Variable[];
  /** Inputs whose values the backward reads (they must not have been overwritten since). */
  saved?: Variable[];
  /** The module whose parameter gradients this backward writes. */
  owner?: GradientOwner;
  /** A tag for fusions (e.g. 'elu'), with what the fusing node needs. */
  kind?: string;
  info?: unknown;
  backward(dout: Tensor, ctx: BackwardContext): void;
}

export interface TapeNode extends NodeSpec {
  readonly seq: number;
  output: Variable;
}

/** A module that owns parameters: its gradients are written directly or added to what is there (see Module). */
export interface GradientOwner {
  readonly hasParameters: boolean;
  beginGradients(): void;
  endGradients(): void;
}

export interface VariableInit {
  value?: Tensor;
  sparse?: { x: SparseTensors; xT: SparseTensors };
  /** Lazy dropout: this Variable is `base` with the dropout mask of `args` applied. */
  dropped?: { base: Variable; args: DropoutArgs };
  scope?: Scope;
  requiresGrad?: boolean;
}

/**
 * Node features [N, F] on the GPU as they flow between modules, with the node that made them. Dense (a tensor),
 * sparse (uploaded CSR features, as an input only), or a dense or sparse Variable with dropout applied lazily: the
 * next linear map applies the mask as it reads (nothing is stored); other consumers get it materialised.
 */
export class Variable {
  readonly gpu: Gpu;
  readonly rows: number;
  readonly cols: number;
  node: TapeNode | null = null;
  /** Leaves only: whether backward() computes `grad`. */
  readonly requiresGrad: boolean;
  /** Leaves only: the gradient after backward() (a tensor this Variable owns; dispose() frees it). */
  grad: Tensor | null = null;
  stale: Staleness = false;
  private readonly valueTensor: Tensor | null;
  readonly sparse: { x: SparseTensors; xT: SparseTensors } | null;
  readonly dropped: { base: Variable; args: DropoutArgs } | null;
  readonly scope: Scope | null;
  private materialised: Tensor | null = null;
  private leafWs: Workspace | null = null;

  constructor(init: VariableInit) {
    this.valueTensor = init.value ?? null;
    this.sparse = init.sparse ?? null;
    this.dropped = init.dropped ?? null;
    this.scope = init.scope ?? null;
    this.requiresGrad = init.requiresGrad ?? false;
    if (this.valueTensor) {
      if (this.valueTensor.shape.length !== 2 || this.valueTensor.dtype !== 'f32') {
        throw new Error(
          `Node features must be an f32 tensor [nodes, features], got ${this.valueTensor.dtype} ` +
            `[${this.valueTensor.shape}]`,
        );
      }
      [this.rows, this.cols] = this.valueTensor.shape;
      this.gpu = this.valueTensor.gpu;
    } else if (this.sparse) {
      [this.rows, this.cols] = [this.sparse.x.rows, this.sparse.x.cols];
      this.gpu = this.sparse.x.rowPtr.gpu;
    } else if (this.dropped) {
      [this.rows, this.cols, this.gpu] = [this.dropped.base.rows, this.dropped.base.cols, this.dropped.base.gpu];
    } else {
      throw new Error('Variable: give a value, sparse features or a dropped-out base');
    }
    this.scope?.produced.push(this);
  }

  /** A leaf: features that no node made (the model's input), with or without a gradient. */
  static leaf(x: Tensor | NodeFeatures, opts: { requiresGrad?: boolean } = {}): Variable {
    if ('kind' in x) {
      return x.kind === 'dense'
        ? new Variable({ value: x.x, ...opts })
        : new Variable({ sparse: { x: x.x, xT: x.xT }, ...opts });
    }
    return new Variable({ value: x, ...opts });
  }

  get shape(): [number, number] {
    return [this.rows, this.cols];
  }

  private checkFresh(): void {
    if (this.stale) {
      const why =
        this.stale === 'reused'
          ? 'its buffers were reused by a later forward'
          : 'it was overwritten in place (a loss with reuseLogits)';
      throw new Error(
        `These node features can no longer be read: ${why}. Use a forward's outputs before the next forward.`,
      );
    }
  }

  /** The dense tensor [N, F]: lazy dropout is applied here (once) when a consumer needs the values. */
  dense(): Tensor {
    this.checkFresh();
    if (this.valueTensor) return this.valueTensor;
    if (this.sparse)
      throw new Error(
        'Sparse node features can only feed a linear map (Linear, GATConv, GATv2Conv); there is no dense tensor',
      );
    if (!this.materialised) {
      const { base, args } = this.dropped!;
      const out = this.scope
        ? this.scope.get('materialised', [this.rows, this.cols])
        : this.gpu.empty('f32', [this.rows, this.cols]);
      this.materialised = dropoutKernel(this.gpu, base.dense(), args, out);
    }
    return this.materialised;
  }

  /** The features as a linear map reads them: dense or sparse, with the lazy dropout mask when there is one. */
  layerInput(): LayerInput {
    this.checkFresh();
    if (this.valueTensor) return new DenseInput(this.valueTensor);
    if (this.sparse) return new SparseInput(this.sparse.x, this.sparse.xT);
    const { base, args } = this.dropped!;
    if (base.dropped) return new DenseInput(this.dense());
    base.checkFresh();
    return base.sparse ? new SparseInput(base.sparse.x, base.sparse.xT, args) : new DenseInput(base.dense(), args);
  }

  /** Copies the values back to the host (row-major [N, F]). */
  async read(): Promise<Float32Array> {
    return (await this.dense().read()) as Float32Array;
  }

  /** ELU(x) = x for x > 0, alpha (e^x - 1) otherwise. */
  elu(alpha = 1): Variable {
    return elementwiseOps.elu(this, alpha);
  }

  /** max(x, 0). */
  relu(): Variable {
    return elementwiseOps.leakyRelu(this, 0);
  }

  /** x for x > 0, slope * x otherwise. */
  leakyRelu(slope = 0.01): Variable {
    return elementwiseOps.leakyRelu(this, slope);
  }

  /**
   * Runs the backward of every node that led here, in reverse order of the forward calls, given d loss / d this
   * (`grad`, [N, F]). Parameter gradients land in the model's gradient buffer; leaves with requiresGrad get `grad`.
   */
  backward(grad: Tensor): void {
    runBackward(this, grad, false);
  }

  /** A scratch tensor for this Variable's gradient bookkeeping (its scope, or its own buffers for a leaf). */
  scratch(name: string): Tensor {
    if (this.scope) return this.scope.get(name, [this.rows, this.cols]);
    this.leafWs ??= new Workspace(this.gpu);
    return this.leafWs.get(name, [this.rows, this.cols]);
  }

  /** Frees a leaf's gradient and scratch (a Variable made by a module owns nothing else). */
  dispose(): void {
    this.grad?.dispose();
    this.grad = null;
    this.leafWs?.dispose();
    this.leafWs = null;
  }
}

/** The ELU and LeakyReLU ops (activations.ts), registered there to keep this module free of layer code. */
export const elementwiseOps = {
  elu: (_x: Variable, _alpha: number): Variable => {
    throw new Error('activations not loaded');
  },
  leakyRelu: (_x: Variable, _slope: number): Variable => {
    throw new Error('activations not loaded');
  },
};

export function asVariable(x: Features): Variable {
  return x instanceof Variable ? x : Variable.leaf(x);
}

/** Records a node whose output is `output`. */
export function record(output: Variable, spec: NodeSpec): Variable {
  output.node = { ...spec, seq: nextSeq++, output };
  return output;
}

/**
 * The backward engine: collects the nodes that lead to `root`, then runs each one's backward in reverse order of
 * the forward calls, summing the gradients of Variables with several consumers.
 */
export function runBackward(root: Variable, seed: Tensor, seedOwned: boolean): void {
  if (seed.shape.length === 2 && (seed.shape[0] !== root.rows || seed.shape[1] !== root.cols)) {
    throw new Error(`backward: the gradient has shape [${seed.shape}], the output [${root.rows}, ${root.cols}]`);
  }
  const gpu = root.gpu;
  const nodes: TapeNode[] = [];
  const seen = new Set<TapeNode>();
  const uses = new Map<Variable, number>();
  const stack: Variable[] = [root];
  while (stack.length) {
    const v = stack.pop()!;
    const n = v.node;
    if (!n || seen.has(n)) continue;
    seen.add(n);
    nodes.push(n);
    if (n.output.stale === 'reused')
      throw new Error(
        `backward: the buffers of ${n.label} were reused by a later forward; run backward before the next forward`,
      );
    for (const s of n.saved ?? []) {
      if (s.stale)
        throw new Error(
          `backward: an input of ${n.label} was overwritten since its forward; run backward before the next forward`,
        );
    }
    for (const i of n.inputs) {
      uses.set(i, (uses.get(i) ?? 0) + 1);
      stack.push(i);
    }
  }
  nodes.sort((a, b) => b.seq - a.seq);

  const needs = new Map<Variable, boolean>();
  const needsGrad = (v: Variable): boolean => {
    let r = needs.get(v);
    if (r === undefined) {
      const n = v.node;
      r = n ? !!n.owner?.hasParameters || n.inputs.some(needsGrad) : v.requiresGrad;
      needs.set(v, r);
    }
    return r;
  };

  const parts = new Map<Variable, Tensor[]>();
  const deliveries = new Map<Tensor, number>();
  const deliver = (v: Variable, t: Tensor) => {
    if (!needsGrad(v)) return;
    if (t.size !== v.rows * v.cols)
      throw new Error(`backward: a gradient of ${t.size} values for features [${v.rows}, ${v.cols}]`);
    (parts.get(v) ?? parts.set(v, []).get(v)!).push(t);
    deliveries.set(t, (deliveries.get(t) ?? 0) + 1);
  };
  /** The total gradient of v, and whether its buffer is v's alone to overwrite. */
  const total = (v: Variable): { grad: Tensor; owned: boolean } | null => {
    const ps = parts.get(v);
    if (!ps?.length) return null;
    if (ps.length === 1) return { grad: ps[0], owned: deliveries.get(ps[0]) === 1 && (ps[0] !== seed || seedOwned) };
    let sum = addKernel(gpu, ps[0], ps[1], v.scratch('grad_sum_0'));
    for (let k = 2; k < ps.length; k++) sum = addKernel(gpu, sum, ps[k], v.scratch(`grad_sum_${(k - 1) % 2}`));
    return { grad: sum, owned: true };
  };

  deliveries.set(seed, 1);
  parts.set(root, [seed]);
  needs.set(root, true);
  const skipped = new Set<TapeNode>();
  for (const n of nodes) {
    if (skipped.has(n)) continue;
    const g = total(n.output);
    if (!g) continue;
    n.owner?.beginGradients();
    n.backward(g.grad, {
      gpu,
      needsGrad,
      deliver,
      owned: g.owned,
      consumers: (v) => uses.get(v) ?? 0,
      skip: (m) => void skipped.add(m),
    });
    n.owner?.endGradients();
  }
  // Leaves that asked for a gradient get it in a tensor of their own.
  for (const [v, ps] of parts) {
    if (v.node || !v.requiresGrad || !ps.length) continue;
    const g = total(v)!;
    v.grad ??= gpu.empty('f32', [v.rows, v.cols]);
    gpu.copy(g.grad, v.grad);
  }
}
