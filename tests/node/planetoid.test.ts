import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtemp, mkdir, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { spawnSync } from 'node:child_process';

import { PLANETOID_PARTS, parsePlanetoid, type GraphDataset, type PlanetoidName } from '../../src/data/planetoid.ts';
import { loadPlanetoid } from '../../src/data/planetoid-node.ts';
import { type CsrMatrix, NdArray, unpickle } from '../../src/data/pickle.ts';

/** The original Planetoid files, in shared/ beside the repository. */
const DATA_DIR =
  process.env.PLANETOID_DIR ?? fileURLToPath(new URL('../../../shared/datasets/planetoid/', import.meta.url));

const sum = (a: ArrayLike<number>): number => Array.from(a).reduce((s, v) => s + v, 0);

/** Rolling hash (h = h*31 + v mod 1e9+7) used to compare whole arrays with a reference. */
function rollingHash(a: ArrayLike<number>): number {
  let h = 0;
  for (let i = 0; i < a.length; i++) h = (h * 31 + a[i]!) % 1_000_000_007;
  return h;
}

interface Expected {
  nodes: number;
  edges: number;
  features: number;
  classes: number;
  train: number;
  nnz: number;
  /**
   * Hashes of edge_index.flatten(), y, the CSR column indices and the CSR row
   * pointers of x, computed by a line-by-line numpy port of PyG's
   * read_planetoid_data (pickle.load(encoding='latin1'), todense, test-index
   * reordering, Citeseer padding, argmax labels, remove_self_loops + coalesce).
   */
  edgeHash: number;
  labelHash: number;
  colHash: number;
  rowPtrHash: number;
}

const EXPECTED: Record<PlanetoidName, Expected> = {
  cora: {
    nodes: 2708,
    edges: 10556,
    features: 1433,
    classes: 7,
    train: 140,
    nnz: 49216,
    edgeHash: 854475917,
    labelHash: 574187028,
    colHash: 656448465,
    rowPtrHash: 422742370,
  },
  citeseer: {
    nodes: 3327,
    edges: 9104,
    features: 3703,
    classes: 6,
    train: 120,
    nnz: 105165,
    edgeHash: 525176192,
    labelHash: 564738980,
    colHash: 954927434,
    rowPtrHash: 550372340,
  },
};

async function readTestIndex(name: string): Promise<number[]> {
  const text = await readFile(path.join(DATA_DIR, `ind.${name}.test.index`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map(Number);
}

for (const name of ['cora', 'citeseer'] as const) {
  describe(`Planetoid ${name}`, () => {
    const exp = EXPECTED[name];
    let ds: GraphDataset;
    before(async () => {
      ds = await loadPlanetoid(name, { root: DATA_DIR, download: false });
    });

    it('has the PyG counts', () => {
      assert.equal(ds.name, name);
      assert.equal(ds.numNodes, exp.nodes);
      assert.equal(ds.numEdges, exp.edges);
      assert.equal(ds.edgeIndex.length, 2 * exp.edges);
      assert.equal(ds.numFeatures, exp.features);
      assert.equal(ds.numClasses, exp.classes);
      assert.equal(ds.features.rows, exp.nodes);
      assert.equal(ds.features.cols, exp.features);
      assert.equal(ds.features.values.length, exp.nnz);
      assert.equal(ds.labels.length, exp.nodes);
      assert.equal(sum(ds.trainMask), exp.train);
      assert.equal(sum(ds.valMask), 500);
      assert.equal(sum(ds.testMask), 1000);
    });

    it('uses the public split', async () => {
      for (let i = 0; i < ds.numNodes; i++) {
        assert.equal(ds.trainMask[i], i < exp.train ? 1 : 0, `train mask of node ${i}`);
        assert.equal(ds.valMask[i], i >= exp.train && i < exp.train + 500 ? 1 : 0, `val mask of node ${i}`);
      }
      const test = new Set(await readTestIndex(name));
      for (let i = 0; i < ds.numNodes; i++) assert.equal(ds.testMask[i], test.has(i) ? 1 : 0, `test mask of node ${i}`);
    });

    it('has 20 training nodes per class', () => {
      const counts = new Array<number>(ds.numClasses).fill(0);
      for (let i = 0; i < ds.numNodes; i++) if (ds.trainMask[i]) counts[ds.labels[i]!]!++;
      assert.deepEqual(counts, new Array<number>(ds.numClasses).fill(20));
    });

    it('matches a numpy port of PyG element for element', () => {
      assert.equal(rollingHash(ds.edgeIndex), exp.edgeHash, 'edge_index');
      assert.equal(rollingHash(ds.labels), exp.labelHash, 'labels');
      assert.equal(rollingHash(ds.features.colIdx), exp.colHash, 'feature columns');
      assert.equal(rollingHash(ds.features.rowPtr), exp.rowPtrHash, 'feature row pointers');
    });

    it('has a valid CSR with normalised rows', () => {
      const { rowPtr, colIdx, values } = ds.features;
      assert.equal(rowPtr[0], 0);
      assert.equal(rowPtr[ds.numNodes], values.length);
      let zeroRows = 0;
      for (let r = 0; r < ds.numNodes; r++) {
        assert.ok(rowPtr[r]! <= rowPtr[r + 1]!, `rowPtr decreases at row ${r}`);
        let s = 0;
        for (let k = rowPtr[r]!; k < rowPtr[r + 1]!; k++) {
          assert.ok(colIdx[k]! < ds.numFeatures, `column out of range in row ${r}`);
          if (k > rowPtr[r]!) assert.ok(colIdx[k]! > colIdx[k - 1]!, `columns not strictly sorted in row ${r}`);
          assert.ok(values[k]! > 0, `stored zero in row ${r}`);
          s += values[k]!;
        }
        if (rowPtr[r] === rowPtr[r + 1]) zeroRows++;
        else assert.ok(Math.abs(s - 1) <= 1e-6, `row ${r} sums to ${s}`);
      }
      // Citeseer: the 15 isolated test nodes PyG pads with zero rows; Cora has none.
      assert.equal(zeroRows, name === 'citeseer' ? 15 : 0);
    });

    it('has labels in range; padded Citeseer nodes get label 0 (argmax of a zero row)', async () => {
      for (const l of ds.labels) assert.ok(l >= 0 && l < ds.numClasses);
      const test = new Set(await readTestIndex(name));
      const { rowPtr } = ds.features;
      for (let r = 0; r < ds.numNodes; r++) {
        if (rowPtr[r] !== rowPtr[r + 1]) continue;
        assert.equal(ds.labels[r], 0, `label of padded node ${r}`);
        assert.ok(!test.has(r) && !ds.trainMask[r] && !ds.valMask[r], `padded node ${r} is in a split`);
      }
    });

    it('has coalesced, loop-free, symmetric edges', () => {
      const e = ds.numEdges;
      const src = ds.edgeIndex.subarray(0, e);
      const dst = ds.edgeIndex.subarray(e);
      const keys = new Set<number>();
      for (let i = 0; i < e; i++) {
        assert.ok(
          src[i]! >= 0 && src[i]! < ds.numNodes && dst[i]! >= 0 && dst[i]! < ds.numNodes,
          `edge ${i} out of range`,
        );
        assert.notEqual(src[i], dst[i], `self loop at edge ${i}`);
        if (i > 0) {
          const ordered = src[i - 1]! < src[i]! || (src[i - 1] === src[i] && dst[i - 1]! < dst[i]!);
          assert.ok(ordered, `edges ${i - 1}, ${i} not strictly sorted (duplicate or out of order)`);
        }
        keys.add(src[i]! * ds.numNodes + dst[i]!);
      }
      // PyG's Cora and Citeseer are undirected: every (s, d) has its (d, s).
      for (let i = 0; i < e; i++)
        assert.ok(keys.has(dst[i]! * ds.numNodes + src[i]!), `edge ${src[i]}->${dst[i]} has no reverse`);
    });
  });
}

describe('parsePlanetoid', () => {
  let files: Record<string, Uint8Array>;
  before(async () => {
    files = {};
    for (const p of PLANETOID_PARTS) files[p] = await readFile(path.join(DATA_DIR, `ind.cora.${p}`));
  });

  it('keeps raw binary features without normalizeFeatures', () => {
    const ds = parsePlanetoid('cora', files, { normalizeFeatures: false });
    assert.equal(ds.features.values.length, 49216);
    assert.ok(ds.features.values.every((v) => v === 1));
  });

  it('names a missing part', () => {
    const { graph: _graph, ...rest } = files;
    assert.throws(() => parsePlanetoid('cora', rest), /missing part 'graph'/);
  });

  it('names a file that is not a pickle of the expected kind', () => {
    assert.throws(() => parsePlanetoid('cora', { ...files, tx: files.y! }), /ind\.cora\.tx is not a scipy csr_matrix/);
  });
});

describe('pickle reader', () => {
  const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

  it('reads dicts, lists, ints and latin1 strings (protocol 2)', () => {
    // pickle.dumps({1: [2, 300], 'k': 'caf\xe9'}, protocol=2) from Python 2, by hand:
    // PROTO 2, EMPTY_DICT, BINPUT 0, MARK, BININT1 1, EMPTY_LIST, BINPUT 1, MARK,
    // BININT1 2, BININT2 300, APPENDS, SHORT_BINSTRING 'k', SHORT_BINSTRING 'caf\xe9', SETITEMS, STOP
    const v = unpickle(bytes('\x80\x02}q\x00(K\x01]q\x01(K\x02M\x2c\x01eU\x01kU\x04caf\xe9u.'));
    assert.deepEqual(
      v,
      new Map<unknown, unknown>([
        [1, [2, 300]],
        ['k', 'café'],
      ]),
    );
  });

  it('rebuilds a big-endian numpy array from a Python 3 protocol-2 pickle', () => {
    // pickle.dumps(np.array([[1, -2, 3], [4, 5, 66000]], dtype='>i4'), protocol=2) (numpy 2):
    // _reconstruct + BUILD((1, (2, 3), dtype('i4') with byte order '>', False, _codecs.encode(raw, 'latin1')))
    const hex =
      '8002636e756d70792e5f636f72652e6d756c746961727261790a5f7265636f6e7374727563740a7100636e756d70790a6e646172' +
      '7261790a71014b00857102635f636f646563730a656e636f64650a7103580100000062710458060000006c6174696e3171058671' +
      '06527107877108527109284b014b024b0386710a636e756d70790a64747970650a710b58020000006934710c898887710d52710e' +
      '284b0358010000003e710f4e4e4e4affffffff4affffffff4b0074711062896803581d00000000000001c3bfc3bfc3bfc3be0000' +
      '00030000000400000005000101c39071116805867112527113747114622e';
    const v = unpickle(Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16)));
    assert.ok(v instanceof NdArray);
    assert.deepEqual(v.shape, [2, 3]);
    assert.deepEqual(v.data, Int32Array.of(1, -2, 3, 4, 5, 66000));
  });

  it('names unsupported globals', () => {
    assert.throws(() => unpickle(bytes('\x80\x02cos\nsystem\nq\x00.')), /unsupported global 'os\.system'/);
  });

  it('names unsupported opcodes', () => {
    assert.throws(() => unpickle(bytes('\x80\x02I1\n.')), /unsupported opcode INT \(0x49 'I'\)/);
    assert.throws(() => unpickle(bytes('\x80\x02\xff.')), /unsupported opcode unknown \(0xff\)/);
  });

  it('rejects truncated data', () => {
    assert.throws(() => unpickle(bytes('\x80\x02U\x05ab')), /truncated/);
  });
});

describe('loadPlanetoid file lookup and download', () => {
  let server: Server;
  let baseUrl: string;
  let requests: string[] = [];
  let work: string;
  const oldCwd = process.cwd();
  const oldEnv = { dir: process.env.PLANETOID_DIR, url: process.env.PLANETOID_URL };

  before(async () => {
    // Serves DATA_DIR under /data/ on the loopback interface only.
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      const file = /^\/data\/(ind\.[a-z]+\.[a-z.]+)$/.exec(req.url ?? '')?.[1];
      readFile(path.join(DATA_DIR, file ?? 'missing')).then(
        (body) => res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body),
        () => res.writeHead(404).end('not found'),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`;
    // cwd = <tmp>/work, so neither ./data/planetoid nor ../shared/datasets/planetoid exist.
    const tmp = await mkdtemp(path.join(tmpdir(), 'planetoid-test-'));
    work = path.join(tmp, 'work');
    await mkdir(work);
    process.chdir(work);
    delete process.env.PLANETOID_DIR;
    delete process.env.PLANETOID_URL;
  });

  after(async () => {
    process.chdir(oldCwd);
    if (oldEnv.dir !== undefined) process.env.PLANETOID_DIR = oldEnv.dir;
    if (oldEnv.url !== undefined) process.env.PLANETOID_URL = oldEnv.url;
    else delete process.env.PLANETOID_URL;
    await new Promise((resolve) => server.close(resolve));
    await rm(path.dirname(work), { recursive: true, force: true });
  });

  it('lists the searched directories when files are missing and download is off', async () => {
    const root = path.join(work, 'empty');
    await assert.rejects(loadPlanetoid('cora', { root, download: false }), (err: Error) => {
      assert.match(err.message, /Planetoid 'cora' files .* not found and download is disabled/);
      for (const d of [root, path.join(work, 'data/planetoid'), path.resolve(work, '../shared/datasets/planetoid')]) {
        assert.ok(err.message.includes(d), `message should list ${d}:\n${err.message}`);
      }
      return true;
    });
    assert.deepEqual(requests, []);
  });

  it('reports a failed download with its URL', async () => {
    const logs: string[] = [];
    await assert.rejects(
      loadPlanetoid('cora', { baseUrl: `${baseUrl}/nope`, log: (m) => logs.push(m) }),
      /download of http:\/\/127\.0\.0\.1:\d+\/data\/nope\/ind\.cora\.x failed: HTTP 404/,
    );
    // Nothing complete (or partial) was left behind.
    assert.deepEqual(await readdir(path.join(work, 'data/planetoid')), []);
    requests = [];
  });

  it('downloads into ./data/planetoid, logs it, then reuses the files', async () => {
    const logs: string[] = [];
    const ds = await loadPlanetoid('cora', { baseUrl, log: (m) => logs.push(m) });
    assert.equal(ds.numNodes, 2708);
    assert.equal(ds.numEdges, 10556);
    assert.deepEqual(requests.sort(), PLANETOID_PARTS.map((p) => `/data/ind.cora.${p}`).sort());

    const dir = path.join(work, 'data/planetoid');
    assert.deepEqual((await readdir(dir)).sort(), PLANETOID_PARTS.map((p) => `ind.cora.${p}`).sort());
    for (const p of PLANETOID_PARTS) {
      assert.deepEqual(
        await readFile(path.join(dir, `ind.cora.${p}`)),
        await readFile(path.join(DATA_DIR, `ind.cora.${p}`)),
      );
    }
    assert.ok(
      logs.some((m) => m.includes('downloading') && m.includes(dir)),
      logs.join('\n'),
    );
    assert.equal(logs.filter((m) => m.includes('downloaded')).length, PLANETOID_PARTS.length);

    requests = [];
    const again = await loadPlanetoid('cora', { baseUrl, log: (m) => logs.push(m) });
    assert.equal(again.numEdges, 10556);
    assert.deepEqual(requests, [], 'second load must use the downloaded files');
  });

  it('takes the base URL from PLANETOID_URL', async () => {
    process.env.PLANETOID_URL = `${baseUrl}/`;
    requests = [];
    const ds = await loadPlanetoid('citeseer', { log: () => {} });
    assert.equal(ds.numNodes, 3327);
    assert.equal(requests.length, PLANETOID_PARTS.length);
    assert.ok(requests.every((u) => u.startsWith('/data/ind.citeseer.')));
  });
});

describe('corrupted Planetoid files are refused with the file and the problem named', () => {
  let files: Record<string, Uint8Array>;
  before(async () => {
    files = {};
    for (const p of PLANETOID_PARTS) files[p] = new Uint8Array(await readFile(path.join(DATA_DIR, `ind.cora.${p}`)));
  });

  /** Byte offset of a csr_matrix array's raw data inside its pickle (the raw bytes are stored verbatim). */
  type Raw = { at: number; array: Int32Array | Float32Array };
  function rawOffset(part: string, field: 'indptr' | 'indices' | 'data'): Raw {
    const m = unpickle(files[part]!) as CsrMatrix;
    const array = m[field] as Int32Array | Float32Array;
    const at = Buffer.from(files[part]!).indexOf(Buffer.from(array.buffer, array.byteOffset, array.byteLength));
    assert.ok(at > 0, `raw ${field} not found in ind.cora.${part}`);
    return { at, array };
  }
  /** A copy of ind.cora.<part> with int32 element `i` of `field` set to `value`. */
  function withInt(part: string, field: 'indptr' | 'indices', i: number, value: number): Record<string, Uint8Array> {
    const { at } = rawOffset(part, field);
    const bytes = files[part]!.slice();
    new DataView(bytes.buffer).setInt32(at + 4 * i, value, true);
    return { ...files, [part]: bytes };
  }
  const refused = (f: Record<string, Uint8Array>, re: RegExp) => assert.throws(() => parsePlanetoid('cora', f), re);

  it('indptr that decreases, jumps past the data, or does not start at 0 (the loops that never ended)', () => {
    const { array: indptr } = rawOffset('tx', 'indptr');
    refused(
      withInt('tx', 'indptr', 5, indptr[5]! ^ (1 << 30)),
      /ind\.cora\.tx: pickle: csr_matrix indptr (decreases|ends)/,
    );
    refused(withInt('tx', 'indptr', 5, -7), /ind\.cora\.tx: pickle: csr_matrix indptr decreases at row 4/);
    refused(withInt('allx', 'indptr', 0, 1), /ind\.cora\.allx: pickle: csr_matrix indptr starts at 1, expected 0/);
    const last = unpickle(files.allx!) as CsrMatrix;
    refused(
      withInt('allx', 'indptr', last.shape[0], last.data.length + 4),
      /ind\.cora\.allx: .*indptr ends at \d+ but there are \d+ stored/,
    );
  });

  it('column indices outside the matrix', () => {
    refused(
      withInt('allx', 'indices', 10, 1433),
      /ind\.cora\.allx: .*column index 1433 at entry 10 is outside \[0, 1433\)/,
    );
    refused(withInt('x', 'indices', 0, -1), /ind\.cora\.x: .*column index -1 at entry 0/);
  });

  it('non-finite feature values', () => {
    const { at } = rawOffset('tx', 'data');
    const bytes = files.tx!.slice();
    new DataView(bytes.buffer).setFloat32(at + 8, Number.NaN, true);
    refused({ ...files, tx: bytes }, /ind\.cora\.tx: stored value NaN at entry 2 is not finite/);
  });

  it('truncated files, bytes after STOP, and lengths past the end of the file', () => {
    for (const part of ['x', 'tx', 'allx', 'y', 'ty', 'ally', 'graph']) {
      const f = files[part]!;
      refused({ ...files, [part]: f.subarray(0, f.length - 1) }, new RegExp(`ind\\.cora\\.${part}: pickle: truncated`));
      refused({ ...files, [part]: f.subarray(0, f.length >> 1) }, new RegExp(`ind\\.cora\\.${part}: pickle: `));
      const extra = new Uint8Array(f.length + 1);
      extra.set(f);
      refused({ ...files, [part]: extra }, new RegExp(`ind\\.cora\\.${part}: pickle: 1 bytes after the STOP`));
    }
    // BINSTRING (T) claiming 2 GiB: refused before anything is allocated.
    const huge = Uint8Array.of(0x80, 0x02, 0x54, 0xff, 0xff, 0xff, 0x7f, 0x2e);
    assert.throws(() => unpickle(huge), /truncated data at offset 7 \(2147483647 bytes needed, 1 left\)/);
  });

  it('memo indices, MARKs, tuples and stack', () => {
    const b = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    assert.throws(() => unpickle(b('\x80\x02h\x07.')), /memo key 7 not found/);
    assert.throws(() => unpickle(b('\x80\x02(\x85.')), /MARK used as a value/);
    assert.throws(() => unpickle(b('\x80\x02)K\x01a.')), /APPEND to \(\), not a list/);
    assert.throws(() => unpickle(b('\x80\x02K\x01K\x02.')), /1 values left on the stack at STOP/);
    assert.throws(() => unpickle(b('\x80\x02}(K\x01u.')), /SETITEMS with an odd number of items/);
    assert.throws(() => unpickle(b('\x80\x09N.')), /unsupported protocol 9/);
  });

  it('small files that would build huge values through shared (memo) references are refused', () => {
    const b = (parts: (string | number[])[]) =>
      Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? Array.from(p, (c) => c.charCodeAt(0)) : p)));
    const ints = Array.from({ length: 1000 }, (_, i) => [0x4b, i % 256]).flat(); // BININT1 i, 1000 times
    // list(x) 20,000 times over one memoized list x of 1,000 ints: 120 KB of pickle, 20 million copied values.
    const calls = Array(20000).fill('h\x00h\x01\x85R'); // list(x): BINGET list, BINGET x, TUPLE1, REDUCE
    const copies = b(['\x80\x02c__builtin__\nlist\nq\x00]q\x01(', ints, 'e](', ...calls, 'e.']);
    assert.throws(() => unpickle(copies), /builds more values than its \d+ bytes can hold/);
    // graph: 2,708 nodes that all share one list of 1,000 neighbours.
    // BININT2 i, BINGET 1 for every node i
    const keys = Array.from({ length: 2708 }, (_, i) => [0x4d, i & 255, i >> 8, 0x68, 0x01]).flat();
    const shared = b(['\x80\x02}q\x00]q\x01(', ints, 'e0(', keys, 'u.']);
    refused(
      { ...files, graph: shared },
      /ind\.cora\.graph: lists 2708000 neighbours, more than its 15554 bytes can hold/,
    );
  });

  it('row counts across the files, test indices and graph ids', () => {
    refused({ ...files, y: files.ty! }, /ind\.cora\.y: has 1000 rows but ind\.cora\.x has 140/);
    refused({ ...files, x: files.tx! }, /ind\.cora\.y: has 140 rows but ind\.cora\.x has 1000/);
    const enc = (s: string) => new TextEncoder().encode(s);
    const lines = new TextDecoder().decode(files['test.index']).trim().split('\n');
    refused(
      { ...files, 'test.index': enc([...lines.slice(1), lines[2]].join('\n')) },
      /ind\.cora\.test\.index: node \d+ is listed twice/,
    );
    refused(
      { ...files, 'test.index': enc(['12', ...lines.slice(1)].join('\n')) },
      /ind\.cora\.test\.index: test node 12 is among the 1708 nodes/,
    );
    refused(
      { ...files, 'test.index': enc(['99999999999', ...lines.slice(1)].join('\n')) },
      /ind\.cora\.test\.index: line 1 is not a node id/,
    );
    refused(
      { ...files, 'test.index': enc(['1e3', ...lines.slice(1)].join('\n')) },
      /ind\.cora\.test\.index: line 1 is not a node id: '1e3'/,
    );
    // graph = {0: [5000]} and {-1: []} as protocol-2 pickles.
    const b = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
    refused(
      { ...files, graph: b('\x80\x02}K\x00]M\x88\x13as.') },
      /ind\.cora\.graph: neighbour of node 0: 5000 is not a node id in \[0, 2708\)/,
    );
    refused({ ...files, graph: b('\x80\x02}J\xff\xff\xff\xff]s.') }, /ind\.cora\.graph: key -1 is not a node id/);
  });

  it('--data-dir: a directory without the files is an error naming it, never a silent fallback', async () => {
    const empty = await mkdtemp(path.join(tmpdir(), 'planetoid-empty-'));
    try {
      await assert.rejects(loadPlanetoid('cora', { dir: empty }), (err: Error) => {
        assert.ok(err.message.includes(empty) && /has none of the files/.test(err.message), err.message);
        return true;
      });
      const ds = await loadPlanetoid('cora', { dir: DATA_DIR });
      assert.equal(ds.numNodes, 2708);
      // The CLI's --data-dir: the same error, before any training.
      const root = fileURLToPath(new URL('../../', import.meta.url));
      const cli = ['--import', 'tsx', '--import', './tools/wgsl-loader.mjs', 'src/cli/train.ts', '--data-dir', empty];
      const r = spawnSync('node', cli, { cwd: root, encoding: 'utf8' });
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`error: Planetoid 'cora': the directory ${empty} has none of the files`));
    } finally {
      await rm(empty, { recursive: true, force: true });
    }
  });
});
