// Fused attention, forward (gatv2_attend, gat_attend): scores, the online softmax over each destination's incoming
// edges, dropout on the coefficients and the aggregation in one pass over the edges, then alpha in a scalar pass.
// Preludes: chunk-out.wgsl, chunk-attention.wgsl, fused-attention.wgsl (bindings, uniforms, blocks),
// edge-dropout.wgsl and fused-attention-edge.wgsl or fused-attention-no-edge.wgsl (the edge term, EDGE).

// Online softmax fused with the aggregation of the first block: a running max m, s = sum_k exp(e_k - m) and
// acc = sum_k exp(e_k - m) * drop_k * left[src_k] (block 0), all three rescaled by exp(m_old - m_new) when m grows.
// Branch-free, two exps per edge (docs/kernels.md). m starts at -FLT_MAX, so the
// first edge's scale is exp(-huge) = 0.
struct Online {
  m: f32,
  s: f32,
  acc0: vec4f,
  acc1: vec4f,
}

fn online_start() -> Online { return Online(-0x1.fffffep+127f, 0.0, vec4f(0.0), vec4f(0.0)); }

fn online_add(o: Online, e: f32, dr: f32, l0: vec4f, l1: vec4f) -> Online {
  let m = max(o.m, e);
  let scale = exp(o.m - m);
  let w = exp(e - m);
  let wd = w * dr;
  return Online(m, o.s * scale + w, o.acc0 * scale + wd * l0, o.acc1 * scale + wd * l1);
}

// WIDE only: the aggregation passes for channels 8 and up, one pass over i's CSR segment per block of 8 channels,
// each gathering left[src_k] again. With e[k, h] parked in alpha_out and the softmax statistics (m, s), the first of
// these passes turns e into alpha, the later ones read it back:
//   alpha[k, h] = exp(e[k, h] - m) / s
//   out[i, h, c] = sum_k alpha[k, h] * drop(k, h) * left[src_k, h, c]  (+ bias[h, c])
// A node without incoming edges gets 0 (+ bias).
fn aggregate_wide(i: u32, h: u32, begin: u32, end: u32, m: f32, s: f32) {
  let row = i * P.heads * P.channels;
  for (var c0 = 8u; c0 < P.channels; c0 += 8u) {
    let b = block_at(h, c0);
    var acc0 = vec4f(0.0);
    var acc1 = vec4f(0.0);
    for (var k = begin; k < end; k++) {
      let kh = k * P.heads + h;
      var a: f32;
      if (c0 == 8u) {
        a = exp(alpha_out[kh] - m) / s;
        alpha_out[kh] = a;
      } else {
        a = alpha_out[kh];
      }
      let ad = a * drop(k, h);
      let at = left_at(src[k], b.col);
      acc0 += ad * left4(at, b.w0);
      if (b.two) { acc1 += ad * left4(at + 4u, b.w1); }
    }
    if (P.has_bias != 0u) {
      acc0 += bias4(b.col, b.w0);
      if (b.two) { acc1 += bias4(b.col + 4u, b.w1); }
    }
    store4(row + b.col, b.w0, acc0, false);
    if (b.two) { store4(row + b.col + 4u, b.w1, acc1, false); }
  }
}

// After a scoring pass that ran the online softmax with block 0's aggregation of head h (e[k, h] parked in alpha_out):
//   out[i, h, block 0] = o.acc / o.s (+ bias)          (0 + bias without incoming edges)
// and with WIDE (C > 8) aggregate_wide, whose first pass writes alpha. When C <= 8, alpha_pass then runs one scalar
// pass over the edges (no gathers) for all the thread's heads: alpha[k, h] = exp(e[k, h] - m) / s.
fn attend_out(d: DstThread, h: u32, o: Online) {
  let row = d.i * P.heads * P.channels;
  let b = block_at(h, 0u);
  let inv = select(0.0, 1.0 / o.s, d.end > d.begin);
  var out0 = o.acc0 * inv;
  var out1 = o.acc1 * inv;
  if (P.has_bias != 0u) {
    out0 += bias4(b.col, b.w0);
    if (b.two) { out1 += bias4(b.col + 4u, b.w1); }
  }
  store4(row + b.col, b.w0, out0, false);
  if (b.two) { store4(row + b.col + 4u, b.w1, out1, false); }
  if (WIDE) { aggregate_wide(d.i, h, d.begin, d.end, o.m, o.s); }
}

fn alpha_at(kh: u32, o: Online) { alpha_out[kh] = exp(alpha_out[kh] - o.m) / o.s; }

fn alpha_pass(d: DstThread, o0: Online, o1: Online) {
  if (WIDE) { return; }
  for (var k = d.begin; k < d.end; k++) {
    let kh = k * P.heads + d.h0;
    alpha_at(kh, o0);
    if (HEADS_PER_THREAD == 2u) { alpha_at(kh + 1u, o1); }
  }
}

// GATv2 state of one head h of destination i: the first 8 channels of att and xr[i] (in registers; wider heads load
// the rest per edge) and the online softmax.
struct Gatv2Head {
  h: u32,
  b: Block,
  a0: vec4f,
  a1: vec4f,
  r0: vec4f,
  r1: vec4f,
  o: Online,
}

fn gatv2_head(i: u32, h: u32) -> Gatv2Head {
  let b = block_at(h, 0u);
  var s = Gatv2Head(h, b, att4(b.col, b.w0), vec4f(0.0), right4(right_at(i, b.col), b.w0), vec4f(0.0), online_start());
  if (b.two) {
    s.a1 = att4(b.col + 4u, b.w1);
    s.r1 = right4(right_at(i, b.col + 4u), b.w1);
  }
  return s;
}

// Edge k (source j) of destination i for one head: gathers xl[j, h] (all channels), parks e[k, h] in alpha_out.
fn gatv2_edge(s: Gatv2Head, i: u32, j: u32, k: u32) -> Gatv2Head {
  var r = s;
  let b = s.b;
  let at = left_at(j, b.col);
  let l0 = left4(at, b.w0);
  var l1 = vec4f(0.0);
  var z0 = l0 + s.r0;
  if (EDGE) { z0 += edge4(k, b.col, b.w0); }
  var e = dot(s.a0, leaky_relu4(z0, P.slope));
  if (b.two) {
    l1 = left4(at + 4u, b.w1);
    var z1 = l1 + s.r1;
    if (EDGE) { z1 += edge4(k, b.col + 4u, b.w1); }
    e += dot(s.a1, leaky_relu4(z1, P.slope));
  }
  if (WIDE) {
    for (var c0 = 8u; c0 < P.channels; c0 += 4u) {
      let width = min(4u, P.channels - c0);
      var z = left4(at + c0, width) + right4(right_at(i, b.col + c0), width);
      if (EDGE) { z += edge4(k, b.col + c0, width); }
      e += dot(att4(b.col + c0, width), leaky_relu4(z, P.slope));
    }
  }
  alpha_out[k * P.heads + s.h] = e;
  r.o = online_add(s.o, e, drop(k, s.h), l0, l1);
  return r;
}

// GATv2, one thread per (destination i, heads h0 .. h0 + HEADS_PER_THREAD - 1). One pass over i's CSR segment loads
// src_k once and, per head h, gathers xl[src_k, h] (all channels):
//   e[k, h] = sum_c att[h, c] * LeakyReLU(xl[src_k, h, c] + xr[i, h, c] (+ edge[k, h, c]))   (parked in alpha_out)
// feeding the online softmax and the aggregation of channels 0..7; then attend_out and alpha_pass:
//   alpha = softmax of e over i's incoming edges; out[i] = sum_k alpha * drop * xl[src_k] (+ bias)
// so for C <= 8 xl[src_k] is gathered once per edge. xl in `left`, xr in `right`; writes alpha_out = alpha [E, H]
// (before dropout), out [N, H * C].
@compute @workgroup_size(WG)
fn gatv2_attend(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * head_groups()) { return; }
  init_dropout();
  let d = dst_thread_of(t);
  var s0 = gatv2_head(d.i, d.h0);
  var s1 = s0;
  if (HEADS_PER_THREAD == 2u) { s1 = gatv2_head(d.i, d.h0 + 1u); }
  for (var k = d.begin; k < d.end; k++) {
    let j = src[k];
    s0 = gatv2_edge(s0, d.i, j, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gatv2_edge(s1, d.i, j, k); }
  }
  attend_out(d, s0.h, s0.o);
  if (HEADS_PER_THREAD == 2u) { attend_out(d, s1.h, s1.o); }
  alpha_pass(d, s0.o, s1.o);
}

// GAT state of one head h of destination i: a_dst[i, h] and the online softmax.
struct GatHead {
  h: u32,
  b: Block,
  ad_i: f32,
  o: Online,
}

fn gat_head(i: u32, h: u32) -> GatHead {
  return GatHead(h, block_at(h, 0u), score_dst[i * P.heads + h], online_start());
}

// Edge k (source j) for one head: e[k, h] (parked in alpha_out) and x[j, h] channels 0..7 into the online softmax.
fn gat_edge(s: GatHead, j: u32, k: u32) -> GatHead {
  var r = s;
  let b = s.b;
  var sc = score_src[j * P.heads + s.h] + s.ad_i;
  if (EDGE) { sc += edge_at(k * P.heads + s.h); }
  let e = leaky_relu(sc, P.slope);
  alpha_out[k * P.heads + s.h] = e;
  let at = left_at(j, b.col);
  let l0 = left4(at, b.w0);
  var l1 = vec4f(0.0);
  if (b.two) { l1 = left4(at + 4u, b.w1); }
  r.o = online_add(s.o, e, drop(k, s.h), l0, l1);
  return r;
}

// GAT, one thread per (destination i, heads h0 ..), x in `left`. One pass over i's CSR segment:
//   e[k, h] = LeakyReLU(a_src[src_k, h] + a_dst[i, h] (+ edge[k, h]))   (parked in alpha_out)
// with the online softmax and the aggregation of x[src_k] channels 0..7, then attend_out and alpha_pass as
// gatv2_attend. The score gathers no row of x, so this saves no gather of x over a score pass followed by an
// aggregation pass; it saves that second pass's loop, index and e loads.
@compute @workgroup_size(WG)
fn gat_attend(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * head_groups()) { return; }
  init_dropout();
  let d = dst_thread_of(t);
  var s0 = gat_head(d.i, d.h0);
  var s1 = s0;
  if (HEADS_PER_THREAD == 2u) { s1 = gat_head(d.i, d.h0 + 1u); }
  for (var k = d.begin; k < d.end; k++) {
    let j = src[k];
    s0 = gat_edge(s0, j, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gat_edge(s1, j, k); }
  }
  attend_out(d, s0.h, s0.o);
  if (HEADS_PER_THREAD == 2u) { attend_out(d, s1.h, s1.o); }
  alpha_pass(d, s0.o, s1.o);
}
