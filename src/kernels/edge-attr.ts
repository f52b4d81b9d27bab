// Edge attributes in a graph's CSR order (shaders/edge-attr.wgsl), with the self loops' attributes filled as PyG's
// add_self_loops(edge_index, edge_attr, fill_value=...) does for GATConv and GATv2Conv: the attention kernels read
// per-edge values by CSR position, while the caller's edge_attr follows its edge_index. The graph's edgeId maps one
// to the other (-1 for an added self loop).
import code from '../../shaders/edge-attr.wgsl';
import inEdges from '../../shaders/in-edges.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel, type Kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import { expectGraph, expectNoAlias, expectTensor, outputFor } from './check.ts';
import { fill as fillTensor } from './elementwise.ts';

/**
 * A self loop's edge attributes: a number (every column), or a reduction of the node's other incoming edges'
 * attributes ('mean' is PyG's default; 'add' sums; 'max' / 'min' column by column). A node without incoming edges
 * gets 0 from a reduction.
 */
export type FillValue = 'mean' | 'add' | 'max' | 'min' | number;

const FILL_CODES = { value: 0, mean: 1, add: 2, max: 3, min: 4 } as const;
type FillKind = keyof typeof FILL_CODES;

const variants = (entryPoint: string) =>
  Object.fromEntries(
    Object.entries(FILL_CODES).map(([kind, c]) => [
      kind,
      kernel({
        name: `edge_attr.${entryPoint}.${kind}`,
        code,
        preludes: [inEdges],
        entryPoint,
        overrides: { FILL: c },
      }),
    ]),
  ) as Record<FillKind, Kernel>;

const K = { forward: variants('csr_edge_attr'), backward: variants('csr_edge_attr_backward') };

/** Throws unless `fill` is a FillValue, naming `what`. */
export function checkFillValue(what: string, fill: unknown): asserts fill is FillValue {
  if (typeof fill === 'number' ? Number.isFinite(fill) : ['mean', 'add', 'max', 'min'].includes(fill as string)) return;
  const got = typeof fill === 'string' ? `'${fill}'` : String(fill);
  throw new Error(`${what} must be 'mean', 'add', 'max', 'min' or a finite number, got ${got}`);
}

const kindOf = (fill: FillValue): FillKind => (typeof fill === 'number' ? 'value' : fill);

function expectInputs(op: string, g: GraphTensors, fill: FillValue): void {
  expectGraph(op, g);
  expectTensor(op, 'graph edgeId', g.edgeId, 'i32', [g.numEdges]);
  checkFillValue(`${op}: fill`, fill);
}

/**
 * out[p, :] = edgeAttr[edgeId[p], :] for each CSR position p of a real edge, and the fill for each added self loop.
 * edgeAttr: f32 [graph.numInputEdges, D] in edge_index order; out: f32 [graph.numEdges, D] (pooled when absent).
 */
export function csrEdgeAttr(gpu: Gpu, g: GraphTensors, edgeAttr: Tensor, fill: FillValue, out?: Tensor): Tensor {
  const op = 'csrEdgeAttr';
  expectInputs(op, g, fill);
  expectTensor(op, 'edgeAttr', edgeAttr, 'f32', [g.numInputEdges, -1]);
  const D = edgeAttr.shape[1]!;
  const result = outputFor(gpu, op, 'out', [g.numEdges, D], out);
  expectNoAlias(op, ['out', result], { edgeAttr });
  const k = K.forward[kindOf(fill)];
  const threads = g.numNodes * D;
  gpu.dispatch(k, {
    bindings: { row_ptr: g.rowPtr, edge_id: g.edgeId, attr_in: edgeAttr, out: result },
    uniforms: { nodes: g.numNodes, width: D, value: typeof fill === 'number' ? fill : 0 },
    workgroups: groups(threads, k.workgroupSize),
    cost: { bytes: 4 * (g.numNodes + 2 * g.numEdges + 2 * g.numEdges * D), flops: g.numEdges * D },
  });
  return result;
}

/**
 * Backward of csrEdgeAttr: d edgeAttr [numInputEdges, D] from d out [numEdges, D]. A real edge gets its own
 * position's gradient plus its share of its destination's self-loop gradient (mean: 1 / count of it; add: all;
 * max / min: all of it to the first extreme in CSR order, column by column; a number: none). Edges the graph left
 * out (self loops removed before the new ones were added) get 0. edgeAttr (the forward's input) is read for
 * 'max' and 'min' only.
 */
export function csrEdgeAttrBackward(
  gpu: Gpu,
  g: GraphTensors,
  dout: Tensor,
  fill: FillValue,
  opts: { edgeAttr?: Tensor; dEdgeAttr?: Tensor } = {},
): Tensor {
  const op = 'csrEdgeAttrBackward';
  expectInputs(op, g, fill);
  expectTensor(op, 'dout', dout, 'f32', [g.numEdges, -1]);
  const D = dout.shape[1]!;
  const extreme = fill === 'max' || fill === 'min';
  if (extreme && !opts.edgeAttr) throw new Error(`${op}: fill '${fill}' needs the forward's edgeAttr`);
  if (opts.edgeAttr) expectTensor(op, 'edgeAttr', opts.edgeAttr, 'f32', [g.numInputEdges, D]);
  const dEdgeAttr = outputFor(gpu, op, 'dEdgeAttr', [g.numInputEdges, D], opts.dEdgeAttr);
  const attr = extreme ? opts.edgeAttr! : gpu.unread('f32');
  expectNoAlias(op, ['dEdgeAttr', dEdgeAttr], { dout, edgeAttr: attr });
  fillTensor(gpu, dEdgeAttr, 0); // removed self loops are in no CSR position
  const k = K.backward[kindOf(fill)];
  gpu.dispatch(k, {
    bindings: { row_ptr: g.rowPtr, edge_id: g.edgeId, attr_in: attr, grad_in: dout, out: dEdgeAttr },
    uniforms: { nodes: g.numNodes, width: D, value: 0 },
    workgroups: groups(g.numNodes * D, k.workgroupSize),
    cost: { bytes: 4 * (g.numNodes + 2 * g.numEdges + (extreme ? 3 : 2) * g.numEdges * D), flops: g.numEdges * D },
  });
  return dEdgeAttr;
}
