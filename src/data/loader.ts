/**
 * Batches of graphs formed on the GPU, PyG's `DataLoader` for graph-level datasets.
 *
 * `GpuGraphDataset.upload` puts every graph's node features, edge features and label on the GPU once, graph after
 * graph, so each graph is one contiguous range of rows. A `DataLoader` then forms each batch (PyG's `Batch`: the
 * graphs' nodes concatenated into one block-diagonal graph) without uploading features again:
 *
 * - features, edge features and labels are copied on the GPU (copyBufferToBuffer) from the dataset's ranges into
 *   the loader's batch buffers, one copy per run of consecutive graphs (at most batchSize copies per array). This
 *   was chosen over a gather-rows kernel because it is exact by construction and needs no kernel, uniforms or bind
 *   groups that depend on the batch's size; for batches of tens of graphs the copies are few (about 3 x 32 commands
 *   per step when shuffled, 3 when not). A batch of thousands of tiny graphs would be better served by one gather
 *   dispatch.
 * - only the integer structure is written per step: the batch's CSR (with and/or without self loops, as the
 *   layers' `LayerGraphs.get(addSelfLoops)` asks), the `batch` vector and `ptr`. It is assembled on the host from
 *   each graph's own CSR, computed once (block-diagonal: the batch's CSR is the graphs' CSRs laid end to end, equal
 *   to `buildGraph` of the batch's edge_index), so no per-step sort.
 *
 * All batch buffers are allocated when the loader is made, sized for its largest possible batch (the batchSize
 * graphs with the most nodes, and those with the most edges), so no buffer is created after that. A batch's tensors
 * are views of these buffers: valid until the next batch is formed. Forming a batch records copies and queues
 * writes, never submits by itself when called before the step's dispatches (gpu.writeBuffer flushes only work
 * already recorded), so a training step stays one submit: form the batch, record forward, backward and optimizer,
 * then `gpu.flush()`.
 */
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { buildGraph, type Graph, type GraphTensors } from '../graph.ts';
import type { LayerGraphs } from '../nn/conv.ts';
import { hash32 } from '../nn/seeds.ts';
import { checkGraph, type GraphSample } from './batch.ts';
import { generator, shuffleInPlace } from './folds.ts';

/** What `GpuGraphDataset.upload` takes: the graphs and their widths (a TUDataset fits). */
export interface GraphDatasetLike {
  graphs: readonly GraphSample[];
  numFeatures: number;
  numEdgeFeatures: number;
  /** When given, every y must be in 0..numClasses-1. */
  numClasses?: number;
}

/** A graph-level dataset on the GPU: all node features, edge features and labels, uploaded once. */
export class GpuGraphDataset {
  readonly numGraphs: number;
  readonly numFeatures: number;
  readonly numEdgeFeatures: number;
  readonly numClasses: number | undefined;
  /** [total nodes, numFeatures], graph after graph. */
  readonly x: Tensor;
  /** [total edges, numEdgeFeatures], graph after graph; null when the graphs have no edge features. */
  readonly edgeAttr: Tensor | null;
  /** i32 [numGraphs] */
  readonly y: Tensor;
  /** First node / first edge of each graph in x / edgeAttr, then the totals. */
  readonly nodePtr: Int32Array;
  readonly edgePtr: Int32Array;
  readonly graphs: readonly GraphSample[];
  private local = new Map<boolean, Graph[]>();

  private constructor(
    readonly gpu: Gpu,
    d: GraphDatasetLike,
  ) {
    const G = d.graphs.length;
    const F = d.numFeatures;
    const D = d.numEdgeFeatures;
    if (G === 0) throw new Error('A graph dataset needs at least one graph');
    for (const [name, v] of [
      ['numFeatures', F],
      ['numEdgeFeatures', D],
    ] as const) {
      if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer, got ${v}`);
    }
    const nodePtr = new Int32Array(G + 1);
    const edgePtr = new Int32Array(G + 1);
    d.graphs.forEach((g, i) => {
      checkGraph(g, i);
      if (g.x.length !== g.numNodes * F)
        throw new Error(`graph ${i}: x has ${g.x.length} values, expected ${g.numNodes} x ${F} features`);
      const bad = g.x.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0)
        throw new Error(`graph ${i}: x holds ${g.x[bad]} at node ${Math.floor(bad / F)}, feature ${bad % F}`);
      if (D > 0) {
        if (g.edgeAttr?.length !== g.numEdges * D) {
          throw new Error(
            `graph ${i}: edgeAttr has ${g.edgeAttr?.length ?? 'no'} values, expected ${g.numEdges} x ${D}`,
          );
        }
        const badE = g.edgeAttr.findIndex((v) => !Number.isFinite(v));
        if (badE >= 0)
          throw new Error(`graph ${i}: edgeAttr holds ${g.edgeAttr[badE]} at edge ${Math.floor(badE / D)}`);
      }
      if (d.numClasses !== undefined && !(g.y >= 0 && g.y < d.numClasses)) {
        throw new Error(`graph ${i}: y ${g.y} is outside 0..${d.numClasses - 1}`);
      }
      nodePtr[i + 1] = nodePtr[i]! + g.numNodes;
      edgePtr[i + 1] = edgePtr[i]! + g.numEdges;
    });
    const x = new Float32Array(nodePtr[G]! * F);
    const edgeAttr = D > 0 ? new Float32Array(edgePtr[G]! * D) : null;
    d.graphs.forEach((g, i) => {
      x.set(g.x, nodePtr[i]! * F);
      edgeAttr?.set(g.edgeAttr!, edgePtr[i]! * D);
    });
    this.numGraphs = G;
    this.numFeatures = F;
    this.numEdgeFeatures = D;
    this.numClasses = d.numClasses;
    this.nodePtr = nodePtr;
    this.edgePtr = edgePtr;
    this.graphs = d.graphs;
    const y = Int32Array.from(d.graphs, (g) => g.y);
    this.x = gpu.tensor('f32', [nodePtr[G]!, F], x);
    try {
      this.edgeAttr = edgeAttr ? gpu.tensor('f32', [edgePtr[G]!, D], edgeAttr) : null;
    } catch (err) {
      this.x.dispose();
      throw err;
    }
    try {
      this.y = gpu.tensor('i32', [G], y);
    } catch (err) {
      this.x.dispose();
      this.edgeAttr?.dispose();
      throw err;
    }
  }

  /** Validates the graphs, then uploads their features, edge features and labels. */
  static upload(gpu: Gpu, d: GraphDatasetLike): GpuGraphDataset {
    return new GpuGraphDataset(gpu, d);
  }

  /** Graph g's own CSR (local ids), with or without self loops; computed once. */
  localGraph(g: number, addSelfLoops: boolean): Graph {
    let list = this.local.get(addSelfLoops);
    if (!list) this.local.set(addSelfLoops, (list = []));
    const gs = this.graphs[g]!;
    return (list[g] ??= buildGraph(gs.edgeIndex, gs.numNodes, { addSelfLoops }));
  }

  dispose(): void {
    this.x.dispose();
    this.edgeAttr?.dispose();
    this.y.dispose();
  }
}

export interface DataLoaderOptions {
  /** Graphs per batch (default 1, as PyG). */
  batchSize?: number;
  /** A new seeded order every epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Seed of the shuffle (default 0): the same seed gives the same order, epoch by epoch. */
  seed?: number;
  /** Drop the last batch when it is smaller than batchSize (default false: it is kept). */
  dropLast?: boolean;
  /** The graphs this loader serves (a fold's train or test indices); default all, in order. */
  indices?: ArrayLike<number>;
  /** Which CSR variants each batch prepares: with self loops (GATConv's default), without. Default both. */
  selfLoops?: readonly boolean[];
}

/** One batch on the GPU. Its tensors are views of the loader's buffers: valid until the loader forms the next. */
export interface GpuBatch {
  numGraphs: number;
  numNodes: number;
  numEdges: number;
  /** Dataset index of each graph of the batch, in batch order. */
  indices: Int32Array;
  /** f32 [numNodes, numFeatures] */
  x: Tensor;
  /** f32 [numEdges, numEdgeFeatures] in edgeIndex order, or null. */
  edgeAttr: Tensor | null;
  /** i32 [numGraphs] */
  y: Tensor;
  /** u32 [numNodes]: the graph of each node (non-decreasing). */
  batch: Tensor;
  /** u32 [numGraphs + 1]: first node of each graph, then numNodes. */
  ptr: Tensor;
  /** The batch's CSR for the layers. */
  graphs: BatchGraphs;
  /** Host copies of the structure. */
  host: { batch: Int32Array; ptr: Int32Array; edgePtr: Int32Array; edgeIndex: Int32Array };
}

/** The CSR variants of one batch, as the layers ask for them (`LayerGraphs`). */
export class BatchGraphs implements LayerGraphs {
  constructor(
    readonly numNodes: number,
    private readonly tensors: Map<boolean, GraphTensors>,
    private readonly hosts: Map<boolean, Graph>,
    /** False once the loader has formed a later batch into the same buffers. */
    private readonly isCurrent: () => boolean,
  ) {}

  get(addSelfLoops: boolean): GraphTensors {
    this.checkCurrent();
    const t = this.tensors.get(addSelfLoops);
    if (!t)
      throw new Error(
        `This loader prepares no graph ${addSelfLoops ? 'with' : 'without'} self loops (option selfLoops)`,
      );
    return t;
  }

  hostGraph(addSelfLoops: boolean): Graph {
    this.get(addSelfLoops);
    return this.hosts.get(addSelfLoops)!;
  }

  /** i32 [edges of the variant]: the batch edge (edgeIndex column) of each CSR position, -1 for a self loop. */
  edgeId(addSelfLoops: boolean): Tensor {
    return this.get(addSelfLoops).edgeId;
  }

  private checkCurrent(): void {
    if (!this.isCurrent()) {
      throw new Error('Use of a batch after the loader formed the next one (a batch is valid until then)');
    }
  }
}

interface VariantBuffers {
  rowPtr: Tensor;
  src: Tensor;
  dst: Tensor;
  colPtr: Tensor;
  perm: Tensor;
  edgeId: Tensor;
}

/**
 * Iterates over a GPU-resident graph dataset in batches, one epoch per `for ... of` (PyG's DataLoader).
 *
 *   const data = GpuGraphDataset.upload(gpu, await loadTUDataset('MUTAG'));
 *   const loader = new DataLoader(data, { batchSize: 32, shuffle: true, seed: 0, indices: fold.train });
 *   for (let epoch = 0; epoch < 100; epoch++) {
 *     for (const batch of loader) { ...forward(batch.x, batch.graphs), pool with batch.ptr, loss on batch.y...;
 *       gpu.flush(); }
 *   }
 */
export class DataLoader implements Iterable<GpuBatch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** The graphs served, in dataset order before shuffling. */
  readonly indices: Int32Array;
  /** The most nodes and edges (without self loops) a batch of this loader can have. */
  readonly maxNodes: number;
  readonly maxEdges: number;
  /** Epochs started so far; the next `for ... of` runs epoch `epochs`. */
  epochs = 0;

  private readonly selfLoops: readonly boolean[];
  private readonly x: Tensor;
  private readonly edgeAttr: Tensor | null;
  private readonly y: Tensor;
  private readonly batchVec: Tensor;
  private readonly ptr: Tensor;
  private readonly variants = new Map<boolean, VariantBuffers>();
  private disposed = false;
  /** Batches formed so far; a batch's graphs check that they are still the latest. */
  private formed = 0;

  constructor(
    readonly data: GpuGraphDataset,
    opts: DataLoaderOptions = {},
  ) {
    this.batchSize = opts.batchSize ?? 1;
    this.shuffle = opts.shuffle ?? false;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    this.selfLoops = [...new Set(opts.selfLoops ?? [true, false])];
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1)
      throw new Error(`batchSize must be a positive integer, got ${opts.batchSize}`);
    if (!Number.isInteger(this.seed)) throw new Error(`seed must be an integer, got ${opts.seed}`);
    if (this.selfLoops.length === 0) throw new Error('selfLoops must name at least one variant (true, false)');
    this.indices = checkIndices(opts.indices, data.numGraphs);

    // Capacity: the batchSize largest graphs by nodes, and by edges.
    const top = (sizes: number[]) =>
      sizes
        .sort((a, b) => b - a)
        .slice(0, this.batchSize)
        .reduce((s, v) => s + v, 0);
    const graphs = data.graphs;
    this.maxNodes = top(Array.from(this.indices, (g) => graphs[g]!.numNodes));
    this.maxEdges = top(Array.from(this.indices, (g) => graphs[g]!.numEdges));
    const maxLoopEdges = this.maxEdges + this.maxNodes;
    const perEdgeLimit = data.gpu.maxBindingSize / 4 / 8; // per-edge [E, heads] values must fit one binding (8 heads)
    if (maxLoopEdges > perEdgeLimit) {
      throw new Error(
        `A batch of up to ${maxLoopEdges} edges is beyond this device's limits (at most about ` +
          `${Math.floor(perEdgeLimit)} edges with 8 heads): use a smaller batchSize`,
      );
    }

    // Every buffer now; if one is refused (device limits), those made before it go back to the pool.
    const made: Tensor[] = [];
    const empty = (dtype: 'f32' | 'u32' | 'i32', size: number) => {
      const t = data.gpu.empty(dtype, [size]);
      made.push(t);
      return t;
    };
    try {
      this.x = empty('f32', this.maxNodes * data.numFeatures);
      this.edgeAttr = data.edgeAttr ? empty('f32', this.maxEdges * data.numEdgeFeatures) : null;
      this.y = empty('i32', this.batchSize);
      this.batchVec = empty('u32', this.maxNodes);
      this.ptr = empty('u32', this.batchSize + 1);
      for (const loops of this.selfLoops) {
        const e = loops ? maxLoopEdges : this.maxEdges;
        this.variants.set(loops, {
          rowPtr: empty('u32', this.maxNodes + 1),
          src: empty('u32', e),
          dst: empty('u32', e),
          colPtr: empty('u32', this.maxNodes + 1),
          perm: empty('u32', e),
          edgeId: empty('i32', e),
        });
      }
    } catch (err) {
      for (const t of made) t.dispose();
      throw err;
    }
  }

  /** Number of batches per epoch. */
  get numBatches(): number {
    const n = this.indices.length;
    return this.dropLast ? Math.floor(n / this.batchSize) : Math.ceil(n / this.batchSize);
  }

  /** The order of the graphs (dataset indices) in epoch `epoch`: seeded by (seed, epoch) when shuffling. */
  order(epoch: number): Int32Array {
    const order = Int32Array.from(this.indices);
    if (this.shuffle) shuffleInPlace(order, generator(hash32(this.seed) ^ hash32(0x9e3779b9 + epoch)));
    return order;
  }

  /** One epoch: the batches in this epoch's order, each formed when it is reached. */
  *[Symbol.iterator](): Iterator<GpuBatch> {
    const order = this.order(this.epochs++);
    for (let b = 0; b < this.numBatches; b++)
      yield this.form(order.subarray(b * this.batchSize, (b + 1) * this.batchSize));
  }

  /** Forms the batch of the given graphs (dataset indices, at most batchSize) on the GPU. */
  form(indices: ArrayLike<number>): GpuBatch {
    if (this.disposed) throw new Error('Use of a disposed DataLoader');
    const ids = Int32Array.from(indices);
    const B = ids.length;
    if (B < 1 || B > this.batchSize) throw new Error(`A batch holds 1..${this.batchSize} graphs, got ${B}`);
    const data = this.data;
    const graphs = data.graphs;
    for (const g of ids)
      if (!(g >= 0 && g < data.numGraphs)) throw new Error(`graph index ${g} is outside 0..${data.numGraphs - 1}`);

    // Host structure: ptr, batch vector, edge_index, and every CSR variant laid end to end.
    const ptr = new Int32Array(B + 1);
    const edgePtr = new Int32Array(B + 1);
    ids.forEach((g, i) => {
      ptr[i + 1] = ptr[i]! + graphs[g]!.numNodes;
      edgePtr[i + 1] = edgePtr[i]! + graphs[g]!.numEdges;
    });
    const N = ptr[B]!;
    const E = edgePtr[B]!;
    if (N > this.maxNodes || E > this.maxEdges) {
      throw new Error(
        `A batch of ${N} nodes and ${E} edges is beyond this loader's buffers (${this.maxNodes}, ${this.maxEdges}): ` +
          'form batches of the graphs it was made for',
      );
    }
    const batch = new Int32Array(N);
    const edgeIndex = new Int32Array(2 * E);
    ids.forEach((g, i) => {
      const gs = graphs[g]!;
      batch.fill(i, ptr[i]!, ptr[i + 1]!);
      for (let k = 0; k < gs.numEdges; k++) {
        edgeIndex[edgePtr[i]! + k] = gs.edgeIndex[k]! + ptr[i]!;
        edgeIndex[E + edgePtr[i]! + k] = gs.edgeIndex[gs.numEdges + k]! + ptr[i]!;
      }
    });
    const hosts = new Map<boolean, Graph>();
    for (const loops of this.selfLoops) hosts.set(loops, this.concatGraphs(ids, loops, ptr, edgePtr));

    const serial = ++this.formed;
    // Uploads of the structure first (queued writes), then the GPU copies (recorded).
    this.batchVec.view(0, [N]).write(new Uint32Array(batch.buffer));
    this.ptr.view(0, [B + 1]).write(new Uint32Array(ptr.buffer));
    const tensors = new Map<boolean, GraphTensors>();
    for (const [loops, buf] of this.variants) {
      const h = hosts.get(loops)!;
      const e = h.numEdges;
      const t = {
        rowPtr: buf.rowPtr.view(0, [N + 1]).write(h.rowPtr),
        src: buf.src.view(0, [e]).write(h.src),
        dst: buf.dst.view(0, [e]).write(h.dst),
        colPtr: buf.colPtr.view(0, [N + 1]).write(h.colPtr),
        perm: buf.perm.view(0, [e]).write(h.perm),
        edgeId: buf.edgeId.view(0, [e]).write(h.edgeId),
      };
      tensors.set(loops, { numNodes: N, numEdges: e, numInputEdges: E, ...t, dispose: () => {} });
    }
    const F = data.numFeatures;
    const D = data.numEdgeFeatures;
    this.copyRuns(
      ids,
      data.x,
      this.x,
      (g) => data.nodePtr[g]! * F,
      (g) => graphs[g]!.numNodes * F,
    );
    if (this.edgeAttr)
      this.copyRuns(
        ids,
        data.edgeAttr!,
        this.edgeAttr,
        (g) => data.edgePtr[g]! * D,
        (g) => graphs[g]!.numEdges * D,
      );
    this.copyRuns(
      ids,
      data.y,
      this.y,
      (g) => g,
      () => 1,
    );

    return {
      numGraphs: B,
      numNodes: N,
      numEdges: E,
      indices: ids,
      x: this.x.view(0, [N, F]),
      edgeAttr: this.edgeAttr ? this.edgeAttr.view(0, [E, D]) : null,
      y: this.y.view(0, [B]),
      batch: this.batchVec.view(0, [N]),
      ptr: this.ptr.view(0, [B + 1]),
      graphs: new BatchGraphs(N, tensors, hosts, () => this.formed === serial && !this.disposed),
      host: { batch, ptr, edgePtr, edgeIndex },
    };
  }

  /** The loader's batch buffers back to the pool (the dataset stays). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const t of [this.x, this.edgeAttr, this.y, this.batchVec, this.ptr]) t?.dispose();
    for (const v of this.variants.values()) for (const t of Object.values(v)) (t as Tensor).dispose();
  }

  /** The batch's CSR: each graph's own CSR shifted by the nodes and edges before it (block-diagonal). */
  private concatGraphs(ids: Int32Array, loops: boolean, ptr: Int32Array, edgePtr: Int32Array): Graph {
    const locals = Array.from(ids, (g) => this.data.localGraph(g, loops));
    const N = ptr[ptr.length - 1]!;
    const E = locals.reduce((s, l) => s + l.numEdges, 0);
    const rowPtr = new Uint32Array(N + 1);
    const colPtr = new Uint32Array(N + 1);
    const src = new Uint32Array(E);
    const dst = new Uint32Array(E);
    const perm = new Uint32Array(E);
    const edgeId = new Int32Array(E);
    let e0 = 0;
    locals.forEach((l, i) => {
      const n0 = ptr[i]!;
      for (let v = 0; v < l.numNodes; v++) {
        rowPtr[n0 + v] = e0 + l.rowPtr[v]!;
        colPtr[n0 + v] = e0 + l.colPtr[v]!;
      }
      for (let p = 0; p < l.numEdges; p++) {
        src[e0 + p] = n0 + l.src[p]!;
        dst[e0 + p] = n0 + l.dst[p]!;
        perm[e0 + p] = e0 + l.perm[p]!;
        edgeId[e0 + p] = l.edgeId[p]! < 0 ? -1 : edgePtr[i]! + l.edgeId[p]!;
      }
      e0 += l.numEdges;
    });
    rowPtr[N] = E;
    colPtr[N] = E;
    return { numNodes: N, numEdges: E, rowPtr, src, dst, colPtr, perm, edgeId, numInputEdges: edgePtr[ids.length]! };
  }

  /** Copies each graph's range of `from` into `to`, one copy per run of graphs consecutive in the dataset. */
  private copyRuns(
    ids: Int32Array,
    from: Tensor,
    to: Tensor,
    start: (g: number) => number,
    size: (g: number) => number,
  ): void {
    let dst = 0;
    for (let i = 0; i < ids.length; ) {
      let j = i + 1;
      while (j < ids.length && ids[j] === ids[j - 1]! + 1) j++;
      let count = 0;
      for (let k = i; k < j; k++) count += size(ids[k]!);
      this.data.gpu.copy(from, to, dst, start(ids[i]!), count);
      dst += count;
      i = j;
    }
  }
}

function checkIndices(indices: ArrayLike<number> | undefined, numGraphs: number): Int32Array {
  if (indices === undefined) return Int32Array.from({ length: numGraphs }, (_, i) => i);
  const seen = new Uint8Array(numGraphs);
  const out = new Int32Array(indices.length);
  for (let k = 0; k < indices.length; k++) {
    const g = indices[k]!;
    if (!Number.isInteger(g) || g < 0 || g >= numGraphs)
      throw new Error(`indices[${k}] = ${g} is not a graph index 0..${numGraphs - 1}`);
    if (seen[g]) throw new Error(`indices[${k}] = ${g} appears twice`);
    seen[g] = 1;
    out[k] = g;
  }
  if (out.length === 0) throw new Error('indices is empty: a loader needs at least one graph');
  return out;
}
