// State dicts saved by PyTorch load here under the same names and shapes and give the same outputs.
//
// The fixtures in tests/fixtures/torch/ (see its README; written by make_fixtures.py with PyG's semantics) hold, per
// layer or model, the state dict as safetensors.torch.save_model writes it, the inputs, the expected output and the
// names and shapes model.state_dict() gives. Each test builds the same architecture here, compares its state-dict
// names and shapes with PyTorch's, loads the PyTorch weights and compares the outputs (max abs error < 1e-4) and,
// for single attention layers, the attention weights.
//
// The layers and models are built through the module API (Module, Sequential, Linear, GCNConv, ...). Its parts are
// read from the index at run time, so that a part that is not there yet reports a skip instead of failing the
// typecheck. The edge-feature cases (GATv2Conv and GATConv with edge_dim) pass edge_attr third, as PyG's forward.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Gpu } from '../../src/gpu/gpu.ts';
import { decodeSafetensors, type SafeTensor } from '../../src/io/safetensors.ts';

// biome-ignore lint/suspicious/noExplicitAny: fixture JSON of several layouts, checked field by field where read
type Any = any;
const lib = (await import('../../src/index.ts')) as Record<string, Any>;

const TOLERANCE = 1e-4;
const dir = new URL('../fixtures/torch/', import.meta.url);

// ---------------------------------------------------------------------------------------------------------------
// Fixtures

/** A layer's arguments as PyTorch names them (snake_case), from the fixture's JSON. */
interface LayerArch {
  kind: string;
  in_channels?: number;
  out_channels?: number;
  heads?: number;
  concat?: boolean;
  negative_slope?: number;
  add_self_loops?: boolean;
  bias?: boolean;
  share_weights?: boolean;
  residual?: boolean;
  edge_dim?: number;
}

interface FixtureMeta {
  description: string;
  architecture: LayerArch & { fields?: Record<string, LayerArch> };
  /** [name, shape] in model.state_dict() order. */
  state_dict: [string, number[]][];
  /** Names that save_model leaves out of the file (they share storage with a name it keeps). */
  saved_without: string[];
  num_nodes: number;
  edge_features: boolean;
}

interface Fixture {
  name: string;
  meta: FixtureMeta;
  /** The tensors of <name>.safetensors, as PyTorch saved them. */
  state: Record<string, SafeTensor>;
  numNodes: number;
  x: Float32Array;
  numFeatures: number;
  /** [2, E]: sources, then destinations. */
  edgeIndex: Int32Array;
  edgeAttr: Float32Array | null;
  out: Float32Array;
  outShape: number[];
  /** Single attention layers: the attended edges [2, E'] and their attention weights [E', H]. */
  alpha: { edgeIndex: Int32Array; values: Float32Array; heads: number } | null;
}

/** A PyTorch-layout tensor of a state dict. */
interface NamedArray {
  shape: number[];
  data: Float32Array;
}

function readSafetensors(file: string): Record<string, SafeTensor> {
  return decodeSafetensors(new Uint8Array(readFileSync(new URL(file, dir)))).tensors;
}

function f32(t: SafeTensor | undefined, what: string): Float32Array {
  assert.ok(t, `${what} is missing`);
  assert.equal(t.dtype, 'F32', `${what} dtype`);
  return t.data as Float32Array;
}

/** edge_index is int64 in PyTorch; every index here fits an i32. */
function i32(t: SafeTensor | undefined, what: string): Int32Array {
  assert.ok(t, `${what} is missing`);
  assert.equal(t.dtype, 'I64', `${what} dtype`);
  return Int32Array.from(t.data as BigInt64Array, (v) => Number(v));
}

function loadFixture(name: string): Fixture {
  const meta = JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) as FixtureMeta;
  const io = readSafetensors(`${name}.io.safetensors`);
  const alpha = io.alpha
    ? {
        edgeIndex: i32(io.alpha_edge_index, 'alpha_edge_index'),
        values: f32(io.alpha, 'alpha'),
        heads: io.alpha.shape[1]!,
      }
    : null;
  return {
    name,
    meta,
    state: readSafetensors(`${name}.safetensors`),
    numNodes: meta.num_nodes,
    x: f32(io.x, 'x'),
    numFeatures: io.x!.shape[1]!,
    edgeIndex: i32(io.edge_index, 'edge_index'),
    edgeAttr: io.edge_attr ? f32(io.edge_attr, 'edge_attr') : null,
    out: f32(io.out, 'out'),
    outShape: io.out!.shape,
    alpha,
  };
}

const LAYER_FIXTURES = [
  'gatv2_layer',
  'gatv2_layer_mean_residual_shared',
  'gatv2_layer_no_loops_no_bias',
  'gat_layer_residual',
  'gat_layer_mean_no_loops',
];
const EDGE_FIXTURES = ['gatv2_layer_edge', 'gat_layer_edge'];
const PAPER_FIXTURES = ['paper_gatv2', 'paper_gat_residual'];
const MODEL_FIXTURES = ['paper_sequential', 'gatv2_sequential', 'gcn_sequential', 'skip_jk_net'];
const ALL_FIXTURES = [...LAYER_FIXTURES, 'gcn_layer', ...EDGE_FIXTURES, ...PAPER_FIXTURES, ...MODEL_FIXTURES];

// ---------------------------------------------------------------------------------------------------------------
// Comparisons

/** Names and shapes, sorted by name (safetensors files are sorted; the order is not part of the format). */
function namesAndShapes(entries: Iterable<[string, { shape: readonly number[] }]>): [string, number[]][] {
  const list = [...entries].map(([k, v]): [string, number[]] => [k, [...v.shape]]);
  return list.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function assertSameNames(label: string, ours: [string, number[]][], fixture: Fixture): void {
  const theirs = namesAndShapes(fixture.meta.state_dict.map(([k, shape]) => [k, { shape }]));
  assert.deepEqual(ours, theirs, `${label}: state-dict names and shapes differ from PyTorch's`);
}

/** Every element finite and within TOLERANCE of PyTorch's (absolute). */
function assertOutputsMatch(label: string, got: ArrayLike<number>, want: Float32Array): void {
  assert.equal(got.length, want.length, `${label}: ${got.length} values, expected ${want.length}`);
  let worst = 0,
    at = -1;
  for (let i = 0; i < want.length; i++) {
    const g = got[i]!;
    assert.ok(Number.isFinite(g), `${label}: element ${i} is ${g} (expected ${want[i]})`);
    const err = Math.abs(g - want[i]!);
    if (err > worst) (worst = err), (at = i);
  }
  assert.ok(
    worst < TOLERANCE,
    `${label}: max abs error ${worst.toExponential(3)} at element ${at} (got ${got[at]}, expected ${want[at]})`,
  );
}

/**
 * The layer's attention weights against PyTorch's, edge by edge. Both list the attended edges in their own order,
 * so edges are matched by (source, destination). Copies of a duplicated edge are matched in order: both keep them
 * in edge_index order (they differ in their edge attributes, so in their weights, in the edge-feature cases).
 */
function assertAttentionMatches(
  label: string,
  got: { edgeIndex: Int32Array; alpha: Float32Array; heads: number },
  fixture: Fixture,
): void {
  const want = fixture.alpha!;
  const H = want.heads;
  assert.equal(got.heads, H, `${label}: heads`);
  const byEdge = new Map<string, Float32Array[]>();
  const E = want.edgeIndex.length / 2;
  for (let k = 0; k < E; k++) {
    const key = `${want.edgeIndex[k]}->${want.edgeIndex[E + k]}`;
    byEdge.set(key, [...(byEdge.get(key) ?? []), want.values.slice(k * H, (k + 1) * H)]);
  }
  const E2 = got.edgeIndex.length / 2;
  assert.equal(E2, E, `${label}: the layer attended ${E2} edges, PyTorch ${E}`);
  const gotAlpha = new Float32Array(E2 * H),
    wantAlpha = new Float32Array(E2 * H);
  for (let k = 0; k < E2; k++) {
    const key = `${got.edgeIndex[k]}->${got.edgeIndex[E2 + k]}`;
    const next = byEdge.get(key)?.shift();
    assert.ok(next, `${label}: edge ${key} is attended here more often than in PyTorch`);
    gotAlpha.set(got.alpha.subarray(k * H, (k + 1) * H), k * H);
    wantAlpha.set(next, k * H);
  }
  assertOutputsMatch(`${label} attention weights`, gotAlpha, wantAlpha);
}

describe('the PyTorch fixtures', () => {
  for (const name of ALL_FIXTURES) {
    test(`${name}: the file holds the state dict's tensors with its shapes`, () => {
      const f = loadFixture(name);
      const saved = f.meta.state_dict.filter(([k]) => !f.meta.saved_without.includes(k));
      const want = namesAndShapes(saved.map(([k, shape]) => [k, { shape }]));
      assert.deepEqual(namesAndShapes(Object.entries(f.state)), want);
      for (const [k, t] of Object.entries(f.state)) assert.equal(t.dtype, 'F32', k);
      assert.deepEqual(f.outShape[0], f.numNodes);
      assert.equal(f.x.length, f.numNodes * f.numFeatures);
      if (f.meta.edge_features) assert.equal(f.edgeAttr!.length % (f.edgeIndex.length / 2), 0);
    });
  }
});

/**
 * The PyTorch file's tensors as a state dict; with `complete`, the names save_model left out (lin_r.* of shared
 * weights) are filled from the kept ones, giving the state dict the PyTorch model has.
 */
function stateOf(f: Fixture, opts: { complete: boolean }): Record<string, NamedArray> {
  const sd: Record<string, NamedArray> = {};
  for (const [k, t] of Object.entries(f.state)) sd[k] = { shape: t.shape, data: f32(t, k) };
  if (opts.complete) for (const k of f.meta.saved_without) sd[k] = sd[k.replace(/^lin_r\./, 'lin_l.')]!;
  return sd;
}

const DEVICES = [
  ['fused attention kernels', false],
  ['separate attention kernels (default limits)', true],
] as const;

// ---------------------------------------------------------------------------------------------------------------
// The module API: Module, Sequential, Linear, Dropout, activations, add, concat; GCNConv where it is there

const MODULE_API = ['Module', 'Sequential', 'Linear', 'Dropout', 'ELU', 'ReLU', 'LeakyReLU', 'add', 'concat', 'Data'];
const missingApi = MODULE_API.filter((k) => !(k in lib));
const needsModuleApi = missingApi.length > 0 && `needs the module API (not exported yet: ${missingApi.join(', ')})`;
const isModule = (ctor: Any) => !needsModuleApi && typeof ctor === 'function' && ctor.prototype instanceof lib.Module;

function layerOptions(a: LayerArch) {
  return {
    heads: a.heads,
    concat: a.concat,
    negativeSlope: a.negative_slope,
    addSelfLoops: a.add_self_loops,
    bias: a.bias,
    residual: a.residual,
    ...(a.share_weights !== undefined ? { shareWeights: a.share_weights } : {}),
  };
}

/** The layer a fixture's JSON describes, as a module. */
function moduleOf(a: LayerArch): Any {
  const options = { ...layerOptions(a), ...(a.edge_dim !== undefined ? { edgeDim: a.edge_dim } : {}) };
  if (a.kind === 'GATv2Conv' || a.kind === 'GATConv') return new lib[a.kind](a.in_channels, a.out_channels, options);
  if (a.kind === 'GCNConv') return new lib.GCNConv(a.in_channels, a.out_channels);
  throw new Error(`no module for ${a.kind}`);
}

/**
 * The forward's inputs, as a user has them: a Data on the GPU (features, graph and, for the edge-feature cases, edge
 * attributes, passed third as PyG's edge_attr).
 */
function inputsOf(gpu: Gpu, f: Fixture): { args: Any[]; dispose(): void } {
  const data = new lib.Data({
    x: f.x,
    numFeatures: f.numFeatures,
    edgeIndex: f.edgeIndex,
    ...(f.edgeAttr ? { edgeAttr: f.edgeAttr } : {}),
  });
  const batch = data.to(gpu);
  const args = f.edgeAttr ? [batch.x, batch.graph, batch.edgeAttr] : [batch.x, batch.graph];
  return { args, dispose: () => batch.dispose() };
}

/**
 * Names and shapes against PyTorch's; strict loading of PyTorch's state dict; the eval-mode forward against
 * PyTorch's output (and attention weights); the state dict read back equal to the loaded one, bit for bit.
 */
async function checkModule(gpu: Gpu, f: Fixture, model: Any): Promise<void> {
  try {
    model.init(gpu, { seed: 0 });
    const ours = (await model.stateDict()) as Record<string, NamedArray>;
    assertSameNames(f.name, namesAndShapes(Object.entries(ours)), f);
    const sd = stateOf(f, { complete: true });
    model.loadStateDict(sd, { strict: true });
    model.eval();
    const inputs = inputsOf(gpu, f);
    try {
      const out = model.forward(...inputs.args);
      assert.deepEqual([...out.shape], f.outShape, `${f.name}: output shape`);
      assertOutputsMatch(`${f.name} output`, await out.read(), f.out);
      if (f.alpha) assertAttentionMatches(f.name, await model.attention(), f);
    } finally {
      inputs.dispose();
    }
    const back = (await model.stateDict()) as Record<string, NamedArray>;
    for (const [k, t] of Object.entries(sd)) assert.deepEqual(back[k]!.data, t.data, `${f.name}: '${k}' read back`);
  } finally {
    model.dispose();
  }
}

for (const [label, defaultLimits] of DEVICES) {
  describe(`PyTorch-saved single attention layers, module API (${label})`, () => {
    let gpu: Gpu;
    before(async () => {
      if (!needsModuleApi) gpu = await Gpu.create({ defaultLimits });
    });
    after(() => gpu?.destroy());
    for (const name of [...LAYER_FIXTURES, ...EDGE_FIXTURES]) {
      test(name, { skip: needsModuleApi }, async () => {
        const f = loadFixture(name);
        await checkModule(gpu, f, moduleOf(f.meta.architecture));
      });
    }
  });
}

describe('PyTorch-saved layers and models, module API', () => {
  let gpu: Gpu;
  before(async () => {
    if (!needsModuleApi) gpu = await Gpu.create();
  });
  after(() => gpu?.destroy());
  const skip = needsModuleApi;
  const needsGcn = needsModuleApi || (!isModule(lib.GCNConv) && 'needs GCNConv as a module');

  const sharedLabel = 'a save_model file of a shared-weights layer (lin_r.* left out, as safetensors does) loads';
  test(`${sharedLabel} strictly`, { skip }, async () => {
    const f = loadFixture('gatv2_layer_mean_residual_shared');
    assert.deepEqual(f.meta.saved_without, ['lin_r.bias', 'lin_r.weight']);
    const layer = moduleOf(f.meta.architecture).init(gpu, { seed: 0 });
    const inputs = inputsOf(gpu, f);
    try {
      layer.loadStateDict(stateOf(f, { complete: false }), { strict: true });
      layer.eval();
      assertOutputsMatch(`${f.name} output`, await layer.forward(...inputs.args).read(), f.out);
    } finally {
      inputs.dispose();
      layer.dispose();
    }
  });

  test('gcn_layer', { skip: needsGcn }, async () => {
    const f = loadFixture('gcn_layer');
    await checkModule(gpu, f, moduleOf(f.meta.architecture));
  });

  for (const name of PAPER_FIXTURES) {
    test(`${name}: a class with dropout, conv1, ELU, dropout and conv2`, { skip }, async () => {
      const f = loadFixture(name);
      const { conv1, conv2 } = f.meta.architecture.fields!;
      class PaperNet extends lib.Module {
        drop = new lib.Dropout(0.6);
        conv1 = moduleOf(conv1!);
        act = new lib.ELU();
        conv2 = moduleOf(conv2!);
        forward(x: Any, graph: Any) {
          const h = this.act.forward(this.conv1.forward(this.drop.forward(x), graph));
          return this.conv2.forward(this.drop.forward(h), graph);
        }
      }
      await checkModule(gpu, f, new PaperNet());
    });
  }

  test('paper_sequential: GATModel (Dropout, GATv2Conv, ELU, Dropout, GATv2Conv)', { skip }, async (t) => {
    if (!isModule(lib.GATModel)) {
      t.skip('GATModel is not a module');
      return;
    }
    const f = loadFixture('paper_sequential');
    const model = new lib.GATModel({ inChannels: f.numFeatures, hiddenChannels: 8, heads: 8, outChannels: 5 });
    await checkModule(gpu, f, model);
  });

  test('paper_sequential: Dropout, GATv2Conv, ELU, Dropout, GATv2Conv', { skip }, async () => {
    const f = loadFixture('paper_sequential');
    const model = new lib.Sequential([
      new lib.Dropout(0.6),
      new lib.GATv2Conv(f.numFeatures, 8, { heads: 8, dropout: 0.6 }),
      new lib.ELU(),
      new lib.Dropout(0.6),
      new lib.GATv2Conv(64, 5, { heads: 1, concat: false, dropout: 0.6 }),
    ]);
    await checkModule(gpu, f, model);
  });

  test('gatv2_sequential: GATv2Conv, ELU, GATv2Conv (residual), ReLU, Linear', { skip }, async () => {
    const f = loadFixture('gatv2_sequential');
    const model = new lib.Sequential([
      new lib.GATv2Conv(f.numFeatures, 8, { heads: 4 }),
      new lib.ELU(),
      new lib.GATv2Conv(32, 8, { heads: 4, residual: true }),
      new lib.ReLU(),
      new lib.Linear(32, 5),
    ]);
    await checkModule(gpu, f, model);
  });

  test('gcn_sequential: GCNConv, LeakyReLU, GCNConv', { skip: needsGcn }, async () => {
    const f = loadFixture('gcn_sequential');
    const model = new lib.Sequential([
      new lib.GCNConv(f.numFeatures, 16),
      new lib.LeakyReLU({ negativeSlope: 0.1 }),
      new lib.GCNConv(16, 5),
    ]);
    await checkModule(gpu, f, model);
  });

  test('skip_jk_net: a class with fields, a skip connection and a jumping-knowledge concat', { skip }, async () => {
    const f = loadFixture('skip_jk_net');
    class Net extends lib.Module {
      conv1 = new lib.GATv2Conv(f.numFeatures, 8, { heads: 4 });
      act = new lib.ELU();
      conv2 = new lib.GATConv(32, 8, { heads: 4 });
      lin = new lib.Linear(64, 5);
      forward(x: Any, graph: Any) {
        const h1 = this.act.forward(this.conv1.forward(x, graph));
        const h2 = lib.add(this.conv2.forward(h1, graph), h1);
        return this.lin.forward(lib.concat([h1, h2]));
      }
    }
    await checkModule(gpu, f, new Net());
  });
});
