// Graph readout for batches of graphs: PyG's global_add_pool, global_mean_pool, global_max_pool (functional, like
// add and concat) and AttentionalAggregation (a module), each with its backward on the tape.
//
//   globalAddPool   out[g] = sum_{n in g} x[n]            dx[n] = dout[g(n)]
//   globalMeanPool  out[g] = mean_{n in g} x[n]           dx[n] = dout[g(n)] / |g(n)|
//   globalMaxPool   out[g, f] = max_{n in g} x[n, f]      dx[n, f] = dout[g, f] where n holds the (first) maximum
//   AttentionalAggregation(gateNN, nn?)
//                   gate = gateNN(x) [N, 1] or [N, F],  h = nn(x) (or x),
//                   beta = softmax over each graph's nodes of gate,  out[g] = sum_{n in g} beta[n] * h[n]
//
// The segments are a batch's `ptr` and `batch` (a GpuBatch from the DataLoader fits, as does any GraphSegments);
// graph g owns the nodes ptr[g] .. ptr[g + 1] - 1. An empty graph pools to 0.
import type { Tensor } from '../gpu/tensor.ts';
import {
  attentionPoolBackward,
  globalPool,
  globalPoolBackward,
  poolSoftmax,
  weightedPool,
  type GraphSegments,
  type PoolMode,
} from '../kernels/pooling.ts';
import { Module } from './module.ts';
import { asVariable, opScope, record, Variable, type Features } from './tape.ts';

export type { GraphSegments } from '../kernels/pooling.ts';

function checkRows(op: string, v: Variable, seg: GraphSegments): void {
  if (!seg || typeof seg !== 'object' || !seg.ptr || !seg.batch) {
    throw new Error(
      `${op}: the second argument must be the batch's segments ({ numGraphs, numNodes, ptr, batch }, e.g. a GpuBatch)`,
    );
  }
  if (v.rows !== seg.numNodes)
    throw new Error(`${op}: the features have ${v.rows} rows, the batch has ${seg.numNodes} nodes`);
}

function pool(mode: PoolMode, x: Features, seg: GraphSegments): Variable {
  const op = `global_${mode}_pool`;
  const v = asVariable(x);
  checkRows(op, v, seg);
  const gpu = v.gpu;
  const scope = opScope(gpu, op);
  const [n, f] = v.shape;
  const b = seg.numGraphs;
  const r = globalPool(gpu, v.dense(), seg, mode, {
    out: scope.get('out', [b, f]),
    argmax: mode === 'max' ? scope.get('argmax', [b, f], 'u32') : undefined,
  });
  return record(new Variable({ value: r.out, scope }), {
    label: op,
    inputs: [v],
    backward: (dy, ctx) => {
      if (!ctx.needsGrad(v)) return;
      ctx.deliver(v, globalPoolBackward(gpu, dy, seg, mode, { argmax: r.argmax, dx: scope.get('dx', [n, f]) }));
    },
  });
}

/** Sum of each graph's node features: x [N, F] -> [B, F] (PyG's global_add_pool). */
export function globalAddPool(x: Features, seg: GraphSegments): Variable {
  return pool('add', x, seg);
}

/** Mean of each graph's node features: x [N, F] -> [B, F] (PyG's global_mean_pool). */
export function globalMeanPool(x: Features, seg: GraphSegments): Variable {
  return pool('mean', x, seg);
}

/** Column-wise maximum over each graph's nodes, the first in node order on ties: x [N, F] -> [B, F]. */
export function globalMaxPool(x: Features, seg: GraphSegments): Variable {
  return pool('max', x, seg);
}

export type ReadoutKind = 'add' | 'mean' | 'max';

/** The functional readout for a mode name. */
export function globalPoolOf(mode: ReadoutKind): (x: Features, seg: GraphSegments) => Variable {
  if (mode !== 'add' && mode !== 'mean' && mode !== 'max')
    throw new Error(`readout must be 'add', 'mean' or 'max', got '${String(mode)}'`);
  return (x, seg) => pool(mode, x, seg);
}

/**
 * AttentionalAggregation(gateNN, nn?) (PyG's; DGL's GlobalAttentionPooling): forward(x, seg) gives [B, F'] where
 * F' is nn's output width (x's without nn). gateNN maps x [N, F] to [N, 1] (one weight per node) or [N, F'] (one
 * per node and feature). State dict: `gate_nn.…`, then `nn.…`, as PyTorch names them.
 * `weights()` reads the pooling weights beta of the last forward.
 */
export class AttentionalAggregation extends Module {
  // Field names are the state-dict prefixes PyTorch gives these children.
  readonly gate_nn: Module;
  readonly nn: Module | undefined;
  private last: { beta: Tensor; output: Variable } | null = null;

  constructor(gateNN: Module, nn?: Module) {
    super();
    if (!(gateNN instanceof Module)) throw new Error('AttentionalAggregation: gateNN must be a Module');
    if (nn !== undefined && !(nn instanceof Module))
      throw new Error('AttentionalAggregation: nn must be a Module or undefined');
    this.gate_nn = gateNN;
    this.nn = nn;
  }

  override forward(x: Features, seg: GraphSegments): Variable {
    const v = asVariable(x);
    checkRows('AttentionalAggregation', v, seg);
    const gate = (this.gate_nn.forward as (x: Variable) => Variable)(v);
    const h = this.nn ? (this.nn.forward as (x: Variable) => Variable)(v) : v;
    if (gate.rows !== v.rows || (gate.cols !== 1 && gate.cols !== h.cols)) {
      throw new Error(
        `AttentionalAggregation: gate_nn gives [${gate.shape}], expected [${v.rows}, 1] or [${v.rows}, ${h.cols}]`,
      );
    }
    const { gpu, scope } = this;
    const [n, f] = h.shape;
    const g = gate.cols;
    const beta = poolSoftmax(gpu, gate.dense(), seg, scope.get('beta', [n, g]));
    const out = weightedPool(gpu, h.dense(), beta, seg, scope.get('out', [seg.numGraphs, f]));
    const output = record(new Variable({ value: out, scope }), {
      label: 'AttentionalAggregation',
      inputs: [gate, h],
      saved: [gate, h],
      backward: (dy, ctx) => {
        if (!ctx.needsGrad(gate) && !ctx.needsGrad(h)) return;
        const r = attentionPoolBackward(gpu, h.dense(), beta, dy, seg, {
          dx: scope.get('dh', [n, f]),
          dgate: scope.get('dgate', [n, g]),
        });
        ctx.deliver(h, r.dx);
        ctx.deliver(gate, r.dgate);
      },
    });
    this.last = { beta, output };
    return output;
  }

  /**
   * The pooling weights of the last forward: beta [N, G] (G = 1 or F'), each graph's column summing to 1 over its
   * nodes, in the batch's node order. Null before the first forward or once a later forward reused the buffers.
   */
  async weights(): Promise<{ beta: Float32Array; columns: number } | null> {
    if (!this.last || this.last.output.stale === 'reused') return null;
    return { beta: (await this.last.beta.read()) as Float32Array, columns: this.last.beta.shape[1] };
  }
}
