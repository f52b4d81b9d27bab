// Prelude of the fused attention for GATv2 and GAT (GATConv): scores, the softmax over each destination's incoming
// edges, dropout on the coefficients and the weighted aggregation in one kernel (fused-attention-forward.wgsl), and
// the backward of the whole chain in two (fused-attention-backward-dst.wgsl, fused-attention-backward-src.wgsl).
// Same results as edge-scores.wgsl's scores -> softmax.wgsl -> aggregate.wgsl (and their backward), with fewer
// passes over the edges and fewer dispatches. This file holds what the passes share: the uniform block, the
// bindings, node-matrix views, the WIDE and HEADS_PER_THREAD variants and blocks of 8 channels.
//
// Node matrices are strided views: element (n, j) of a view lives at m[n * stride + offset + j], with head h,
// channel c at column j = h * C + c. Per-edge values are [E, H] in CSR order (edges sorted by destination); dagg and
// the aggregated output are contiguous [N, H * C]. Reductions over a node's incoming edges walk its CSR segment
// row_ptr[i] .. row_ptr[i+1]; over its outgoing edges, the CSC permutation perm[col_ptr[j]] .. perm[col_ptr[j+1]-1].
// No atomics: every output element is written by exactly one thread, in a fixed order, so results are bit-identical
// run to run. Channels go 4 at a time (a vec4 "chunk", see common.wgsl), two chunks (a block of 8 channels) per
// thread and pass over the edges.
//
// On this project's CPU driver (SwiftShader) every storage load with a computed index is a per-lane gather (slow),
// while arithmetic and exp are cheap: the kernels are laid out to gather each row they need
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

// The uniform block P: the fused-attention-params.wgsl prelude.

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

// Dropout on the coefficients, drop(k, h) and init_dropout(): the edge-dropout.wgsl prelude, declared after this one.

// ---- head width: pipelines for C <= 8 and for C > 8 ----

// Without WIDE a kernel assumes C <= 8 (one block, see Block below) and its code for further channels is compiled
// out; with WIDE it handles any C (on the CPU driver an untaken path is not free; docs/kernels.md). The TypeScript
// side picks WIDE when C > 8.
override WIDE: bool = false;

// ---- 4-channel chunk loads and stores (LANES and lanes() are in common.wgsl; left4, right4, att4, store4 and
// store4_out2 in the preludes chunk-attention.wgsl and chunk-out.wgsl) ----

fn bias4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return vec4f(bias[i.x], bias[i.y], bias[i.z], bias[i.w]);
}

// dagg[base ..], zero past `width`.
fn dagg4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return select(vec4f(0.0), vec4f(dagg[i.x], dagg[i.y], dagg[i.z], dagg[i.w]), LANES < vec4u(width));
}

// Writes the first `width` lanes of v, as f32 bits, to scratch[o ..] (the GATv2 backward's datt partials and dedge).
fn store4_scratch(o: u32, width: u32, v: vec4f) {
  scratch[o] = bitcast<u32>(v.x);
  if (width > 1u) { scratch[o + 1u] = bitcast<u32>(v.y); }
  if (width > 2u) { scratch[o + 2u] = bitcast<u32>(v.z); }
  if (width > 3u) { scratch[o + 3u] = bitcast<u32>(v.w); }
}

// ---- heads per thread ----

// Every kernel takes HEADS_PER_THREAD consecutive heads h0 .. h0 + HEADS_PER_THREAD - 1 of one node per thread (1 or
// 2; it divides H, the TypeScript side picks it per entry point): the per-edge index loads (src, or perm and dst), the
// loop control and the segment bounds are then shared by the thread's heads. A kernel keeps one state struct per head,
// s0 and s1, and steps s1 only when HEADS_PER_THREAD == 2: a pipeline constant, so with 1 the slot compiles out.
// (docs/kernels.md has the measurements behind 1 or 2.)
override HEADS_PER_THREAD: u32 = 1;

fn head_groups() -> u32 { return P.heads / HEADS_PER_THREAD; }

// The destination-side kernels (gatv2_attend, gat_attend, *_attend_dst) take one thread per (destination i, heads
// h0 ..) over i's incoming edges, its CSR segment begin .. end. Thread t (< nodes * head_groups()) of such a launch:
struct DstThread {
  i: u32,
  h0: u32,
  begin: u32,
  end: u32,
}

fn dst_thread_of(t: u32) -> DstThread {
  let i = t / head_groups();
  return DstThread(i, (t % head_groups()) * HEADS_PER_THREAD, row_ptr[i], row_ptr[i + 1u]);
}

// ---- blocks of 8 channels ----

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
