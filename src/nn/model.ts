// The two-layer graph attention network of the GAT paper (and PyG's examples/gat.py):
//
//   h = ELU(conv1(dropout(x)))           conv1: H heads x hidden, concatenated, attention dropout
//   logits = conv2(dropout(h))           conv2: 1 head x classes, averaged (concat = false)
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { eluBackward, eluDropoutBackward, eluDropoutForward, eluForward } from '../kernels/elementwise.ts';
import { hash32 } from './seeds.ts';
import type { AttentionConv, LayerGraphs, NamedArray, StepContext } from './conv.ts';
import { GATConv } from './gat-conv.ts';
import { GATv2Conv } from './gatv2-conv.ts';
import { seededRandom } from './init.ts';
import { DenseInput, SparseInput, type LayerInput } from './input.ts';
import { ParameterStore } from './params.ts';
import { Workspace } from './workspace.ts';
import type { SparseTensors } from '../kernels/spmm.ts';
import { numel } from '../gpu/tensor.ts';
import { checkStateDict, type StateDictCheck, type StateDictTensor, type TensorSpec } from '../io/state-dict.ts';
import { checkParametersFit } from '../train/budget.ts';
import { resolveModelOptions } from '../train/options.ts';

export interface GATModelConfig {
  model?: 'gatv2' | 'gat';
  inChannels: number;
  hiddenChannels?: number;
  outChannels: number;
  heads?: number;
  /** Heads of the output layer (averaged). */
  outHeads?: number;
  /** Dropout on each layer's input and on the attention coefficients. */
  dropout?: number;
  /** Seeds the initialisation and every dropout mask. */
  seed?: number;
  residual?: boolean;
  shareWeights?: boolean;
  addSelfLoops?: boolean;
}

/** Node features on the GPU: sparse CSR (with its transpose, for the weight gradient) or dense [N, F]. */
export type NodeFeatures = { kind: 'sparse'; x: SparseTensors; xT: SparseTensors } | { kind: 'dense'; x: Tensor };

export class GATModel {
  readonly config: Required<GATModelConfig>;
  readonly conv1: AttentionConv;
  readonly conv2: AttentionConv;
  readonly params: ParameterStore;
  private ws: Workspace;
  private saved: { h: Tensor; training: boolean } | null = null;
  /** Dropout sites: input of conv1, input of conv2; the layers' attention dropout seeds are set below. */
  private seeds: { input: number; hidden: number };

  /** The seed of every dropout site (each mask is hash(seed, step, index)). */
  get dropoutSeeds() {
    return { ...this.seeds, alpha1: this.conv1.dropoutSeed, alpha2: this.conv2.dropoutSeed };
  }

  constructor(readonly gpu: Gpu, config: GATModelConfig) {
    const c = resolveModelOptions(config); // each option checked by name, unknown model names refused
    checkParametersFit(gpu, c); // before any allocation
    this.config = c;
    const Conv = c.model === 'gat' ? GATConv : GATv2Conv;
    const common = { dropout: c.dropout, residual: c.residual, addSelfLoops: c.addSelfLoops, ...(c.model === 'gatv2' ? { shareWeights: c.shareWeights } : {}) };
    this.conv1 = new Conv(c.inChannels, c.hiddenChannels, { heads: c.heads, concat: true, ...common });
    this.conv2 = new Conv(c.hiddenChannels * c.heads, c.outChannels, { heads: c.outHeads, concat: false, ...common });
    const specs = [...this.conv1.paramSpecs('conv1.'), ...this.conv2.paramSpecs('conv2.')];
    this.params = new ParameterStore(gpu, specs, seededRandom(c.seed));
    this.conv1.bind(gpu, this.params, 'conv1.');
    this.conv2.bind(gpu, this.params, 'conv2.');
    const site = (k: number) => hash32((c.seed * 0x9e3779b1 + k) >>> 0);
    this.seeds = { input: site(1), hidden: site(2) };
    this.conv1.dropoutSeed = site(3);
    this.conv2.dropoutSeed = site(4);
    this.ws = new Workspace(gpu);
  }

  private dropoutArgs(ctx: StepContext, seed: number) {
    return ctx.training && this.config.dropout > 0 ? { p: this.config.dropout, seed, step: ctx.step } : undefined;
  }

  /** Logits [N, classes]. In training, dropout masks come from (seed, step). */
  forward(ctx: StepContext, features: NodeFeatures, graphs: LayerGraphs): Tensor {
    const { gpu } = ctx;
    let input1: LayerInput;
    const inDrop = this.dropoutArgs(ctx, this.seeds.input);
    if (features.kind === 'sparse') {
      input1 = new SparseInput(features.x, features.xT, inDrop);
    } else {
      input1 = new DenseInput(features.x, inDrop);
    }
    const h = this.conv1.forward(ctx, input1, graphs);
    // dropout(ELU(h)) in one pass; evaluation writes plain ELU(h) into the same buffer.
    const hidDrop = this.dropoutArgs(ctx, this.seeds.hidden);
    const hidden = this.ws.get('hidden', h.shape);
    const input2 = hidDrop ? eluDropoutForward(gpu, h, 1, hidDrop, hidden) : eluForward(gpu, h, 1, hidden);
    this.saved = { h, training: ctx.training };
    return this.conv2.forward(ctx, new DenseInput(input2), graphs);
  }

  /** Writes the gradient of every parameter into params.grads, given d loss / d logits. */
  backward(ctx: StepContext, dlogits: Tensor): void {
    if (!this.saved?.training && ctx.training) throw new Error('GATModel.backward needs a training forward first');
    const { gpu } = ctx;
    const h = this.saved!.h;
    const dInput2 = this.conv2.backward(ctx, dlogits, true)!;
    const hidDrop = this.dropoutArgs(ctx, this.seeds.hidden);
    // d h overwrites d input2 (conv2's scratch, dead once read here).
    const dh = hidDrop ? eluDropoutBackward(gpu, h, dInput2, 1, hidDrop, dInput2) : eluBackward(gpu, h, dInput2, 1, dInput2);
    this.conv1.backward(ctx, dh, false);
  }

  /** Every parameter in PyG's state_dict names and shapes (`conv1.lin_l.weight`, ...). */
  async stateDict(): Promise<Record<string, NamedArray>> {
    const all = await this.params.readAll();
    const out: Record<string, NamedArray> = {};
    for (const [prefix, conv] of [['conv1.', this.conv1], ['conv2.', this.conv2]] as const) {
      const entries = conv.toStateDict((name) => all.get(prefix + name)!);
      for (const [k, v] of Object.entries(entries)) out[prefix + k] = v;
    }
    return out;
  }

  /** The tensors loadStateDict expects: PyG's names and shapes, all F32. */
  stateDictSpec(): TensorSpec[] {
    const spec: TensorSpec[] = [];
    this.eachStateDictWrite((name, shape) => (spec.push({ name, shape }), new Float32Array(numel(shape))), () => {});
    return spec;
  }

  /**
   * Loads PyG-named tensors, as PyTorch's load_state_dict: the whole dict is checked first (checkStateDict: missing
   * and unexpected names when `strict`, the default; shapes and dtypes always), then copied, so a refused load
   * changes nothing. With `strict: false`, missing tensors keep their current values and unexpected ones are
   * ignored; both are listed in the result.
   */
  loadStateDict(dict: Record<string, StateDictTensor>, opts: { strict?: boolean } = {}): StateDictCheck {
    const check = checkStateDict(this.stateDictSpec(), dict, { strict: opts.strict, owner: 'GATModel' });
    const missing = new Set(check.missing);
    const get = (name: string, shape: number[]): Float32Array => {
      if (missing.has(name)) return new Float32Array(numel(shape));
      const data = dict[name]!.data;
      return data instanceof Float32Array ? data : Float32Array.from(data as ArrayLike<number>);
    };
    // Every parameter's new contents are computed before the first write.
    const writes: [string, Float32Array][] = [];
    this.eachStateDictWrite(get, (name, data) => writes.push([name, data]));
    // Elements that come from missing tensors keep their values: a dry run with those tensors NaN finds them.
    const keep = new Map<string, Float32Array>();
    if (missing.size > 0) {
      const marker = (name: string, shape: number[]) =>
        new Float32Array(numel(shape)).fill(missing.has(name) ? NaN : 0);
      this.eachStateDictWrite(marker, (name, data) => keep.set(name, data));
    }
    for (const [name, data] of writes) {
      const mask = keep.get(name);
      if (!mask) {
        this.params.write(name, data);
        continue;
      }
      const t = this.params.value(name);
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

  /** Runs each layer's fromStateDict with state-dict names prefixed and parameter names prefixed. */
  private eachStateDictWrite(
    get: (name: string, shape: number[]) => Float32Array,
    set: (param: string, data: Float32Array) => void,
  ): void {
    for (const [prefix, conv] of [['conv1.', this.conv1], ['conv2.', this.conv2]] as const) {
      conv.fromStateDict((name, shape) => get(prefix + name, shape), (name, data) => set(prefix + name, data));
    }
  }

  dispose(): void {
    this.conv1.dispose();
    this.conv2.dispose();
    this.ws.dispose();
    this.params.dispose();
  }
}
