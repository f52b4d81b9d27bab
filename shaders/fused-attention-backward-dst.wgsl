// Fused attention, backward, destination side (gatv2_attend_dst, gat_attend_dst): over each destination's incoming
// edges, dalpha, t = sum_k alpha * dalpha and (GATv2) dxr and the datt partials in one gather pass, then de in a
// scalar pass, left for the source side in the scratch (GATv2) or the pairs (GAT).
// Preludes: chunk-out.wgsl, chunk-attention.wgsl, fused-attention.wgsl, edge-dropout.wgsl,
// fused-attention-scratch.wgsl and the edge prelude (fused-attention-edge.wgsl or fused-attention-no-edge.wgsl).
// With EDGE, z (GATv2) and s (GAT) include the edge term; GAT's second pass writes dedge = g_k.

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

// WIDE (C > 8), both passes 1: d plus the terms dagg[i, h, c] * left[j, h, c] of dalpha's sum for channels 8 and up
// (4 at a time, in order), past the block of dagg[i] in registers. b is head h's first block; row j of the left view
// (xl or x) starts at `at`.
fn add_dalpha_wide(d: f32, i: u32, b: Block, at: u32) -> f32 {
  var r = d;
  let row = i * P.heads * P.channels;
  for (var c0 = 8u; c0 < P.channels; c0 += 4u) {
    let width = min(4u, P.channels - c0);
    r += dot(dagg4(row + b.col + c0, width), left4(at + c0, width));
  }
  return r;
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
  if (WIDE) { d = add_dalpha_wide(d, i, b, at); }
  let kh = k * P.heads + s.h;
  let dr = drop(k, s.h);
  let a = alpha[kh];
  d *= dr;
  let ad = a * d;
  r.total += ad;
  var z0 = l0 + s.xr0;
  var z1 = l1 + s.xr1;
  if (EDGE) {
    z0 += scratch_edge4(k, b.col, b.w0);
    if (b.two) { z1 += scratch_edge4(k, b.col + 4u, b.w1); }
  }
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
fn gatv2_dst_out(d: DstThread, s: Gatv2DstHead) {
  let i = d.i;
  let b = s.b;
  let prow = i * P.heads * P.channels;
  let dz0 = s.u0 - s.total * s.v0;
  store4(grad_at(i, b.col), b.w0, att4(b.col, b.w0) * dz0, false);
  store4_scratch(prow + b.col, b.w0, s.xr0 * dz0);
  if (b.two) {
    let dz1 = s.u1 - s.total * s.v1;
    store4(grad_at(i, b.col + 4u), b.w1, att4(b.col + 4u, b.w1) * dz1, false);
    store4_scratch(prow + b.col + 4u, b.w1, s.xr1 * dz1);
  }
  if (!WIDE) { return; }
  for (var c0 = 8u; c0 < P.channels; c0 += 8u) {
    let bc = block_at(s.h, c0);
    let r0 = right4(right_at(i, bc.col), bc.w0);
    var r1 = vec4f(0.0);
    if (bc.two) { r1 = right4(right_at(i, bc.col + 4u), bc.w1); }
    var dz0 = vec4f(0.0);
    var dz1 = vec4f(0.0);
    for (var k = d.begin; k < d.end; k++) {
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
      var z0 = left4(at, bc.w0) + r0;
      if (EDGE) { z0 += scratch_edge4(k, bc.col, bc.w0); }
      dz0 += de * leaky_relu_grad4(z0, P.slope);
      if (bc.two) {
        var z1 = left4(at + 4u, bc.w1) + r1;
        if (EDGE) { z1 += scratch_edge4(k, bc.col + 4u, bc.w1); }
        dz1 += de * leaky_relu_grad4(z1, P.slope);
      }
    }
    store4(grad_at(i, bc.col), bc.w0, att4(bc.col, bc.w0) * dz0, false);
    store4_scratch(prow + bc.col, bc.w0, r0 * dz0);
    if (bc.two) {
      store4(grad_at(i, bc.col + 4u), bc.w1, att4(bc.col + 4u, bc.w1) * dz1, false);
      store4_scratch(prow + bc.col + 4u, bc.w1, r1 * dz1);
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
fn gatv2_attend_dst(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * head_groups()) { return; }
  init_dropout();
  if (DROPOUT && WIDE && t == 0u) { scratch[site_word()] = mask.site; }
  let d = dst_thread_of(t);
  var s0 = gatv2_dst_head(d.i, d.h0);
  var s1 = s0;
  if (HEADS_PER_THREAD == 2u) { s1 = gatv2_dst_head(d.i, d.h0 + 1u); }
  for (var k = d.begin; k < d.end; k++) {
    let j = src[k];
    s0 = gatv2_dst_edge(s0, d.i, j, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gatv2_dst_edge(s1, d.i, j, k); }
  }
  gatv2_dst_out(d, s0);
  if (HEADS_PER_THREAD == 2u) { gatv2_dst_out(d, s1); }
  if (WIDE) { return; }
  for (var k = d.begin; k < d.end; k++) {
    let kh = k * P.heads + d.h0;
    gatv2_de_at(kh, s0.total);
    if (HEADS_PER_THREAD == 2u) { gatv2_de_at(kh + 1u, s1.total); }
  }
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
  if (WIDE) { d = add_dalpha_wide(d, i, b, at); }
  let kh = k * P.heads + s.h;
  d *= drop(k, s.h);
  r.total += alpha[kh] * d;
  var sc = score_src[j * P.heads + s.h] + s.ad_i;
  if (EDGE) { sc += gat_edge_io(kh); }
  pair_out[kh] = vec2f(d, leaky_relu_grad(sc, P.slope));
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
  if (EDGE) { put_gat_dedge(kh, g); }
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
fn gat_attend_dst(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * head_groups()) { return; }
  init_dropout();
  let d = dst_thread_of(t);
  var s0 = gat_dst_head(d.i, d.h0);
  var s1 = s0;
  if (HEADS_PER_THREAD == 2u) { s1 = gat_dst_head(d.i, d.h0 + 1u); }
  for (var k = d.begin; k < d.end; k++) {
    let j = src[k];
    s0 = gat_dst_edge(s0, d.i, j, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gat_dst_edge(s1, d.i, j, k); }
  }
  for (var k = d.begin; k < d.end; k++) {
    s0 = gat_dst_pass2(s0, k);
    if (HEADS_PER_THREAD == 2u) { s1 = gat_dst_pass2(s1, k); }
  }
  let o = d.i * P.heads + d.h0;
  put_dad(o, s0.dad);
  if (HEADS_PER_THREAD == 2u) { put_dad(o + 1u, s1.dad); }
}
