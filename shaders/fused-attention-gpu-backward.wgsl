// Prelude of the fused attention's backward passes shaped for GPUs (fused-attention-gpu-backward-dst.wgsl,
// fused-attention-gpu-backward-src.wgsl): the same results as fused-attention-backward-dst.wgsl and -src.wgsl (the
// backward of scores -> softmax over each destination's incoming edges -> dropout -> aggregation, with the edge
// term where the forward had one) with a workgroup per node instead of a thread per node and heads:
//   destination pass, a workgroup per destination i: for each head, the lanes take i's incoming edges in turn
//     (dalpha, the softmax backward's t through a workgroup sum, de); then the lanes take the columns (head h,
//     channel c) of i's gradient rows, `slices` lanes to a column over every slices-th edge (sum_slices)
//   source pass, a workgroup per source j: the lanes take the columns of j's gradient rows in the same way, over j's
//     outgoing edges (CSC order)
// The per-edge values go from one pass to the other through one u32 scratch buffer. Node matrices are strided views
// (element (n, col) at m[n * stride + offset + col], col = h * C + c); dagg and per-edge values are contiguous.
// The dropout multiplier of edge k, head h is drop(k, h) = dropout_scale(seed, step, k * H + h, p), as the forward's;
// the step comes through the scratch's header word (copied there before the destination pass). Every output element
// has one writer, every sum a fixed order, no atomics: bit-identical run to run.

// The uniform block P (has_bias unused here): the fused-attention-params.wgsl prelude.

@group(0) @binding(0) var<storage, read> row_ptr: array<u32>;     // CSR row pointer [N + 1]
@group(0) @binding(1) var<storage, read> col_ptr: array<u32>;     // CSC row pointer [N + 1]
@group(0) @binding(2) var<storage, read> perm: array<u32>;        // CSC position -> CSR position [E]
@group(0) @binding(3) var<storage, read> src: array<u32>;         // [E]
@group(0) @binding(4) var<storage, read> dst: array<u32>;         // [E]
@group(0) @binding(5) var<storage, read> left: array<f32>;        // xl (GATv2) or x (GAT), view
@group(0) @binding(6) var<storage, read> right: array<f32>;       // xr (GATv2), view
@group(0) @binding(7) var<storage, read> att: array<f32>;         // [H * C] (GATv2)
@group(0) @binding(8) var<storage, read> score_src: array<f32>;   // GAT a_src [N, H]
@group(0) @binding(9) var<storage, read> score_dst: array<f32>;   // GAT a_dst [N, H]
@group(0) @binding(10) var<storage, read> alpha: array<f32>;      // [E, H], before dropout
@group(0) @binding(11) var<storage, read> dagg: array<f32>;       // d out [N, H * C]
@group(0) @binding(12) var<storage, read_write> scratch: array<u32>;  // between the passes (see the layouts below)
@group(0) @binding(13) var<storage, read_write> out: array<f32>;  // dxr, dxl, dx (views), dad [N, H]
@group(0) @binding(14) var<storage, read_write> out2: array<f32>; // das [N, H]
@group(0) @binding(15) var<uniform> P: Params;
// The edge term and its gradient, CSR order: [E, H * C] (GATv2) or [E, H] (GAT). The destination pass reads edge,
// the source pass writes dedge, in the EDGE pipelines only (the others bind any buffer of the type there).
@group(0) @binding(16) var<storage, read> edge: array<f32>;
@group(0) @binding(17) var<storage, read_write> dedge: array<f32>;

override EDGE: bool = false;

fn left_at(n: u32, col: u32) -> u32 { return n * P.l_stride + P.l_offset + col; }
fn right_at(n: u32, col: u32) -> u32 { return n * P.r_stride + P.r_offset + col; }
fn grad_at(n: u32, col: u32) -> u32 { return n * P.g_stride + P.g_offset + col; }

// Writes v to the gradient view at (n, col), or adds it with P.accumulate.
fn store_grad(n: u32, col: u32, v: f32) {
  let o = grad_at(n, col);
  if (P.accumulate != 0u) { out[o] = out[o] + v; } else { out[o] = v; }
}

// ---- the scratch ----
// GATv2, N*H*C + 1 + E*H*W words, W = 2 + ceil(C / 32):
//   words 0 .. N*H*C - 1     datt partials [N, H * C] (f32 bits): the destination pass writes xr[i] * dz_dst[i],
//                            the source pass adds xl[j] * dz_src[j], datt is their column sum (TypeScript side;
//                            the split is fused-attention-scratch.wgsl's); with an edge term the destination pass
//                            adds sum_{k -> i} de_k * lrelu'(z_k) * edge[k] to its share
//   word  N*H*C              the dropout step (header)
//   then per edge k, head h  de (f32 bits), alpha * drop(k, h) (f32 bits), and the sign bits of
//                            z = xl[src_k] + xr[dst_k] (+ edge[k]) over the head's channels, 32 to a word
//                            (bit c % 32 of word c / 32 set when z_c > 0), so the source pass and the destination
//                            pass's column phase take lrelu'(z) from one word instead of gathering xl[src_k] or
//                            xr[dst_k] again
// GAT, 1 + 2*E*H words: word 0 the dropout step, then per edge and head g = de * lrelu'(s) and alpha * drop(k, h).

fn gatv2_sign_words() -> u32 { return (P.channels + 31u) / 32u; }

fn gatv2_step_word() -> u32 { return P.nodes * P.heads * P.channels; }

fn gatv2_edge_word(kh: u32) -> u32 { return gatv2_step_word() + 1u + kh * (2u + gatv2_sign_words()); }

fn gat_edge_word(kh: u32) -> u32 { return 1u + 2u * kh; }

fn f32_at(w: u32) -> f32 { return bitcast<f32>(scratch[w]); }

// lrelu'(z_c) from the sign bits that start at word w.
fn grad_from_signs(w: u32, c: u32) -> f32 {
  return select(P.slope, 1.0, ((scratch[w + c / 32u] >> (c % 32u)) & 1u) != 0u);
}

// The dropout constants of this step (the step from word `at` of the scratch); without dropout (p = 0) they keep
// everything with scale 1.
fn dropout_from(at: u32) -> DropoutSite {
  var site = 0u;
  if (P.p > 0.0) { site = dropout_site(P.seed, scratch[at]); }
  return dropout_with_site(site, P.p);
}

// ---- lanes over the columns of a node's gradient rows ----
// Columns side by side (rounds of WG columns from column `base`, the last round the rest), `slices` = WG / (columns
// in the round) lanes to a column: lane (slice, column) sums every slices-th edge of the node's segment from edge
// `slice`, and sum_slices adds a column's slices in slice order. A fixed split (it depends on H * C and WG only):
// deterministic.
struct Lane {
  col: u32,     // the column (h * C + c)
  slice: u32,
  slices: u32,
  span: u32,    // columns side by side in this round
  busy: bool,   // false for a lane past slices * span: it sums nothing
}

fn lane_at(li: u32, base: u32, width: u32) -> Lane {
  let span = min(width - base, WG);
  let slices = WG / span;
  let slice = li / span;
  let col = base + li % span;
  return Lane(col, slice, slices, span, slice < slices);
}

var<workgroup> slice_sums: array<vec2f, WG>;

// Two sums per lane; the lanes of slice 0 get their column's totals (slices added in order), the others 0. Every
// lane of the workgroup calls it (barriers).
fn sum_slices(li: u32, l: Lane, v: vec2f) -> vec2f {
  slice_sums[li] = v;
  workgroupBarrier();
  var s = vec2f(0.0);
  if (l.slice == 0u) {
    for (var q = 0u; q < l.slices; q++) { s += slice_sums[q * l.span + li]; }
  }
  workgroupBarrier();
  return s;
}
