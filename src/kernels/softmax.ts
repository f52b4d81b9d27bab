// Softmax over each destination's incoming edges (shaders/softmax.wgsl), per head, and its backward.
import inEdges from '../../shaders/in-edges.wgsl';
import code from '../../shaders/softmax.wgsl';
import type { Gpu } from '../gpu/gpu.ts';
import { groups, kernel } from '../gpu/kernel.ts';
import type { Tensor } from '../gpu/tensor.ts';
import type { GraphTensors } from '../graph.ts';
import { expectGraph, expectNoAlias, expectPositiveInt, expectTensor, outputFor } from './check.ts';

const K = {
  forward: kernel({ name: 'softmax.segment_softmax', code, preludes: [inEdges], entryPoint: 'segment_softmax' }),
  backward: kernel({
    name: 'softmax.segment_softmax_backward',
    code,
    preludes: [inEdges],
    entryPoint: 'segment_softmax_backward',
  }),
};

function expectEdgeValues(op: string, g: GraphTensors, heads: number, named: Record<string, Tensor>): void {
  expectGraph(op, g);
  expectPositiveInt(op, 'heads', heads);
  for (const [what, t] of Object.entries(named)) expectTensor(op, what, t, 'f32', [g.numEdges, heads]);
}

/** alpha[k,h] = exp(e[k,h] - m[dst_k,h]) / sum_{k' into dst_k} exp(e[k',h] - m[dst_k,h]), m the segment max. */
export function segmentSoftmax(gpu: Gpu, g: GraphTensors, e: Tensor, heads: number, out?: Tensor): Tensor {
  const op = 'segmentSoftmax';
  expectEdgeValues(op, g, heads, { e });
  out = outputFor(gpu, op, 'out', [g.numEdges, heads], out);
  expectNoAlias(op, ['out', out], { e });
  const N = g.numNodes,
    EH = g.numEdges * heads;
  gpu.dispatch(K.forward, {
    bindings: { row_ptr: g.rowPtr, x_in: e, out },
    uniforms: { nodes: N, heads },
    workgroups: groups(N * heads, K.forward.workgroupSize),
    cost: { bytes: 4 * (N + 1 + 3 * EH), flops: 6 * EH },
  });
  return out;
}

/** ds[k,h] = alpha[k,h] * (dalpha[k,h] - sum_{k' into dst_k} alpha[k',h] * dalpha[k',h]) */
export function segmentSoftmaxBackward(
  gpu: Gpu,
  g: GraphTensors,
  alpha: Tensor,
  dalpha: Tensor,
  heads: number,
  out?: Tensor,
): Tensor {
  const op = 'segmentSoftmaxBackward';
  expectEdgeValues(op, g, heads, { alpha, dalpha });
  out = outputFor(gpu, op, 'out', [g.numEdges, heads], out);
  expectNoAlias(op, ['out', out], { alpha, dalpha });
  const N = g.numNodes,
    EH = g.numEdges * heads;
  gpu.dispatch(K.backward, {
    bindings: { row_ptr: g.rowPtr, x_in: alpha, y_in: dalpha, out },
    uniforms: { nodes: N, heads },
    workgroups: groups(N * heads, K.backward.workgroupSize),
    cost: { bytes: 4 * (N + 1 + 5 * EH), flops: 4 * EH },
  });
  return out;
}
