// Fused attention, backward, source side (gatv2_attend_src, gat_attend_src): over each source's outgoing edges (CSC),
// dxl / dx from what the destination side left per edge, and (GATv2) its share of the datt partials, (GAT) das.
// Preludes: chunk-out.wgsl, chunk-attention.wgsl, fused-attention.wgsl, edge-dropout.wgsl,
// fused-attention-scratch.wgsl and the edge prelude (fused-attention-edge.wgsl or fused-attention-no-edge.wgsl).

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
  ez0: vec4f, // EDGE: sum_k edge[k] * de * lrelu'(z), the edge's share of datt
  ez1: vec4f,
}

fn gatv2_src_head(j: u32, h: u32, c0: u32) -> Gatv2SrcHead {
  let b = block_at(h, c0);
  let zero = vec4f(0.0);
  var s = Gatv2SrcHead(h, b, left4(left_at(j, b.col), b.w0), zero, zero, zero, zero, zero, zero, zero);
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
  var ed0 = vec4f(0.0);
  var ed1 = vec4f(0.0);
  if (EDGE) {
    ed0 = scratch_edge4(k, b.col, b.w0);
    if (b.two) { ed1 = scratch_edge4(k, b.col + 4u, b.w1); }
  }
  if (WIDE) {
    ad *= drop(k, s.h);
    var z0 = s.xl0 + right4(right_at(i, b.col), b.w0);
    if (EDGE) { z0 += ed0; }
    g0 = leaky_relu_grad4(z0, P.slope);
    if (b.two) {
      var z1 = s.xl1 + right4(right_at(i, b.col + 4u), b.w1);
      if (EDGE) { z1 += ed1; }
      g1 = leaky_relu_grad4(z1, P.slope);
    }
  } else {
    let bits = scratch[w + 1u];
    if (DROPOUT) { ad *= drop_from_bits(bits); }
    g0 = grad_from_bits4(bits, 0u);
    g1 = grad_from_bits4(bits, 1u);
  }
  let q0 = de * g0;
  let q1 = de * g1;
  r.dx0 += ad * dagg4(row, b.w0);
  r.dz0 += q0;
  if (b.two) {
    r.dx1 += ad * dagg4(row + 4u, b.w1);
    r.dz1 += q1;
  }
  if (EDGE) { gatv2_src_dedge(&r, k, q0, q1, ed0, ed1); }
  return r;
}

// EDGE: for out-edge k, with q = de * lrelu'(z) and the edge term ed (from the scratch), dedge[k] = att * q over the
// edge term, and ed * q into the datt sums.
fn gatv2_src_dedge(r: ptr<function, Gatv2SrcHead>, k: u32, q0: vec4f, q1: vec4f, ed0: vec4f, ed1: vec4f) {
  let b = (*r).b;
  (*r).ez0 += ed0 * q0;
  put_dedge4(k, b.col, b.w0, att4(b.col, b.w0) * q0);
  if (b.two) {
    (*r).ez1 += ed1 * q1;
    put_dedge4(k, b.col + 4u, b.w1, att4(b.col + 4u, b.w1) * q1);
  }
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
  var p0 = s.xl0 * s.dz0;
  var p1 = s.xl1 * s.dz1;
  if (EDGE) {
    p0 += s.ez0;
    p1 += s.ez1;
  }
  store4(grad_at(j, b.col), b.w0, s.dx0 + att4(b.col, b.w0) * s.dz0, acc);
  add_partial4(prow, b.w0, p0);
  if (b.two) {
    store4(grad_at(j, b.col + 4u), b.w1, s.dx1 + att4(b.col + 4u, b.w1) * s.dz1, acc);
    add_partial4(prow + 4u, b.w1, p1);
  }
}

// GATv2 backward, source side: one thread per (source j, heads h0 .., block of 8 channels) over j's outgoing edges
// (CSC), with de and (C <= 8) the sign and keep bits of z = xl[j] + xr[dst_k] from the scratch and
// ad = alpha * drop(k, h) (alpha read; drop from the keep bit, or with WIDE hashed again with the site from the
// scratch's header; DROPOUT pipelines only):
//   dz = sum_k de * lrelu'(z)
//   dxl[j, h, c] (+)= sum_k ad * dagg[dst_k, h, c] + att[h, c] * dz
//   partial[j, h, c] += xl[j, h, c] * dz     (the source half of datt, see pair_word)
// With EDGE, z includes the edge term (read from the scratch, fused-attention-edge.wgsl), the thread writes
// dedge[k, h, c] = att[h, c] * de * lrelu'(z) over it and adds sum_k edge[k, h, c] * de * lrelu'(z) to the partial.
// Per edge and head it gathers 2 scratch words (1 with WIDE), alpha and dagg[dst_k] (8 floats); with WIDE (C > 8)
// xr[dst_k] too, for lrelu'(z) (the destination pass has z for channels 0..7 only). Two heads per thread where H is
// even and C <= 8 (sharing perm and dst): with xr[dst_k] and the datt sums gone, 4 vec4 of state per head.
// out = dxl (view).
@compute @workgroup_size(WG)
fn gatv2_attend_src(inv: Invocation) {
  let t = thread_of(inv);
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
fn gat_attend_src(inv: Invocation) {
  let t = thread_of(inv);
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
