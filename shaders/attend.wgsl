// Fused attention for GATv2 and GAT (GATConv): scores, the softmax over each destination's incoming edges, dropout
// on the coefficients and the weighted aggregation in one kernel, and the backward of the whole chain in two.
// Same results as attention.wgsl's scores -> softmax.wgsl -> aggregate.wgsl (and their backward), with fewer passes
// over the edges and fewer dispatches.
//
// Node matrices are strided views: element (n, j) of a view lives at m[n * stride + offset + j], with head h,
// channel c at column j = h * C + c. Per-edge values are [E, H] in CSR order (edges sorted by destination); dagg and
// the aggregated output are contiguous [N, H * C]. Reductions over a node's incoming edges walk its CSR segment
// row_ptr[i] .. row_ptr[i+1]; over its outgoing edges, the CSC permutation perm[col_ptr[j]] .. perm[col_ptr[j+1]-1].
// No atomics: every output element is written by exactly one thread, in a fixed order, so results are bit-identical
// run to run. Channels go 4 at a time (a vec4 "chunk", see common.wgsl), two chunks (a block of 8 channels) per
// thread and pass over the edges.
//
// On this project's CPU driver (SwiftShader) every storage load with a computed index is a per-lane gather costing
// a few ns per float, while arithmetic and exp are cheap: the kernels are laid out to gather each row they need
// (xl[src_k], x[src_k], dagg[dst_k]) once per edge when C <= 8, with one extra scalar pass over the per-edge values
// [E, H] where a softmax normalisation has to wait for the whole segment:
//   forward   gatv2_attend / gat_attend   score + online softmax + aggregation in one gather pass, then alpha (scalar)
//   backward  *_attend_dst                dalpha, t and (GATv2) dxr and datt partials in one gather pass, then de
//                                         (scalar)
//             *_attend_src                one gather pass per source; GATv2 (C <= 8) takes lrelu'(z) from sign bits
//                                         that the destination pass stored, instead of gathering xr[dst_k], and
//                                         alpha * drop from alpha and a keep bit stored with them (WIDE: the
//                                         hash again), not stored itself, to save memory
// Heads wider than 8 channels run extra gather passes, one per further block of 8 (pipelines with WIDE).
//
// The dropout multiplier of edge k, head h is drop(k, h) = dropout_scale(seed, step, k * H + h, p), applied to
// alpha AFTER the softmax (as PyG does), hashed and never stored; alpha itself is written before dropout.

struct Params {
  nodes: u32,      // N
  edges: u32,      // E
  heads: u32,      // H
  channels: u32,   // C
  slope: f32,      // LeakyReLU negative slope
  l_stride: u32,   // left view: xl (GATv2) or x (GAT)
  l_offset: u32,
  r_stride: u32,   // right view: xr (GATv2)
  r_offset: u32,
  g_stride: u32,   // gradient output view (dxr, dxl, dx)
  g_offset: u32,
  accumulate: u32, // 1: add into the gradient output instead of overwriting it
  p: f32,          // dropout probability on alpha (0: none)
  seed: u32,       // dropout site seed
  has_bias: u32,   // 1: add bias[h * C + c] to the aggregated output
}

@group(0) @binding(0) var<storage, read> row_ptr: array<u32>;      // CSR row pointer [N + 1]
@group(0) @binding(1) var<storage, read> col_ptr: array<u32>;      // CSC row pointer [N + 1]
@group(0) @binding(2) var<storage, read> perm: array<u32>;         // CSC position -> CSR position [E]
@group(0) @binding(3) var<storage, read> src: array<u32>;          // [E]
@group(0) @binding(4) var<storage, read> dst: array<u32>;          // [E]
@group(0) @binding(5) var<storage, read> left: array<f32>;         // xl (GATv2) or x (GAT), view
@group(0) @binding(6) var<storage, read> right: array<f32>;        // xr (GATv2), view
@group(0) @binding(7) var<storage, read> att: array<f32>;          // [H * C] (GATv2)
@group(0) @binding(8) var<storage, read> bias: array<f32>;         // [H * C], read when P.has_bias
@group(0) @binding(9) var<storage, read> score_src: array<f32>;    // GAT a_src [N, H]
@group(0) @binding(10) var<storage, read> score_dst: array<f32>;   // GAT a_dst [N, H]
@group(0) @binding(11) var<storage, read> alpha: array<f32>;       // [E, H] (backward; before dropout)
@group(0) @binding(12) var<storage, read> dagg: array<f32>;        // d out [N, H * C] (backward)
@group(0) @binding(13) var<storage, read> pair_in: array<vec2f>;   // [E, H] pairs from the destination pass
@group(0) @binding(14) var<storage, read_write> alpha_out: array<f32>;  // alpha [E, H] (forward)
@group(0) @binding(15) var<storage, read_write> pair_out: array<vec2f>; // [E, H] pairs (backward scratch)
@group(0) @binding(16) var<storage, read_write> out: array<f32>;   // out [N, H * C], dxr, dxl, dx (views), dad [N, H]
@group(0) @binding(17) var<storage, read_write> out2: array<f32>;  // datt partials [N, H * C] or das [N, H]
@group(0) @binding(18) var<uniform> P: Params;
@group(0) @binding(19) var<storage, read> step: array<u32>;        // training step counter (dropout masks)
@group(0) @binding(20) var<storage, read_write> scratch: array<u32>; // GATv2 backward scratch (see pair_word)

fn left_at(n: u32, col: u32) -> u32 { return n * P.l_stride + P.l_offset + col; }
fn right_at(n: u32, col: u32) -> u32 { return n * P.r_stride + P.r_offset + col; }
fn grad_at(n: u32, col: u32) -> u32 { return n * P.g_stride + P.g_offset + col; }

// ---- dropout (as aggregate.wgsl): pipelines with and without it; without, drop() is the constant 1 ----

override DROPOUT: bool = false;

var<private> mask_site: u32;

fn init_dropout() {
  if (DROPOUT) { mask_site = dropout_site(P.seed, step[0]); }
}

// gatv2_attend_src binds no step buffer (it is at the 10-storage-buffer limit, see canFuseAttention). With WIDE it
// takes the site from the scratch's header word, where thread 0 of gatv2_attend_dst (an earlier dispatch) put it, and
// hashes; for C <= 8 it takes drop(k, h) from the keep bit next to the sign bits (see pair_word) and never hashes.
fn init_dropout_from_scratch() {
  if (DROPOUT && WIDE) { mask_site = scratch[site_word()]; }
  if (DROPOUT && !WIDE) { keep_scale = 1.0 / (1.0 - P.p); }
}

fn drop(k: u32, h: u32) -> f32 {
  if (!DROPOUT) { return 1.0; }
  return dropout_scale_at(mask_site, k * P.heads + h, P.p);
}

// ---- head width: pipelines for C <= 8 and for C > 8 ----

// Without WIDE a kernel assumes C <= 8 (one block, see Block below) and its code for further channels is compiled
// out; with WIDE it handles any C. On SwiftShader an untaken path is not free: the narrow pipelines measured ~30%
// faster than one pipeline branching on C at run time. The TypeScript side picks WIDE when C > 8.
override WIDE: bool = false;

// ---- 4-channel chunk loads and stores (LANES and lanes() are in common.wgsl) ----

fn left4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return vec4f(left[i.x], left[i.y], left[i.z], left[i.w]);
}

fn right4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return vec4f(right[i.x], right[i.y], right[i.z], right[i.w]);
}

// att[col ..], zero past `width`: sums weighted by it need no other mask.
fn att4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return select(vec4f(0.0), vec4f(att[i.x], att[i.y], att[i.z], att[i.w]), LANES < vec4u(width));
}

fn bias4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return vec4f(bias[i.x], bias[i.y], bias[i.z], bias[i.w]);
}

// dagg[base ..], zero past `width`.
fn dagg4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return select(vec4f(0.0), vec4f(dagg[i.x], dagg[i.y], dagg[i.z], dagg[i.w]), LANES < vec4u(width));
}

fn put(i: u32, v: f32, accumulate: bool) {
  if (accumulate) {
    out[i] += v;
  } else {
    out[i] = v;
  }
}

// Writes the first `width` lanes of v to out[o ..], adding to what is there when `accumulate`.
fn store4(o: u32, width: u32, v: vec4f, accumulate: bool) {
  put(o, v.x, accumulate);
  if (width > 1u) { put(o + 1u, v.y, accumulate); }
  if (width > 2u) { put(o + 2u, v.z, accumulate); }
  if (width > 3u) { put(o + 3u, v.w, accumulate); }
}

fn store4_out2(o: u32, width: u32, v: vec4f) {
  out2[o] = v.x;
  if (width > 1u) { out2[o + 1u] = v.y; }
  if (width > 2u) { out2[o + 2u] = v.z; }
  if (width > 3u) { out2[o + 3u] = v.w; }
}

// ---- heads per thread ----

// Every kernel takes HEADS_PER_THREAD consecutive heads h0 .. h0 + HEADS_PER_THREAD - 1 of one node per thread (1 or
// 2; it divides H, the TypeScript side picks it per entry point): the per-edge index loads (src, or perm and dst), the
// loop control and the segment bounds are then shared by the thread's heads. A kernel keeps one state struct per head,
// s0 and s1, and steps s1 only when HEADS_PER_THREAD == 2: a pipeline constant, so with 1 the slot compiles out.
// Measured on SwiftShader (H = 8, C = 8): 2 heads per thread ~10-20% faster than 1 for most entry points; 4 (s0..s3)
// slower than 1 (too many live accumulators); per-head arrays indexed in a loop over the heads 2-3x slower than either.
override HEADS_PER_THREAD: u32 = 1;

fn head_groups() -> u32 { return P.heads / HEADS_PER_THREAD; }

// ---- forward, shared by GATv2 and GAT ----

// Channels are walked in blocks of 8: two vec4 chunks per pass over the edges, so the per-edge work (the index, alpha,
// the dropout hash) is shared by 8 channels. `Block` is one such block of head h: columns col .. col + w0 - 1 and,
// when `two`, col + 4 .. col + 4 + w1 - 1.
struct Block {
  col: u32,
  w0: u32,
  w1: u32,
  two: bool,
}

fn block_at(h: u32, c0: u32) -> Block {
  let two = P.channels > c0 + 4u;
  return Block(h * P.channels + c0, min(4u, P.channels - c0), select(1u, min(4u, P.channels - c0 - 4u), two), two);
}

// Online softmax fused with the aggregation of the first block: a running max m, s = sum_k exp(e_k - m) and
// acc = sum_k exp(e_k - m) * drop_k * left[src_k] (block 0), all three rescaled by exp(m_old - m_new) when m grows.
// Branch-free, two exps per edge (a branch on e > m with one exp measured no faster). m starts at -FLT_MAX, so the
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
fn attend_out(i: u32, h: u32, begin: u32, end: u32, o: Online) {
  let row = i * P.heads * P.channels;
  let b = block_at(h, 0u);
  let inv = select(0.0, 1.0 / o.s, end > begin);
  var out0 = o.acc0 * inv;
  var out1 = o.acc1 * inv;
  if (P.has_bias != 0u) {
    out0 += bias4(b.col, b.w0);
    if (b.two) { out1 += bias4(b.col + 4u, b.w1); }
  }
  store4(row + b.col, b.w0, out0, false);
  if (b.two) { store4(row + b.col + 4u, b.w1, out1, false); }
  if (WIDE) { aggregate_wide(i, h, begin, end, o.m, o.s); }
}

fn alpha_at(kh: u32, o: Online) { alpha_out[kh] = exp(alpha_out[kh] - o.m) / o.s; }

fn alpha_pass(begin: u32, end: u32, h0: u32, o0: Online, o1: Online) {
  if (WIDE) { return; }
  for (var k = begin; k < end; k++) {
    let kh = k * P.heads + h0;
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
  var e = dot(s.a0, leaky_relu4(l0 + s.r0, P.slope));
  if (b.two) {
    l1 = left4(at + 4u, b.w1);
    e += dot(s.a1, leaky_relu4(l1 + s.r1, P.slope));
  }
  if (WIDE) {
    for (var c0 = 8u; c0 < P.channels; c0 += 4u) {
      let width = min(4u, P.channels - c0);
      e += dot(att4(b.col + c0, width), leaky_relu4(left4(at + c0, width) + right4(right_at(i, b.col + c0), width), P.slope));
    }
  }
  alpha_out[k * P.heads + s.h] = e;
  r.o = online_add(s.o, e, drop(k, s.h), l0, l1);
  return r;
}

// GATv2, one thread per (destination i, heads h0 .. h0 + HEADS_PER_THREAD - 1). One pass over i's CSR segment loads
// src_k once and, per head h, gathers xl[src_k, h] (all channels):
//   e[k, h] = sum_c att[h, c] * LeakyReLU(xl[src_k, h, c] + xr[i, h, c])   (parked in alpha_out)
// feeding the online softmax and the aggregation of channels 0..7; then attend_out and alpha_pass:
//   alpha = softmax of e over i's incoming edges; out[i] = sum_k alpha * drop * xl[src_k] (+ bias)
// so for C <= 8 xl[src_k] is gathered once per edge. xl in `left`, xr in `right`; writes alpha_out = alpha [E, H]
// (before dropout), out [N, H * C].
@compute @workgroup_size(WG)
fn gatv2_attend(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.nodes * head_groups()) { return; }
  init_dropout();
  let i = t / head_groups();
  let h0 = (t % head_groups()) * HEADS_PER_THREAD;
  let begin = row_ptr[i];
  let end = row_ptr[i + 1u];
  var s0 = gatv2_head(i, h0);
  var s1 = s0;
  if (HEADS_PER_THREAD == 2u) { s1 = gatv2_head(i, h0 + 1u); }
  for (var k = begin; k < end; k++) {
    let j = src[k];
    s0 = gatv2_edge(s0, i, j, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gatv2_edge(s1, i, j, k); }
  }
  attend_out(i, s0.h, begin, end, s0.o);
  if (HEADS_PER_THREAD == 2u) { attend_out(i, s1.h, begin, end, s1.o); }
  alpha_pass(begin, end, h0, s0.o, s1.o);
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
  let e = leaky_relu(score_src[j * P.heads + s.h] + s.ad_i, P.slope);
  alpha_out[k * P.heads + s.h] = e;
  let at = left_at(j, b.col);
  let l0 = left4(at, b.w0);
  var l1 = vec4f(0.0);
  if (b.two) { l1 = left4(at + 4u, b.w1); }
  r.o = online_add(s.o, e, drop(k, s.h), l0, l1);
  return r;
}

// GAT, one thread per (destination i, heads h0 ..), x in `left`. One pass over i's CSR segment:
//   e[k, h] = LeakyReLU(a_src[src_k, h] + a_dst[i, h])   (parked in alpha_out)
// with the online softmax and the aggregation of x[src_k] channels 0..7, then attend_out and alpha_pass as
// gatv2_attend. The score gathers no row of x, so this saves no gather of x over a score pass followed by an
// aggregation pass; it saves that second pass's loop, index and e loads (measured ~20% faster for C <= 8 on
// SwiftShader).
@compute @workgroup_size(WG)
fn gat_attend(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.nodes * head_groups()) { return; }
  init_dropout();
  let i = t / head_groups();
  let h0 = (t % head_groups()) * HEADS_PER_THREAD;
  let begin = row_ptr[i];
  let end = row_ptr[i + 1u];
  var s0 = gat_head(i, h0);
  var s1 = s0;
  if (HEADS_PER_THREAD == 2u) { s1 = gat_head(i, h0 + 1u); }
  for (var k = begin; k < end; k++) {
    let j = src[k];
    s0 = gat_edge(s0, j, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gat_edge(s1, j, k); }
  }
  attend_out(i, s0.h, begin, end, s0.o);
  if (HEADS_PER_THREAD == 2u) { attend_out(i, s1.h, begin, end, s1.o); }
  alpha_pass(begin, end, h0, s0.o, s1.o);
}

// ---- backward ----

// ---- GATv2 backward: the scratch between the two kernels ----

// One f32 buffer (bound as u32 words: scratch in both kernels), N*H*C + 1 + W*E*H words with W = 2 for C <= 8 and
// W = 1 with WIDE (C > 8):
//   words 0 .. N*H*C - 1          datt partials [N, H * C], one row per node (then columnSum, on the TS side)
//   word  N*H*C                   header: the dropout site of this step (DROPOUT with WIDE only; see site_word)
//   words N*H*C + 1 + W*(k*H + h) per edge k and head h: de_k (f32 bits) and, for C <= 8, the sign bits of
//                                 z_k = xl[src_k] + xr[dst_k] over the head's channels (bit c: z_c > 0) with the
//                                 keep bit (KEEP_BIT: drop(k, h) != 0)
// so the source kernel gets lrelu'(z) from one word instead of gathering xr[dst_k] (8 floats; measured at H = 8, C = 8
// on SwiftShader: gatv2_attend_src ~30% faster, gatv2_attend_dst ~15% slower, mostly for storing the bits). WIDE
// gathers xr[dst_k] and stores no bits. alpha_k * drop(k, h) is not stored (it took a third word: 43 MB on an
// ogbn-arxiv-sized graph, 1.34M edges, H = 8): the source kernel reads alpha_k (one word, as the stored product was)
// and multiplies by 1 / (1 - p) or 0 by the keep bit, the same f32 product as the destination kernel's; with WIDE it
// hashes drop(k, h) again, from the header's site. (Hashing for C <= 8 too measured gatv2_attend_src ~10% slower at
// H = 8, C = 8, p = 0.6 on SwiftShader; the keep bit costs nothing measurable.)
// datt needs lrelu(z) = (xl[j] + xr[i]) * lrelu'(z) itself, not only its sign; split over the two ends of each edge,
//   datt[h, c] = sum_k de_k * lrelu'(z_k) * (xl[src_k] + xr[dst_k])
//              = sum_i xr[i] * dz_dst[i] + sum_j xl[j] * dz_src[j]
// with dz_dst[i] = sum_{k -> i} de_k * lrelu'(z_k) (= U - t * V, the destination kernel's dxr / att) and
// dz_src[j] = sum_{k: src_k = j} de_k * lrelu'(z_k) (the source kernel's dxl term / att). So each kernel adds one
// product per node and channel, no per-edge work: the destination kernel writes partial[i] = xr[i] * dz_dst[i], the
// source kernel (a later dispatch, one thread per element) adds xl[j] * dz_src[j], and datt is the column sum.
fn site_word() -> u32 { return P.nodes * P.heads * P.channels; }

fn pair_word(kh: u32) -> u32 { return site_word() + 1u + select(2u, 1u, WIDE) * kh; }

fn put_partial4(o: u32, width: u32, v: vec4f) {
  scratch[o] = bitcast<u32>(v.x);
  if (width > 1u) { scratch[o + 1u] = bitcast<u32>(v.y); }
  if (width > 2u) { scratch[o + 2u] = bitcast<u32>(v.z); }
  if (width > 3u) { scratch[o + 3u] = bitcast<u32>(v.w); }
}

// Bit c (c = 0 .. 3 of chunk 0, 4 .. 7 of chunk 1) set when z_c > 0. Lanes past a chunk's width repeat its last
// channel; their bits are never used (att4 is zero there and store4 skips them).
fn sign_bits(z0: vec4f, z1: vec4f) -> u32 {
  let m = select(vec4u(0u), vec4u(1u, 2u, 4u, 8u), z0 > vec4f(0.0)) | select(vec4u(0u), vec4u(16u, 32u, 64u, 128u), z1 > vec4f(0.0));
  return m.x | m.y | m.z | m.w;
}

const KEEP_BIT = 256u;

// 1 / (1 - p), once per thread (init_dropout_from_scratch).
var<private> keep_scale: f32;

// drop(k, h) from the keep bit of its sign-bits word (DROPOUT, C <= 8): the destination kernel's
// select(0, 1 / (1 - p), kept) from dropout_scale_at, so alpha * this is the same f32 as alpha * drop(k, h).
fn drop_from_bits(bits: u32) -> f32 {
  return select(0.0, keep_scale, (bits & KEEP_BIT) != 0u);
}

// lrelu'(z) of chunk `chunk` (0 or 1) from the sign bits.
fn grad_from_bits4(bits: u32, chunk: u32) -> vec4f {
  let on = (vec4u(bits >> (4u * chunk)) & vec4u(1u, 2u, 4u, 8u)) != vec4u(0u);
  return select(vec4f(P.slope), vec4f(1.0), on);
}

// GATv2 backward, destination side, state of one head h of destination i: the first 8 channels of dagg[i] and
// xr[i] (in registers; wider heads load the rest of dagg per edge), t and, for channels 0..7, U and V (below).
struct Gatv2DstHead {
  h: u32,
  b: Block,
  d0: vec4f,
  d1: vec4f,
  xr0: vec4f,
  xr1: vec4f,
  total: f32,
  u0: vec4f,
  u1: vec4f,
  v0: vec4f,
  v1: vec4f,
}

fn gatv2_dst_head(i: u32, h: u32) -> Gatv2DstHead {
  let b = block_at(h, 0u);
  let row = i * P.heads * P.channels;
  let zero = vec4f(0.0);
  var s = Gatv2DstHead(h, b, dagg4(row + b.col, b.w0), zero, right4(right_at(i, b.col), b.w0), zero, 0.0,
    zero, zero, zero, zero);
  if (b.two) {
    s.d1 = dagg4(row + b.col + 4u, b.w1);
    s.xr1 = right4(right_at(i, b.col + 4u), b.w1);
  }
  return s;
}

// Pass 1, edge k (source j) of destination i for one head; parks dalpha_k and (C <= 8) the sign bits of z_k with the
// keep bit of drop(k, h) in the scratch.
fn gatv2_dst_edge(s: Gatv2DstHead, i: u32, j: u32, k: u32) -> Gatv2DstHead {
  var r = s;
  let b = s.b;
  let at = left_at(j, b.col);
  let l0 = left4(at, b.w0);
  var l1 = vec4f(0.0);
  var d = dot(s.d0, l0);
  if (b.two) {
    l1 = left4(at + 4u, b.w1);
    d += dot(s.d1, l1);
  }
  if (WIDE) {
    let row = i * P.heads * P.channels;
    for (var c0 = 8u; c0 < P.channels; c0 += 4u) {
      let width = min(4u, P.channels - c0);
      d += dot(dagg4(row + b.col + c0, width), left4(at + c0, width));
    }
  }
  let kh = k * P.heads + s.h;
  let dr = drop(k, s.h);
  let a = alpha[kh];
  d *= dr;
  let ad = a * d;
  r.total += ad;
  let z0 = l0 + s.xr0;
  let z1 = l1 + s.xr1;
  let w = pair_word(kh);
  scratch[w] = bitcast<u32>(d);
  if (!WIDE) { scratch[w + 1u] = sign_bits(z0, z1) | select(0u, KEEP_BIT, dr != 0.0); }
  let g0 = leaky_relu_grad4(z0, P.slope);
  let g1 = leaky_relu_grad4(z1, P.slope);
  r.u0 += ad * g0;
  r.v0 += a * g0;
  r.u1 += ad * g1;
  r.v1 += a * g1;
  return r;
}

// For channels 0..7 of head h, with dz = U - t * V: dxr[i, h] = att * dz and the datt partial xr[i] * dz. With WIDE
// (C > 8) the further blocks of 8, one pass over i's CSR segment each, gathering xl[src_k] again for
// dz = sum_k de_k * lrelu'(z_k). The first of those passes writes de over dalpha in the scratch, the later ones read
// it back.
fn gatv2_dst_out(i: u32, begin: u32, end: u32, s: Gatv2DstHead) {
  let b = s.b;
  let prow = i * P.heads * P.channels;
  let dz0 = s.u0 - s.total * s.v0;
  store4(grad_at(i, b.col), b.w0, att4(b.col, b.w0) * dz0, false);
  put_partial4(prow + b.col, b.w0, s.xr0 * dz0);
  if (b.two) {
    let dz1 = s.u1 - s.total * s.v1;
    store4(grad_at(i, b.col + 4u), b.w1, att4(b.col + 4u, b.w1) * dz1, false);
    put_partial4(prow + b.col + 4u, b.w1, s.xr1 * dz1);
  }
  if (!WIDE) { return; }
  for (var c0 = 8u; c0 < P.channels; c0 += 8u) {
    let bc = block_at(s.h, c0);
    let r0 = right4(right_at(i, bc.col), bc.w0);
    var r1 = vec4f(0.0);
    if (bc.two) { r1 = right4(right_at(i, bc.col + 4u), bc.w1); }
    var dz0 = vec4f(0.0);
    var dz1 = vec4f(0.0);
    for (var k = begin; k < end; k++) {
      let kh = k * P.heads + s.h;
      let w = pair_word(kh);
      var de: f32;
      if (c0 == 8u) {
        de = alpha[kh] * (bitcast<f32>(scratch[w]) - s.total);
        scratch[w] = bitcast<u32>(de);
      } else {
        de = bitcast<f32>(scratch[w]);
      }
      let at = left_at(src[k], bc.col);
      dz0 += de * leaky_relu_grad4(left4(at, bc.w0) + r0, P.slope);
      if (bc.two) { dz1 += de * leaky_relu_grad4(left4(at + 4u, bc.w1) + r1, P.slope); }
    }
    store4(grad_at(i, bc.col), bc.w0, att4(bc.col, bc.w0) * dz0, false);
    put_partial4(prow + bc.col, bc.w0, r0 * dz0);
    if (bc.two) {
      store4(grad_at(i, bc.col + 4u), bc.w1, att4(bc.col + 4u, bc.w1) * dz1, false);
      put_partial4(prow + bc.col + 4u, bc.w1, r1 * dz1);
    }
  }
}

// Pass 2 (C <= 8) for one head: de_k over dalpha_k in the scratch.
fn gatv2_de_at(kh: u32, total: f32) {
  let w = pair_word(kh);
  scratch[w] = bitcast<u32>(alpha[kh] * (bitcast<f32>(scratch[w]) - total));
}

// GATv2 backward, destination side: one thread per (destination i, heads h0 ..), with z_k = xl[src_k] + xr[i].
// Pass 1 over i's CSR segment loads src_k once and, per head h, gathers xl[src_k, h] (all channels):
//   dalpha_k = drop(k, h) * sum_c dagg[i, h, c] * xl[src_k, h, c]     (gradient of alpha before dropout)
//   t = sum_k alpha_k * dalpha_k
//   and for channels 0..7:  U = sum_k alpha_k * dalpha_k * lrelu'(z_k),  V = sum_k alpha_k * lrelu'(z_k)
// parking dalpha_k and (C <= 8) the sign bits of z_k and the keep bit in the scratch (see pair_word). With
// de_k = alpha_k * (dalpha_k - t) (softmax backward) and dz = sum_k de_k * lrelu'(z_k) = U - t * V,
//   dxr[i, h, c]     = att[h, c] * dz     (0 without in-edges)
//   partial[i, h, c] = xr[i, h, c] * dz   (the destination half of datt, see pair_word)
// Pass 2, for C <= 8, is scalar (no gathers; all the thread's heads): de_k over dalpha_k. For C > 8, gatv2_dst_out's
// further passes. out = dxr (view). With DROPOUT and WIDE, thread 0 also writes the dropout site to the scratch's
// header word for gatv2_attend_src.
@compute @workgroup_size(WG)
fn gatv2_attend_dst(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.nodes * head_groups()) { return; }
  init_dropout();
  if (DROPOUT && WIDE && t == 0u) { scratch[site_word()] = mask_site; }
  let i = t / head_groups();
  let h0 = (t % head_groups()) * HEADS_PER_THREAD;
  let begin = row_ptr[i];
  let end = row_ptr[i + 1u];
  var s0 = gatv2_dst_head(i, h0);
  var s1 = s0;
  if (HEADS_PER_THREAD == 2u) { s1 = gatv2_dst_head(i, h0 + 1u); }
  for (var k = begin; k < end; k++) {
    let j = src[k];
    s0 = gatv2_dst_edge(s0, i, j, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gatv2_dst_edge(s1, i, j, k); }
  }
  gatv2_dst_out(i, begin, end, s0);
  if (HEADS_PER_THREAD == 2u) { gatv2_dst_out(i, begin, end, s1); }
  if (WIDE) { return; }
  for (var k = begin; k < end; k++) {
    let kh = k * P.heads + h0;
    gatv2_de_at(kh, s0.total);
    if (HEADS_PER_THREAD == 2u) { gatv2_de_at(kh + 1u, s1.total); }
  }
}

// The source-side kernels take one thread per (source j, heads h0 .., block of 8 channels) over j's outgoing edges:
// the per-edge loads perm and dst are shared by the thread's heads, each head's pair by 8 channels. Thread t of a
// launch of nodes * head_groups() * blocks_per_head() threads: node, first head, first channel of the block.
fn blocks_per_head() -> u32 { return (P.channels + 7u) / 8u; }

fn src_thread_of(t: u32) -> vec3u {
  let per_head = blocks_per_head();
  let per_node = head_groups() * per_head;
  let r = t % per_node;
  return vec3u(t / per_node, (r / per_head) * HEADS_PER_THREAD, (r % per_head) * 8u);
}

// GATv2 backward, source side, state of one (source j, head h, block b): xl[j, h, block] (WIDE only) and the sums.
struct Gatv2SrcHead {
  h: u32,
  b: Block,
  xl0: vec4f,
  xl1: vec4f,
  dx0: vec4f,
  dx1: vec4f,
  dz0: vec4f,
  dz1: vec4f,
}

fn gatv2_src_head(j: u32, h: u32, c0: u32) -> Gatv2SrcHead {
  let b = block_at(h, c0);
  let zero = vec4f(0.0);
  var s = Gatv2SrcHead(h, b, left4(left_at(j, b.col), b.w0), zero, zero, zero, zero, zero);
  if (b.two) { s.xl1 = left4(left_at(j, b.col + 4u), b.w1); }
  return s;
}

// Out-edge k (destination i) for one head: de from the scratch, alpha * drop from alpha and the keep bit (WIDE: the
// hash), the same f32 as the destination kernel's; lrelu'(z) from the sign bits, or with WIDE from z = xl[j] + xr[i]
// (gathered).
fn gatv2_src_edge(s: Gatv2SrcHead, k: u32, i: u32) -> Gatv2SrcHead {
  var r = s;
  let b = s.b;
  let kh = k * P.heads + s.h;
  let w = pair_word(kh);
  let de = bitcast<f32>(scratch[w]);
  var ad = alpha[kh];
  let row = i * P.heads * P.channels + b.col;
  var g0: vec4f;
  var g1 = vec4f(0.0);
  if (WIDE) {
    ad *= drop(k, s.h);
    g0 = leaky_relu_grad4(s.xl0 + right4(right_at(i, b.col), b.w0), P.slope);
    if (b.two) { g1 = leaky_relu_grad4(s.xl1 + right4(right_at(i, b.col + 4u), b.w1), P.slope); }
  } else {
    let bits = scratch[w + 1u];
    if (DROPOUT) { ad *= drop_from_bits(bits); }
    g0 = grad_from_bits4(bits, 0u);
    g1 = grad_from_bits4(bits, 1u);
  }
  r.dx0 += ad * dagg4(row, b.w0);
  r.dz0 += de * g0;
  if (b.two) {
    r.dx1 += ad * dagg4(row + 4u, b.w1);
    r.dz1 += de * g1;
  }
  return r;
}

// Adds xl[j] * dz to the four partials at scratch[o ..] (the first `width`).
fn add_partial4(o: u32, width: u32, v: vec4f) {
  scratch[o] = bitcast<u32>(bitcast<f32>(scratch[o]) + v.x);
  if (width > 1u) { scratch[o + 1u] = bitcast<u32>(bitcast<f32>(scratch[o + 1u]) + v.y); }
  if (width > 2u) { scratch[o + 2u] = bitcast<u32>(bitcast<f32>(scratch[o + 2u]) + v.z); }
  if (width > 3u) { scratch[o + 3u] = bitcast<u32>(bitcast<f32>(scratch[o + 3u]) + v.w); }
}

fn gatv2_src_out(j: u32, s: Gatv2SrcHead) {
  let b = s.b;
  let acc = P.accumulate != 0u;
  let prow = j * P.heads * P.channels + b.col;
  store4(grad_at(j, b.col), b.w0, s.dx0 + att4(b.col, b.w0) * s.dz0, acc);
  add_partial4(prow, b.w0, s.xl0 * s.dz0);
  if (b.two) {
    store4(grad_at(j, b.col + 4u), b.w1, s.dx1 + att4(b.col + 4u, b.w1) * s.dz1, acc);
    add_partial4(prow + 4u, b.w1, s.xl1 * s.dz1);
  }
}

// GATv2 backward, source side: one thread per (source j, heads h0 .., block of 8 channels) over j's outgoing edges
// (CSC), with de and (C <= 8) the sign and keep bits of z = xl[j] + xr[dst_k] from the scratch and
// ad = alpha * drop(k, h) (alpha read; drop from the keep bit, or with WIDE hashed again with the site from the
// scratch's header; DROPOUT pipelines only):
//   dz = sum_k de * lrelu'(z)
//   dxl[j, h, c] (+)= sum_k ad * dagg[dst_k, h, c] + att[h, c] * dz
//   partial[j, h, c] += xl[j, h, c] * dz     (the source half of datt, see pair_word)
// Per edge and head it gathers 2 scratch words (1 with WIDE), alpha and dagg[dst_k] (8 floats); with WIDE (C > 8)
// xr[dst_k] too, for lrelu'(z) (the destination pass has z for channels 0..7 only). Two heads per thread where H is
// even and C <= 8 (sharing perm and dst): with xr[dst_k] and the datt sums gone, 4 vec4 of state per head.
// out = dxl (view).
@compute @workgroup_size(WG)
fn gatv2_attend_src(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.nodes * head_groups() * blocks_per_head()) { return; }
  init_dropout_from_scratch();
  let q = src_thread_of(t);
  let j = q.x;
  var s0 = gatv2_src_head(j, q.y, q.z);
  var s1 = s0;
  if (HEADS_PER_THREAD == 2u) { s1 = gatv2_src_head(j, q.y + 1u, q.z); }
  for (var e = col_ptr[j]; e < col_ptr[j + 1u]; e++) {
    let k = perm[e];
    let i = dst[k];
    s0 = gatv2_src_edge(s0, k, i);
    if (HEADS_PER_THREAD == 2u) { s1 = gatv2_src_edge(s1, k, i); }
  }
  gatv2_src_out(j, s0);
  if (HEADS_PER_THREAD == 2u) { gatv2_src_out(j, s1); }
}

// GAT backward, destination side, state of one head h of destination i: a_dst[i, h], the first 8 channels of
// dagg[i] (in registers; wider heads load the rest per edge), t and dad.
struct GatDstHead {
  h: u32,
  b: Block,
  ad_i: f32,
  d0: vec4f,
  d1: vec4f,
  total: f32,
  dad: f32,
}

fn gat_dst_head(i: u32, h: u32) -> GatDstHead {
  let b = block_at(h, 0u);
  let row = i * P.heads * P.channels;
  var s = GatDstHead(h, b, score_dst[i * P.heads + h], dagg4(row + b.col, b.w0), vec4f(0.0), 0.0, 0.0);
  if (b.two) { s.d1 = dagg4(row + b.col + 4u, b.w1); }
  return s;
}

// Pass 1, edge k (source j) of destination i for one head: parks (dalpha_k, lrelu'(s_k)) in pair_out.
fn gat_dst_edge(s: GatDstHead, i: u32, j: u32, k: u32) -> GatDstHead {
  var r = s;
  let b = s.b;
  let at = left_at(j, b.col);
  var d = dot(s.d0, left4(at, b.w0));
  if (b.two) { d += dot(s.d1, left4(at + 4u, b.w1)); }
  if (WIDE) {
    let row = i * P.heads * P.channels;
    for (var c0 = 8u; c0 < P.channels; c0 += 4u) {
      let width = min(4u, P.channels - c0);
      d += dot(dagg4(row + b.col + c0, width), left4(at + c0, width));
    }
  }
  let kh = k * P.heads + s.h;
  d *= drop(k, s.h);
  r.total += alpha[kh] * d;
  pair_out[kh] = vec2f(d, leaky_relu_grad(score_src[j * P.heads + s.h] + s.ad_i, P.slope));
  return r;
}

// Pass 2, edge k for one head: g_k into pair_out (with alpha_k * drop) and dad.
fn gat_dst_pass2(s: GatDstHead, k: u32) -> GatDstHead {
  var r = s;
  let kh = k * P.heads + s.h;
  let pr = pair_out[kh];
  let a = alpha[kh];
  let g = a * (pr.x - s.total) * pr.y;
  pair_out[kh] = vec2f(g, a * drop(k, s.h));
  r.dad += g;
  return r;
}

// GAT backward, destination side: one thread per (destination i, heads h0 ..), x in `left`,
// s_k = a_src[src_k] + a_dst[i]. Pass 1 over i's CSR segment loads src_k once and, per head h, gathers
// x[src_k, h] (all channels) and a_src[src_k, h]:
//   dalpha_k = drop(k, h) * sum_c dagg[i, h, c] * x[src_k, h, c];  t = sum_k alpha_k * dalpha_k
// parking (dalpha_k, lrelu'(s_k)) in pair_out. Pass 2 is scalar (no gathers; drop(k, h) is hashed again):
//   de_k = alpha_k * (dalpha_k - t);  g_k = de_k * lrelu'(s_k);  dad[i, h] = sum_k g_k
// pair_out[k, h] = (g_k, alpha_k * drop(k, h)); out = dad [N, H].
@compute @workgroup_size(WG)
fn gat_attend_dst(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.nodes * head_groups()) { return; }
  init_dropout();
  let i = t / head_groups();
  let h0 = (t % head_groups()) * HEADS_PER_THREAD;
  let begin = row_ptr[i];
  let end = row_ptr[i + 1u];
  var s0 = gat_dst_head(i, h0);
  var s1 = s0;
  if (HEADS_PER_THREAD == 2u) { s1 = gat_dst_head(i, h0 + 1u); }
  for (var k = begin; k < end; k++) {
    let j = src[k];
    s0 = gat_dst_edge(s0, i, j, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gat_dst_edge(s1, i, j, k); }
  }
  for (var k = begin; k < end; k++) {
    s0 = gat_dst_pass2(s0, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gat_dst_pass2(s1, k); }
  }
  let o = i * P.heads + h0;
  out[o] = s0.dad;
  if (HEADS_PER_THREAD == 2u) { out[o + 1u] = s1.dad; }
}

// GAT backward, source side, state of one (source j, head h, block b).
struct GatSrcHead {
  h: u32,
  b: Block,
  dx0: vec4f,
  dx1: vec4f,
  das: f32,
}

fn gat_src_edge(s: GatSrcHead, k: u32, row: u32) -> GatSrcHead {
  var r = s;
  let pr = pair_in[k * P.heads + s.h];
  let at = row + s.b.col;
  r.dx0 += pr.y * dagg4(at, s.b.w0);
  if (s.b.two) { r.dx1 += pr.y * dagg4(at + 4u, s.b.w1); }
  r.das += pr.x;
  return r;
}

fn gat_src_out(j: u32, s: GatSrcHead) {
  let acc = P.accumulate != 0u;
  store4(grad_at(j, s.b.col), s.b.w0, s.dx0, acc);
  if (s.b.two) { store4(grad_at(j, s.b.col + 4u), s.b.w1, s.dx1, acc); }
  if (s.b.col == s.h * P.channels) { out2[j * P.heads + s.h] = s.das; }
}

// GAT backward, source side: one thread per (source j, heads h0 .., block of 8 channels) over j's outgoing edges
// (CSC), with (g, ad) = pair_in[k, h]:
//   dx[j, h, c] (+)= sum_k ad * dagg[dst_k, h, c]
//   das[j, h] = sum_k g      (written by the head's first block)
// out = dx (view), out2 = das [N, H].
@compute @workgroup_size(WG)
fn gat_attend_src(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.nodes * head_groups() * blocks_per_head()) { return; }
  let q = src_thread_of(t);
  let j = q.x;
  let zero = GatSrcHead(q.y, block_at(q.y, q.z), vec4f(0.0), vec4f(0.0), 0.0);
  var s0 = zero;
  var s1 = zero;
  if (HEADS_PER_THREAD == 2u) { s1 = GatSrcHead(q.y + 1u, block_at(q.y + 1u, q.z), vec4f(0.0), vec4f(0.0), 0.0); }
  let hc = P.heads * P.channels;
  for (var e = col_ptr[j]; e < col_ptr[j + 1u]; e++) {
    let k = perm[e];
    let row = dst[k] * hc;
    s0 = gat_src_edge(s0, k, row);
    if (HEADS_PER_THREAD == 2u) { s1 = gat_src_edge(s1, k, row); }
  }
  gat_src_out(j, s0);
  if (HEADS_PER_THREAD == 2u) { gat_src_out(j, s1); }
}
