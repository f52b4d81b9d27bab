// The bench's kernel tables: readout kernels, kernels only the edge-term variants run, and whole-op timings leave
// the main kernel table for tables of their own; an op with an edge term sits beside the same op without it, on the
// same graph and kernel shape, with the ratio of the two; an op missing on one side leaves an empty cell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeFeatureTable, kernelsTable, readoutTable, type Runtime } from '../../bench/tables.ts';
import type { KernelRow } from '../../bench/suites/kernels.ts';

const runtime: Runtime = {
  name: 'Node',
  device: { vendor: 'v', architecture: 'a', device: '', description: 'd', isFallbackAdapter: false, runtime: 'node' },
  timestamps: true,
};

const row = (edges: number, kernel: string, ms: number, extra: Partial<KernelRow> = {}): KernelRow => ({
  edges,
  kernelEdges: edges + edges / 8,
  nodes: edges / 8,
  maxInDegree: 9,
  kernel,
  ms,
  reps: 3,
  bytes: 1e6,
  flops: 1e6,
  gbPerS: 1,
  shareOfCopy: 0.1,
  gflopPerS: 1,
  shareOfMatmul: 0.1,
  shape: 'cpu',
  source: 'timestamps',
  ...extra,
});
const op = (edges: number, name: string, ms: number, shape: 'cpu' | 'gpu' = 'cpu') =>
  row(edges, name, ms, { op: name, shape });

const rows = [
  row(1000, 'fused_attention.gatv2_attend+dropout', 2),
  row(1000, 'fused_attention.gatv2_attend+dropout+edge', 3, { edgeOnly: true }),
  row(1000, 'fused_attention.gatv2_attend+dropout', 1, { shape: 'gpu' }),
  row(8000, 'edge_scores.gatv2_score_dz_edge', 1, { edgeOnly: true }),
  op(1000, 'gatv2Attend', 2),
  op(1000, 'gatv2Attend+edge', 3),
  op(1000, 'gatv2Attend', 1, 'gpu'),
  op(1000, 'gatv2Attend+edge', 4, 'gpu'),
  op(8000, 'gatv2Attend', 10),
  op(8000, 'gatv2Attend+edge', 15),
  op(8000, 'gatv2ScoreBackward+edge', 7),
  row(1000, 'pool.sum', 0.5),
  row(1000, 'pool.mean_backward', 0.25),
  row(1000, 'matmul', 1.5),
];

const lines = (md: string) =>
  md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| edges') && !l.startsWith('| nodes'));

test('the kernel table holds no readout, edge-only or whole-op rows', () => {
  const body = lines(kernelsTable(runtime, rows, { copyGbPerS: 10, matmulGflopPerS: 10 }));
  assert.equal(body.length, 2, body.join('\n')); // the attend kernel (both shapes in one row), matmul
  assert.match(body[0], /fused_attention\.gatv2_attend\+dropout \|/);
  assert.match(body[1], /\| matmul \|/);
});

test('each op with an edge term pairs with the same op, graph and shape without it', () => {
  const body = lines(edgeFeatureTable(runtime, rows));
  assert.deepEqual(body, [
    '| 1,000 (1,125) | gatv2Attend | cpu | 2 | 3 | 1.50x |',
    '| 1,000 (1,125) | gatv2Attend | gpu | 1 | 4 | 4x |',
    '| 8,000 (9,000) | gatv2Attend | cpu | 10 | 15 | 1.50x |',
    '| 8,000 (9,000) | gatv2ScoreBackward | cpu |  | 7 |  |',
  ]);
  assert.equal(
    edgeFeatureTable(
      runtime,
      rows.filter((r) => !r.op),
    ),
    '',
  );
});

test('the readout table holds the pooling kernels only', () => {
  const body = lines(readoutTable(runtime, rows));
  assert.equal(body.length, 2);
  assert.match(body[0], /^\| 125 \| 7 \| pool\.sum \| 0\.500 \|/);
  assert.match(body[1], /pool\.mean_backward \| 0\.250 \|/);
  assert.equal(
    readoutTable(
      runtime,
      rows.filter((r) => !r.kernel.startsWith('pool.')),
    ),
    '',
  );
});
