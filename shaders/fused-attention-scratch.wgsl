// Prelude of the fused attention's backward passes: the GATv2 scratch between the destination and source kernels.

// ---- GATv2 backward: the scratch between the two kernels ----

// One f32 buffer (bound as u32 words: scratch in both kernels), N*H*C + 1 + W*E*H words with W = 2 for C <= 8 and
// W = 1 with WIDE (C > 8):
//   words 0 .. N*H*C - 1          datt partials [N, H * C], one row per node (then columnSum, on the TS side)
//   word  N*H*C                   header: the dropout site of this step (DROPOUT with WIDE only; see site_word)
//   words N*H*C + 1 + W*(k*H + h) per edge k and head h: de_k (f32 bits) and, for C <= 8, the sign bits of
//                                 z_k = xl[src_k] + xr[dst_k] over the head's channels (bit c: z_c > 0) with the
//                                 keep bit (KEEP_BIT: drop(k, h) != 0)
//   then, with an edge term only  a copy of edge [E, H * C], which the source kernel overwrites with dedge
//                                 (edge_word in fused-attention-edge.wgsl)
// so the source kernel gets lrelu'(z) from one word instead of gathering xr[dst_k] (8 floats). WIDE gathers xr[dst_k]
// and stores no bits. alpha_k * drop(k, h) is not stored (it would take a third word per edge and head): the source
// kernel reads alpha_k and multiplies by 1 / (1 - p) or 0 by the keep bit, the same f32 product as the destination
// kernel's; with WIDE it hashes drop(k, h) again, from the header's site. (docs/kernels.md has the measurements.)
// datt needs lrelu(z) = (xl[j] + xr[i]) * lrelu'(z) itself, not only its sign; split over the two ends of each edge,
//   datt[h, c] = sum_k de_k * lrelu'(z_k) * (xl[src_k] + xr[dst_k])
//              = sum_i xr[i] * dz_dst[i] + sum_j xl[j] * dz_src[j]
// with dz_dst[i] = sum_{k -> i} de_k * lrelu'(z_k) (= U - t * V, the destination kernel's dxr / att) and
// dz_src[j] = sum_{k: src_k = j} de_k * lrelu'(z_k) (the source kernel's dxl term / att). So each kernel adds one
// product per node and channel, no per-edge work: the destination kernel writes partial[i] = xr[i] * dz_dst[i], the
// source kernel (a later dispatch, one thread per element) adds xl[j] * dz_src[j], and datt is the column sum.
fn site_word() -> u32 { return P.nodes * P.heads * P.channels; }

fn pair_word(kh: u32) -> u32 { return site_word() + 1u + select(2u, 1u, WIDE) * kh; }

// Bit c (c = 0 .. 3 of chunk 0, 4 .. 7 of chunk 1) set when z_c > 0. Lanes past a chunk's width repeat its last
// channel; their bits are never used (att4 is zero there and store4 skips them).
fn sign_bits(z0: vec4f, z1: vec4f) -> u32 {
  let m = select(vec4u(0u), vec4u(1u, 2u, 4u, 8u), z0 > vec4f(0.0)) |
    select(vec4u(0u), vec4u(16u, 32u, 64u, 128u), z1 > vec4f(0.0));
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

// gatv2_attend_src binds no step buffer (it is at the 10-storage-buffer limit, see canFuseAttention). With WIDE it
// takes the site from the scratch's header word, where thread 0 of gatv2_attend_dst (an earlier dispatch) put it, and
// hashes; for C <= 8 it takes drop(k, h) from the keep bit next to the sign bits (see pair_word) and never hashes.
fn init_dropout_from_scratch() {
  if (DROPOUT && WIDE) { mask = dropout_with_site(scratch[site_word()], P.p); }
  if (DROPOUT && !WIDE) { keep_scale = 1.0 / (1.0 - P.p); }
}
