// Fused attention forward shaped for GPUs: the same results as attend.wgsl's gatv2_attend and gat_attend (scores,
// the softmax over each destination's incoming edges, dropout on the coefficients, the weighted aggregation) with
// a workgroup per destination i instead of a thread per destination and heads:
//   1. for each head h, the lanes take i's incoming edges in turn (edge begin + lane, + WG, ...):
//        e[k, h] = sum_c att[h, c] * LeakyReLU(xl[src_k, h, c] + xr[i, h, c] (+ edge[k, h * C + c]))   (GATv2)
//        e[k, h] = LeakyReLU(a_src[src_k, h] + a_dst[i, h] (+ edge[k, h]))                           (GAT)
//      parked in alpha_out; the workgroup's max m and then s = sum_k exp(e[k, h] - m) come from a fixed tree in
//      workgroup memory; each lane turns its edges' e into alpha[k, h] = exp(e[k, h] - m) / s (before dropout);
//   2. the lanes take the output columns (head h, channel c) in turn and sum over i's edges in CSR order:
//        out[i, h, c] = sum_k alpha[k, h] * drop(k, h) * left[src_k, h, c]  (+ bias[h, c])
//      neighbouring lanes reading neighbouring columns of one row of left. No incoming edges: 0 (+ bias).
// drop(k, h) = dropout_scale(seed, step, k * H + h, p), the mask of attend.wgsl. Fixed orders throughout, no atomics:
// bit-identical run to run (the softmax sums in another order than the CPU shape's online softmax, so the two
// shapes may differ in the last bits).

struct Params {
  nodes: u32,     // N
  heads: u32,     // H
  channels: u32,  // C
  slope: f32,     // LeakyReLU negative slope
  l_stride: u32,  // left view: xl (GATv2) or x (GAT)
  l_offset: u32,
  r_stride: u32,  // right view: xr (GATv2)
  r_offset: u32,
  p: f32,         // dropout probability on alpha (0: none)
  seed: u32,      // dropout site seed
  has_bias: u32,  // 1: add bias[h * C + c] to the output
}

@group(0) @binding(0) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> left: array<f32>;       // xl (GATv2) or x (GAT), view
// The two entry points bind the same ten buffers (at most 10 may be bound), GAT's node scores in two of them.
@group(0) @binding(3) var<storage, read> right: array<f32>;      // GATv2: xr, view; GAT: a_dst [N, H]
@group(0) @binding(4) var<storage, read> att: array<f32>;        // GATv2: att [H * C]; GAT: a_src [N, H]
@group(0) @binding(5) var<storage, read> bias: array<f32>;       // [H * C], read when P.has_bias
@group(0) @binding(6) var<storage, read> step: array<u32>;       // training step counter (dropout masks)
@group(0) @binding(7) var<storage, read_write> alpha_out: array<f32>;  // [E, H]
@group(0) @binding(8) var<storage, read_write> out: array<f32>;        // [N, H * C]
@group(0) @binding(9) var<uniform> P: Params;
// The edge term in CSR order, [E, H * C] (GATv2) or [E, H] (GAT); read only by the EDGE pipelines (the others bind
// any f32 buffer here).
@group(0) @binding(10) var<storage, read> edge: array<f32>;

override EDGE: bool = false;

// workgroup_max(li, v) and workgroup_sum(li, v, sg_size), the workgroup's max and sum of every lane's v in a fixed
// order with the result in every lane, and the entry points come from one of two preludes (fused-attention.ts picks):
// fused-attention-gpu-subgroups.wgsl where the device has subgroups, else fused-attention-gpu-workgroup.wgsl.

fn gatv2_score(i: u32, j: u32, h: u32, k: u32) -> f32 {
  var e = 0.0;
  let col = h * P.channels;
  for (var c = 0u; c < P.channels; c++) {
    var z = left[j * P.l_stride + P.l_offset + col + c] + right[i * P.r_stride + P.r_offset + col + c];
    if (EDGE) { z += edge[k * P.heads * P.channels + col + c]; }
    e += att[col + c] * leaky_relu(z, P.slope);
  }
  return e;
}

fn gat_score(i: u32, j: u32, h: u32, k: u32) -> f32 {
  var s = att[j * P.heads + h] + right[i * P.heads + h];
  if (EDGE) { s += edge[k * P.heads + h]; }
  return leaky_relu(s, P.slope);
}

// Step 1 for head h: alpha_out[k, h] for i's edges. GATV2 picks the score.
fn softmax_head(i: u32, h: u32, li: u32, begin: u32, end: u32, gatv2: bool, sg_size: u32) {
  var m = -0x1.fffffep+127f;
  for (var k = begin + li; k < end; k += WG) {
    var e: f32;
    if (gatv2) { e = gatv2_score(i, src[k], h, k); } else { e = gat_score(i, src[k], h, k); }
    alpha_out[k * P.heads + h] = e;
    m = max(m, e);
  }
  m = workgroup_max(li, m);
  var s = 0.0;
  for (var k = begin + li; k < end; k += WG) { s += exp(alpha_out[k * P.heads + h] - m); }
  s = workgroup_sum(li, s, sg_size);
  for (var k = begin + li; k < end; k += WG) {
    let kh = k * P.heads + h;
    alpha_out[kh] = exp(alpha_out[kh] - m) / s;
  }
}

// Step 2: out[i, :], the lanes over its columns.
fn aggregate_row(i: u32, li: u32, begin: u32, end: u32) {
  var site = 0u;
  if (P.p > 0.0) { site = dropout_site(P.seed, step[0]); }
  let dmask = dropout_with_site(site, P.p);
  let width = P.heads * P.channels;
  for (var col = li; col < width; col += WG) {
    let h = col / P.channels;
    var acc = 0.0;
    for (var k = begin; k < end; k++) {
      let kh = k * P.heads + h;
      acc += alpha_out[kh] * dropout_keep(dmask, kh) * left[src[k] * P.l_stride + P.l_offset + col];
    }
    if (P.has_bias != 0u) { acc += bias[col]; }
    out[i * width + col] = acc;
  }
}

// sg_size: the subgroup size where the device has subgroups (a parameter, so that the compiler sees it uniform).
fn attend(wid: vec3u, nwg: vec3u, li: u32, gatv2: bool, sg_size: u32) {
  let i = group_index(wid, nwg);
  if (i >= P.nodes) { return; }
  let begin = row_ptr[i];
  let end = row_ptr[i + 1u];
  for (var h = 0u; h < P.heads; h++) { softmax_head(i, h, li, begin, end, gatv2, sg_size); }
  // Every lane's alpha writes before any lane reads them.
  storageBarrier();
  aggregate_row(i, li, begin, end);
}
