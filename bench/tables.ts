// The results of each part as markdown tables (bench/report.ts does the formatting).
import type { AdapterSummary } from '../src/gpu/device.ts';
import type { PeerResult } from './peer/tfjs-gatv2.ts';
import { deviceLabel, int, markdown, mib, num, pct, type Table } from './report.ts';
import type { Ceilings } from './suites/ceilings.ts';
import { EDGE_SUFFIX, type KernelRow } from './suites/kernels.ts';
import type { ScaleRow } from './suites/scale.ts';
import type { TrainResult } from './suites/train.ts';

/** Target of the issue: Cora paper configuration, training epoch, SwiftShader in Node. */
export const CORA_TARGET_MS = 40;
export const PEER_TARGET_RATIO = 25;
export const MEMORY_TARGET_RATIO = 2;

export interface Runtime {
  name: 'Node' | 'Chromium';
  device: AdapterSummary;
  timestamps: boolean;
}

const timing = (r: Runtime) => (r.timestamps ? 'GPU timestamps per dispatch' : 'wall time around gpu.sync()');

export function ceilingsTable(r: Runtime, c: Ceilings): string {
  return markdown({
    title: `Ceilings (${r.name})`,
    device: deviceLabel(r.device),
    head: ['measurement', 'size', 'median ms', 'rate'],
    rows: [
      ['buffer copy (copyBufferToBuffer), read + write', mib(c.copy.bytes), c.copy.ms, `${num(c.copy.gbPerS)} GB/s`],
      [
        'elementwise add kernel (ours), 2 reads + 1 write',
        `${int(c.stream.elements)} values`,
        c.stream.ms,
        `${num(c.stream.gbPerS)} GB/s`,
      ],
      ['dense matmul kernel (ours)', `${c.matmul.size}^3`, c.matmul.ms, `${num(c.matmul.gflopPerS)} GFLOP/s`],
      [
        'one-workgroup dispatch (fill of 64 values)',
        `${c.dispatch.dispatches} per submit`,
        c.dispatch.usPerDispatch / 1e3,
        `${num(c.dispatch.usPerDispatch)} us each`,
      ],
    ],
    notes: [
      `Copy timed by wall clock (4 copies per submit); kernels by ${timing(r)}. Medians of ` +
        `${c.copy.samplesMs.length} runs.`,
    ],
  });
}

/**
 * The kernel sweep with both kernel shapes side by side: per kernel and size, each shape's median ms, GB/s and
 * GFLOP/s, the rates as shares of the copy and matmul ceilings of the same run. Kernels with one shape only (the
 * attention kernels, the softmax) show the same kernel measured on each device.
 */
export function kernelsTable(r: Runtime, all: KernelRow[], c: { copyGbPerS: number; matmulGflopPerS: number }): string {
  const rows = all.filter((k) => !k.op && !k.edgeOnly && !isReadout(k.kernel));
  const sizes = [...new Set(rows.map((k) => k.edges))];
  const shapes = (['cpu', 'gpu'] as const).filter((s) => rows.some((k) => k.shape === s));
  const head = ['edges (with self loops)', 'nodes', 'kernel'];
  for (const s of shapes) head.push(`${s} shape: ms`, 'GB/s (% copy)', 'GFLOP/s (% matmul)');
  const out: Table = {
    title: `Kernels on power-law graphs, 8 heads x 8 channels, ${shapes.join(' and ')} kernel shapes (${r.name})`,
    device: deviceLabel(r.device),
    head,
    rows: [],
    notes: [
      `Ceilings of the same run: copy ${num(c.copyGbPerS)} GB/s, matmul ${num(c.matmulGflopPerS)} GFLOP/s. Times: ` +
        `${timing(r)}, median of ` +
        `${[...new Set(rows.map((k) => k.reps))].join(' or ')} runs per size. Each kernel is one GATv2`,
      'layer edge pass (attention dropout 0.6 on), plus segment sums of [E, 8] values, SpMM of the row-normalised ' +
        'adjacency with [N, 64],',
      "the layer's dense products and a column sum. Rates from the bytes and operations each op declares.",
      '`attention.column_sum` is the two-pass reduction for d att (two dispatches per call). The graph readout kernels',
      'and the attention kernels with edge features have their own tables below.',
    ],
  };
  for (const e of sizes) {
    const here = rows.filter((x) => x.edges === e);
    for (const kernel of [...new Set(here.map((k) => k.kernel))]) {
      const first = here.find((k) => k.kernel === kernel)!;
      const row: (string | number)[] = [`${int(first.edges)} (${int(first.kernelEdges)})`, int(first.nodes), kernel];
      for (const s of shapes) {
        const k = here.find((x) => x.kernel === kernel && x.shape === s);
        if (k) row.push(k.ms, rate(k.gbPerS, k.shareOfCopy), rate(k.gflopPerS, k.shareOfMatmul));
        else row.push('', '', '');
      }
      out.rows.push(row);
    }
  }
  return markdown(out);
}

const rate = (v: number, share: number) => (v > 0 ? `${num(v)} (${pct(share, 2)})` : '');

/** The graph readout kernels (globalPool add / mean / max, attention pooling), forward and backward. */
const isReadout = (kernel: string) => kernel.startsWith('pool.');

/**
 * The graph readout kernels of the same sweep, each shape side by side: the sweep's nodes cut into graphs of 18
 * nodes (a batch of MUTAG-sized molecules), [N, 64] features, [N, 1] gate for attention pooling.
 */
export function readoutTable(r: Runtime, all: KernelRow[]): string {
  const rows = all.filter((k) => !k.op && isReadout(k.kernel));
  if (!rows.length) return '';
  const shapes = (['cpu', 'gpu'] as const).filter((s) => rows.some((k) => k.shape === s));
  const head = ['nodes', 'graphs', 'kernel'];
  for (const s of shapes) head.push(`${s} shape: ms`, 'GB/s (% copy)');
  const out: Table = {
    title: `Graph readout kernels: global pooling and attention pooling, forward and backward (${r.name})`,
    device: deviceLabel(r.device),
    head,
    rows: [],
    notes: [
      'Nodes of the sweep above cut into graphs of 18 nodes; x [N, 64]. pool.sum / pool.mean / pool.max:',
      'globalPool add / mean / max (one thread per graph and column); *_backward: their backward (one thread',
      'per node and column). Attention pooling = pool.softmax (beta over each graph, gate [N, 1]) +',
      'pool.weighted (sum of beta x); its backward = pool.weighted_backward + pool.softmax_backward. Same timing',
      'as the table above.',
    ],
  };
  for (const n of [...new Set(rows.map((k) => k.nodes))]) {
    const here = rows.filter((x) => x.nodes === n);
    for (const kernel of [...new Set(here.map((k) => k.kernel))]) {
      const row: (string | number)[] = [int(n), int(Math.ceil(n / 18)), kernel];
      for (const s of shapes) {
        const k = here.find((x) => x.kernel === kernel && x.shape === s);
        if (k) row.push(k.ms, rate(k.gbPerS, k.shareOfCopy));
        else row.push('', '');
      }
      out.rows.push(row);
    }
  }
  return markdown(out);
}

/**
 * The attention ops with and without edge features side by side: each op's time (all of its dispatches) with the
 * edge term beside the same op without it, same graph, same kernel shape. Empty when the sweep has no such ops.
 */
export function edgeFeatureTable(r: Runtime, rows: KernelRow[]): string {
  const withEdge = rows.filter((k) => k.op?.endsWith(EDGE_SUFFIX));
  if (!withEdge.length) return '';
  const out: Table = {
    title: `Attention with and without edge features (${r.name})`,
    device: deviceLabel(r.device),
    head: ['edges (with self loops)', 'op', 'shape', 'without: ms', 'with edge features: ms', 'with / without'],
    rows: [],
    notes: [
      'The same graph and attention inputs; "with" adds the edge term of GATv2Conv with edgeDim',
      '(lin_edge(edge_attr) in CSR order, [E, 64], inside the LeakyReLU); its backward also writes d edge. Each',
      "op is the sum of its dispatches' times (with an edge term an op may run other kernels than without). Same",
      'timing as the kernel table.',
    ],
  };
  for (const k of withEdge) {
    const name = k.op!.slice(0, -EDGE_SUFFIX.length);
    const base = rows.find((x) => x.op === name && x.edges === k.edges && x.shape === k.shape);
    out.rows.push([
      `${int(k.edges)} (${int(k.kernelEdges)})`,
      name,
      k.shape,
      base ? base.ms : '',
      k.ms,
      base ? `${num(k.ms / base.ms)}x` : '',
    ]);
  }
  return markdown(out);
}

export function trainTable(r: Runtime, t: TrainResult, target?: number): string {
  const rows: (string | number)[][] = [
    ['median ms per training epoch', num(t.msPerEpoch)],
    ['timed epochs (after warm-up)', `${t.timedEpochs} (median of ${t.epochMs.length} windows of 5)`],
    ['dispatches per epoch', String(t.dispatchesPerEpoch)],
    ['epochs run in all', String(t.epochsRun)],
    [`test accuracy after ${t.epochsRun} epochs`, pct(t.testAcc)],
  ];
  if (target)
    rows.push([
      `target <= ${target} ms`,
      t.msPerEpoch <= target ? 'met' : `missed (${num(t.msPerEpoch / target)}x over)`,
    ]);
  return markdown({
    title: `Cora, paper configuration, training step only (${r.name})`,
    device: deviceLabel(r.device),
    head: ['', 'value'],
    rows,
    notes: [
      'GATv2 8 heads x 8 hidden, dropout 0.6, Adam (lr 0.005, wd 5e-4), `evaluate: false`: forward, loss, backward, ' +
        'Adam; wall time per epoch',
      'over windows of 5 consecutive epochs with two epochs in flight (Trainer.run), the median over the windows.',
    ],
  });
}

export function profileTable(r: Runtime, t: TrainResult, top = 12): string {
  return markdown({
    title: `Where a Cora training epoch goes (${r.name}, profiled)`,
    device: deviceLabel(r.device),
    head: ['kernel', 'calls per epoch', 'ms per epoch', 'share', 'GB/s', 'GFLOP/s'],
    rows: t.profile
      .slice(0, top)
      .map((k) => [k.kernel, num(k.calls), k.msPerEpoch, pct(k.share), k.gbPerS, k.gflopPerS]),
    notes: [
      `Sum of kernel times ${num(t.profiledMsPerEpoch)} ms per epoch over the profiled epochs (each dispatch in its ` +
        `own pass when`,
      `profiling); top ${Math.min(top, t.profile.length)} of ${t.profile.length} kernels.`,
    ],
  });
}

export function peerTable(
  r: Runtime,
  ours: TrainResult,
  peer: PeerResult,
  peerEpochsAsked: number,
  oursMatched?: TrainResult,
): string {
  const ratio = peer.msPerEpoch / ours.msPerEpoch;
  const matched: (string | number)[][] = oursMatched
    ? [
        [
          `ours again, ${oursMatched.epochsRun} epochs (after the peer)`,
          oursMatched.msPerEpoch,
          oursMatched.timedEpochs,
          oursMatched.epochsRun,
          pct(oursMatched.testAcc),
          `${num(peer.msPerEpoch / oursMatched.msPerEpoch)}x`,
        ],
      ]
    : [];
  return markdown({
    title: 'Peer: the same GATv2 in TensorFlow.js (WebGPU backend), same Chromium page session',
    device: deviceLabel(r.device),
    head: ['implementation', 'median ms per epoch', 'timed epochs', 'epochs run', 'test accuracy', 'peer / ours'],
    rows: [
      ['ours (webgpu-gat)', ours.msPerEpoch, ours.timedEpochs, ours.epochsRun, pct(ours.testAcc), '1'],
      [
        `TF.js ${peer.backend} (bench/peer/tfjs-gatv2.ts)`,
        peer.msPerEpoch,
        peer.timedEpochs,
        peer.epochsRun,
        pct(peer.testAcc),
        `${num(ratio)}x`,
      ],
      ...matched,
      [
        `target: peer / ours >= ${PEER_TARGET_RATIO}x`,
        '',
        '',
        '',
        '',
        ratio >= PEER_TARGET_RATIO ? 'met' : `missed (${num(ratio)}x)`,
      ],
    ],
    notes: [
      `Both: 8 heads x 8 hidden, dropout 0.6, Adam lr 0.005 wd 5e-4, training step only. Peer asked for ` +
        `${peerEpochsAsked} epochs` +
        (peer.stoppedByBudget ? `, stopped by its time budget after ${peer.epochsRun};` : ';') +
        ` accuracies are of the final epoch (no best-validation selection). The ratio uses ours measured before the ` +
        `peer.`,
      `Peer final training loss ${num(peer.finalLoss)}, validation accuracy ${pct(peer.valAcc)}; tensors left ` +
        `behind ${peer.leakedTensors}.`,
    ],
  });
}

export function scaleTable(r: Runtime, rows: ScaleRow[]): string {
  const last = rows[rows.length - 1];
  const tables = [
    markdown({
      title: `Scale: synthetic graphs shaped like ogbn-arxiv (${r.name})`,
      device: deviceLabel(r.device),
      head: [
        'nodes',
        'edges (with self loops)',
        'ms per epoch',
        'peak GPU bytes in use',
        'bytes allocated',
        'estimate (inputs + params + kept)',
        'peak / estimate',
      ],
      rows: rows.map((s) => [
        int(s.shape.nodes),
        `${int(s.shape.edges)} (${int(s.kernelEdges)})`,
        s.msPerEpoch,
        mib(s.peakBytesInUse),
        mib(s.bytesAllocated),
        mib(s.estimate.total),
        `${num(s.ratio)}x`,
      ]),
      notes: [
        '128 dense N(0,1) features, 40 classes, power-law degrees (gamma 2.5); GATv2 paper configuration, training ' +
          'step only,',
        `median of the timed epochs (${rows.map((s) => s.epochMs.length).join(', ')} by size; the largest size's ` +
          `first epoch included). Peak = BufferPool.peakBytesInUse (buffers held, rounded to the pool's size classes).`,
        `Target: peak within ${MEMORY_TARGET_RATIO}x of the estimate: ` +
          `${last ? (last.ratio <= MEMORY_TARGET_RATIO ? 'met' : `missed (${num(last.ratio)}x)`) : 'n/a'} at the ` +
          `largest size.`,
      ],
    }),
  ];
  if (last) {
    tables.push(
      markdown({
        title: `Memory estimate at ${int(last.shape.nodes)} nodes: what training needs at least`,
        device: deviceLabel(r.device),
        head: ['group', 'item', 'bytes'],
        rows: [
          ...last.estimate.items.map((i) => [i.group, i.name, mib(i.bytes)]),
          ['total', '', mib(last.estimate.total)],
        ],
        notes: [
          'Dropout masks are recomputed from a hash (0 bytes); the dropped-out layer-1 input is not counted ' +
            '(recomputable the same way).',
        ],
      }),
    );
    const held = last.held;
    const heldTotal = held.reduce((a, h) => a + h.bytes, 0);
    tables.push(
      markdown({
        title: `What the pool holds after training at ${int(last.shape.nodes)} nodes: layer and trainer workspaces`,
        device: deviceLabel(r.device),
        head: ['tensor', 'buffer bytes'],
        rows: [
          ...held.slice(0, 24).map((h) => [h.name, mib(h.bytes)]),
          [`all ${held.length} workspace tensors`, mib(heldTotal)],
        ],
        notes: [
          'Besides these: the inputs, the parameter buffers and Adam state (see the estimate), and short-lived ' +
            'scratch (split-K partials, column-sum partials).',
        ],
      }),
    );
  }
  return tables.join('\n');
}

export interface TargetStatus {
  target: string;
  measured: string;
  status: string;
}

export function targetsTable(device: string, t: TargetStatus[]): string {
  return markdown({
    title: 'Targets',
    device,
    head: ['target', 'measured', 'status'],
    rows: t.map((x) => [x.target, x.measured, x.status]),
  });
}
