// Attention-weighted aggregation of source features into destinations, with optional dropout on the attention
// coefficients, and its backward.
//
// x is a strided node-matrix view (element (n, j) at x_in[n * x_stride + x_offset + j], head h, channel c at column
// j = h * C + c); alpha is [E, H] in CSR order; out and dout are contiguous [N, H * C]. The dropout multiplier of
// edge k, head h is dropout_scale(seed, step, k * H + h, p), hashed, never stored (p = 0: always 1). No atomics.

struct Params {
  nodes: u32,      // N
  edges: u32,      // E
  heads: u32,      // H
  channels: u32,   // C
  x_stride: u32,   // x view
  x_offset: u32,
  g_stride: u32,   // dx view
  g_offset: u32,
  accumulate: u32, // 1: add into dx instead of overwriting it
  p: f32,          // dropout probability on alpha (0: none)
  seed: u32,       // dropout site seed
}

@group(0) @binding(0) var<storage, read> row_ptr: array<u32>;   // CSR row pointer [N + 1]
@group(0) @binding(1) var<storage, read> col_ptr: array<u32>;   // CSC row pointer [N + 1]
@group(0) @binding(2) var<storage, read> perm: array<u32>;      // CSC position -> CSR position [E]
@group(0) @binding(3) var<storage, read> src: array<u32>;       // [E]
@group(0) @binding(4) var<storage, read> dst: array<u32>;       // [E]
@group(0) @binding(5) var<storage, read> alpha: array<f32>;     // [E, H]
@group(0) @binding(6) var<storage, read> x_in: array<f32>;         // view of [N, >= H * C]
@group(0) @binding(7) var<storage, read> dout: array<f32>;      // [N, H * C]
@group(0) @binding(8) var<storage, read_write> out: array<f32>; // out [N, H * C], dalpha [E, H], or dx (view)
@group(0) @binding(9) var<uniform> P: Params;
@group(0) @binding(10) var<storage, read> step: array<u32>;     // training step counter (dropout masks)

fn x_at(n: u32, col: u32) -> u32 { return n * P.x_stride + P.x_offset + col; }

// ---- 4-channel chunk loads (Chunk, chunk_of and lanes are in common.wgsl) ----

fn x4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return vec4f(x_in[i.x], x_in[i.y], x_in[i.z], x_in[i.w]);
}

// dout[base ..], zero past `width`.
fn dout4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return select(vec4f(0.0), vec4f(dout[i.x], dout[i.y], dout[i.z], dout[i.w]), LANES < vec4u(width));
}

// put and store4 (stores into out) are in the prelude chunk-out.wgsl, in_edges in in-edges.wgsl, init_dropout and
// drop in edge-dropout.wgsl.

// out[i, h, c] = sum_{k into i} alpha[k, h] * drop(k, h) * x_in[src_k, h, c]   (0 for a node without in-edges)
// One thread per (node, head, chunk of 4 channels) walking the node's CSR segment.
@compute @workgroup_size(WG)
fn aggregate_forward(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads * chunks_per_head(P.channels)) { return; }
  init_dropout();
  let q = chunk_of(t, P.heads, P.channels);
  var s = vec4f(0.0);
  for (var k = row_ptr[q.node]; k < row_ptr[q.node + 1u]; k++) {
    s += alpha[k * P.heads + q.head] * drop(k, q.head) * x4(x_at(src[k], q.col), q.width);
  }
  store4(q.node * P.heads * P.channels + q.col, q.width, s, false);
}

// dalpha[k, h] = drop(k, h) * sum_c dout[dst_k, h, c] * x_in[src_k, h, c]   (gradient of alpha before dropout)
// One thread per (destination i, head) walking i's CSR segment once per chunk of 4 channels: dout[i] is loaded
// once per chunk, only x_in[src_k] per edge. out = dalpha [E, H].
@compute @workgroup_size(WG)
fn aggregate_dalpha(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads) { return; }
  init_dropout();
  let nh = cell_of(t, P.heads);  // destination nh.row, head nh.col
  let edges = in_edges(nh.row);
  if (edges.first == edges.end) { return; }
  for (var c0 = 0u; c0 < P.channels; c0 += 4u) {
    let q = chunk_at(nh.row, nh.col, c0, P.channels);
    let d = dout4(q.node * P.heads * P.channels + q.col, q.width);
    for (var k = edges.first; k < edges.end; k++) {
      put(k * P.heads + q.head, drop(k, q.head) * dot(d, x4(x_at(src[k], q.col), q.width)), c0 > 0u);
    }
  }
}

// dx[j, h, c] (+)= sum_{k out of j} alpha[k, h] * drop(k, h) * dout[dst_k, h, c]
// One thread per (node, head, chunk of 4 channels) walking the node's outgoing edges through the CSC
// permutation; out = dx (strided view).
@compute @workgroup_size(WG)
fn aggregate_dx(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads * chunks_per_head(P.channels)) { return; }
  init_dropout();
  let q = chunk_of(t, P.heads, P.channels);
  let width = P.heads * P.channels;
  var s = vec4f(0.0);
  for (var e = col_ptr[q.node]; e < col_ptr[q.node + 1u]; e++) {
    let k = perm[e];
    s += alpha[k * P.heads + q.head] * drop(k, q.head) * dout4(dst[k] * width + q.col, q.width);
  }
  store4(q.node * P.g_stride + P.g_offset + q.col, q.width, s, P.accumulate != 0u);
}
