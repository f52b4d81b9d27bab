// The fuzz worker: parses one corrupted input per message and answers with an outcome (see watchdog.ts).
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parentPort } from 'node:worker_threads';
import { PLANETOID_PARTS, parsePlanetoid, type GraphDataset, type PlanetoidName } from '../../../src/data/planetoid.ts';
import { splitEdgeIndex, type EdgeIndex } from '../../../src/graph.ts';
import { decodeSafetensors } from '../../../src/io/safetensors.ts';
import { checkStateDict, type TensorSpec } from '../../../src/io/state-dict.ts';
import { PLANETOID_DIR, type Outcome } from './watchdog.ts';

const pristine = new Map<string, Record<string, Uint8Array>>();
function planetoidFiles(name: string): Record<string, Uint8Array> {
  let files = pristine.get(name);
  if (!files) {
    files = {};
    for (const p of PLANETOID_PARTS)
      files[p] = new Uint8Array(readFileSync(path.join(PLANETOID_DIR, `ind.${name}.${p}`)));
    pristine.set(name, files);
  }
  return files;
}

const hash = (...arrays: ArrayBufferView[]): string => {
  const h = createHash('sha256');
  for (const a of arrays) h.update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  return h.digest('hex');
};

/** What must hold of any dataset the loader returns, whatever the bytes were. */
function datasetProblems(d: GraphDataset): string[] {
  const p: string[] = [];
  const f = d.features;
  if (f.rows !== d.numNodes || f.cols !== d.numFeatures) p.push('feature matrix shape');
  if (f.rowPtr.length !== f.rows + 1 || f.rowPtr[0] !== 0 || f.rowPtr[f.rows] !== f.colIdx.length)
    p.push('rowPtr ends');
  for (let r = 0; r < f.rows; r++) if (f.rowPtr[r + 1]! < f.rowPtr[r]!) p.push(`rowPtr decreases at ${r}`);
  if (f.values.length !== f.colIdx.length) p.push('values length');
  if (f.colIdx.some((c) => c >= f.cols)) p.push('column out of range');
  if (f.values.some((v) => !Number.isFinite(v))) p.push('non-finite feature');
  if (d.labels.length !== d.numNodes || d.labels.some((y) => y < 0 || y >= d.numClasses)) p.push('labels');
  if (d.edgeIndex.length !== 2 * d.numEdges || d.edgeIndex.some((v) => v < 0 || v >= d.numNodes)) p.push('edge_index');
  for (const m of [d.trainMask, d.valMask, d.testMask]) if (m.length !== d.numNodes) p.push('mask length');
  return p.slice(0, 5);
}

function digestDataset(d: GraphDataset): string {
  const f = d.features;
  return hash(
    Int32Array.of(d.numNodes, d.numFeatures, d.numClasses),
    f.rowPtr,
    f.colIdx,
    f.values,
    d.labels,
    d.edgeIndex,
    d.trainMask,
    d.valMask,
    d.testMask,
  );
}

// biome-ignore lint/suspicious/noExplicitAny: each handler declares the payload type its own generator sends
const handlers: Record<string, (payload: any) => Outcome> = {
  planetoid({ name, part, bytes }: { name: PlanetoidName; part: string; bytes: Uint8Array | null }) {
    const files = planetoidFiles(name);
    const d = parsePlanetoid(name, bytes ? { ...files, [part]: bytes } : files);
    return { ok: true, digest: digestDataset(d), problems: datasetProblems(d) };
  },
  safetensors({ bytes, file, spec }: { bytes: Uint8Array; file: string; spec: TensorSpec[] }) {
    const { tensors } = decodeSafetensors(bytes, { file });
    checkStateDict(spec, tensors);
    const names = Object.keys(tensors).sort();
    const layout = JSON.stringify(names.map((n) => [n, tensors[n]!.dtype, tensors[n]!.shape]));
    return { ok: true, digest: layout + hash(...names.map((n) => tensors[n]!.data)), problems: [] };
  },
  edgeIndex({ edgeIndex, numNodes }: { edgeIndex: EdgeIndex; numNodes: number }) {
    const { src, dst } = splitEdgeIndex(edgeIndex, numNodes);
    return { ok: true, digest: JSON.stringify([Array.from(src), Array.from(dst)]), problems: [] };
  },
  // Self-tests of the watchdog: a case that never ends and one that allocates without bound.
  hang() {
    for (;;);
  },
  oom() {
    const keep: number[][] = [];
    for (;;) keep.push(new Array(1 << 20).fill(1));
  },
};

parentPort!.on('message', ({ id, kind, payload }: { id: number; kind: string; payload: unknown }) => {
  let outcome: Outcome;
  try {
    outcome = handlers[kind]!(payload);
  } catch (e) {
    outcome = { ok: false, message: e instanceof Error ? `${e.name}: ${e.message}` : `non-Error thrown: ${String(e)}` };
  }
  parentPort!.postMessage({ id, outcome });
});
parentPort!.postMessage('ready');
