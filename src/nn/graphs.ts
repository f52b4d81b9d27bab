// The graphs a model's layers run on, built from one edge_index: with self loops added (PyG's default for
// GATConv/GATv2Conv) and as given. Each is built and uploaded once, on first use.
import type { Gpu } from '../gpu/gpu.ts';
import { buildGraph, splitEdgeIndex, uploadGraph, type EdgeIndex, type Graph, type GraphTensors } from '../graph.ts';
import type { LayerGraphs } from './conv.ts';

export class GraphSet implements LayerGraphs {
  private host = new Map<boolean, Graph>();
  private gpuGraphs = new Map<boolean, GraphTensors>();
  private readonly edges: [ArrayLike<number>, ArrayLike<number>];

  constructor(
    private readonly gpu: Gpu,
    edgeIndex: EdgeIndex,
    readonly numNodes: number,
  ) {
    const { src, dst } = splitEdgeIndex(edgeIndex, numNodes); // validates once, with clear errors
    this.edges = [src, dst];
    const maxEdges = gpu.maxBindingSize / 4 / 8; // per-edge [E, heads] values must fit one binding (8 heads)
    if (src.length + numNodes > maxEdges) {
      throw new Error(
        `A graph of ${src.length} edges is beyond this device's limits (at most about ${Math.floor(maxEdges)} edges ` +
          `with 8 heads)`,
      );
    }
  }

  /** The host-side structure (CSR order, edge ids) of one of the graphs. */
  hostGraph(addSelfLoops: boolean): Graph {
    let g = this.host.get(addSelfLoops);
    if (!g) this.host.set(addSelfLoops, (g = buildGraph(this.edges, this.numNodes, { addSelfLoops })));
    return g;
  }

  get(addSelfLoops: boolean): GraphTensors {
    let t = this.gpuGraphs.get(addSelfLoops);
    if (!t) this.gpuGraphs.set(addSelfLoops, (t = uploadGraph(this.gpu, this.hostGraph(addSelfLoops))));
    return t;
  }

  dispose(): void {
    for (const t of this.gpuGraphs.values()) t.dispose();
    this.gpuGraphs.clear();
  }
}
