// The bench's kernel tables: readout kernels and attention kernels with edge features leave the main kernel table
// for tables of their own; an edge-feature row sits beside the same kernel without edge features, on the same graph
// and kernel shape, with the ratio of the two; kernels missing on one side leave an empty cell, never a wrong pair.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { edgeFeatureTable, kernelsTable, readoutTable, type Runtime } from '../../bench/tables.ts';
import type { KernelRow } from '../../bench/suites/kernels.ts';

const runtime: Runtime = {
  name: 'Node',
  device: { vendor: 'v', architecture: 'a', device: '', description: 'd', isFallbackAdapter: false, runtime: 'node' },
  timestamps: true,
};

const row = (edges: number, kernel: string, ms: number, shape: 'cpu' | 'gpu' = 'cpu'): KernelRow => ({
  edges, kernelEdges: edges + edges / 8, nodes: edges / 8, maxInDegree: 9, kernel, ms, reps: 3, bytes: 1e6, flops: 1e6,
  gbPerS: 1, shareOfCopy: 0.1, gflopPerS: 1, shareOfMatmul: 0.1, shape, source: 'timestamps',
});

const rows = [
  row(1000, 'fused_attention.gatv2_attend+dropout', 2),
  row(1000, 'fused_attention.gatv2_attend+dropout+edge', 3),
  row(1000, 'fused_attention.gatv2_attend+dropout', 1, 'gpu'),
  row(1000, 'fused_attention.gatv2_attend+dropout+edge', 4, 'gpu'),
  row(8000, 'fused_attention.gatv2_attend+dropout', 10),
  row(8000, 'fused_attention.gatv2_attend+dropout+edge', 15),
  row(8000, 'fused_attention.gatv2_attend_src+edge', 7),
  row(1000, 'pool.sum', 0.5),
  row(1000, 'pool.mean_backward', 0.25),
  row(1000, 'matmul', 1.5),
];

const lines = (md: string) => md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| edges') && !l.startsWith('| nodes'));

test('the kernel table holds neither readout nor edge-feature rows', () => {
  const body = lines(kernelsTable(runtime, rows, { copyGbPerS: 10, matmulGflopPerS: 10 }));
  assert.equal(body.length, 3); // attend at 1000 (both shapes in one row), attend at 8000, matmul
  assert.ok(body.every((l) => !l.includes('pool.') && !l.includes('+edge')), body.join('\n'));
});

test('edge-feature rows pair with the same kernel, graph and shape without edge features', () => {
  const body = lines(edgeFeatureTable(runtime, rows));
  assert.deepEqual(body, [
    '| 1,000 (1,125) | fused_attention.gatv2_attend+dropout | cpu | 2 | 3 | 1.50x |',
    '| 1,000 (1,125) | fused_attention.gatv2_attend+dropout | gpu | 1 | 4 | 4x |',
    '| 8,000 (9,000) | fused_attention.gatv2_attend+dropout | cpu | 10 | 15 | 1.50x |',
    '| 8,000 (9,000) | fused_attention.gatv2_attend_src | cpu |  | 7 |  |',
  ]);
  assert.equal(edgeFeatureTable(runtime, rows.filter((r) => !r.kernel.includes('+edge'))), '');
});

test('the readout table holds the pooling kernels only', () => {
  const body = lines(readoutTable(runtime, rows));
  assert.equal(body.length, 2);
  assert.match(body[0], /^\| 125 \| 7 \| pool\.sum \| 0\.500 \|/);
  assert.match(body[1], /pool\.mean_backward \| 0\.250 \|/);
  assert.equal(readoutTable(runtime, rows.filter((r) => !r.kernel.startsWith('pool.'))), '');
});
