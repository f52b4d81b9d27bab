// Attention scores on edges, GATv2 and GAT (GATConv), with their backward passes.
//
// Node matrices are strided views: element (n, j) of a view lives at m[n * stride + offset + j], with head h,
// channel c at column j = h * C + c. Per-edge values are [E, H] in CSR order (edges sorted by destination).
// Reductions over a node's incoming edges walk its CSR segment row_ptr[i] .. row_ptr[i+1]; over its outgoing
// edges, the CSC permutation perm[col_ptr[j]] .. perm[col_ptr[j+1]-1]. No atomics: every output element is
// written by exactly one thread, in a fixed order, so results are bit-identical run to run.
//
// Channels go 4 at a time (a vec4): a thread loads a node's 4 channels of one head together, so the per-edge work
// (index loads, the loop itself) is shared by 4 channels. A head's last chunk may be narrower: its lanes past
// `width` re-load the chunk's last channel and are masked out of every sum and store.

struct Params {
  nodes: u32,      // N (rows of the node matrices; blocks of partials for the second column-sum pass)
  edges: u32,      // E
  heads: u32,      // H
  channels: u32,   // C
  slope: f32,      // LeakyReLU negative slope
  l_stride: u32,   // left view (xl, x, or partials)
  l_offset: u32,
  r_stride: u32,   // right view (xr)
  r_offset: u32,
  g_stride: u32,   // gradient output view (dxr, dxl, dx)
  g_offset: u32,
  accumulate: u32, // 1: add into the gradient output instead of overwriting it
  block_rows: u32, // column sums: rows per block
}

@group(0) @binding(0) var<storage, read> row_ptr: array<u32>;   // CSR row pointer [N + 1]
@group(0) @binding(1) var<storage, read> col_ptr: array<u32>;   // CSC row pointer [N + 1]
@group(0) @binding(2) var<storage, read> perm: array<u32>;      // CSC position -> CSR position [E]
@group(0) @binding(3) var<storage, read> src: array<u32>;       // [E]
@group(0) @binding(4) var<storage, read> dst: array<u32>;       // [E]
@group(0) @binding(5) var<storage, read> left: array<f32>;      // xl / x (view); GAT: as [N, H]; partials
@group(0) @binding(6) var<storage, read> right: array<f32>;     // xr (view); GAT: ad [N, H]
@group(0) @binding(7) var<storage, read> att: array<f32>;       // [H * C]
@group(0) @binding(8) var<storage, read> grad_in: array<f32>;   // de [E, H] or da [N, H]
@group(0) @binding(9) var<storage, read_write> out: array<f32>;   // e, a, dxr, dxl, dx, das, dad, block partials
@group(0) @binding(10) var<storage, read_write> out2: array<f32>; // per-destination datt partials [N, H * C]
@group(0) @binding(11) var<uniform> P: Params;
// Edge features: the per-edge term that the layer makes of edge_attr, in CSR order, [E, H * C] (GATv2) or [E, H]
// (GAT). The forward reads `edge`; the backward takes `edge_io`, the dedge output filled with a copy of edge, and
// overwrites it (GATv2: with dz, then dedge; GAT: with dedge). Pipelines with EDGE read them; the others bind any
// buffer there (at most 8 storage buffers per entry point: these kernels serve devices with WebGPU's default limits).
@group(0) @binding(12) var<storage, read> edge: array<f32>;
@group(0) @binding(13) var<storage, read_write> edge_io: array<f32>;

override EDGE: bool = false;

fn edge4(k: u32, col: u32, width: u32) -> vec4f {
  let i = lanes(k * P.heads * P.channels + col, width);
  return vec4f(edge[i.x], edge[i.y], edge[i.z], edge[i.w]);
}

fn edge_io4(o: u32, width: u32) -> vec4f {
  let i = lanes(o, width);
  return vec4f(edge_io[i.x], edge_io[i.y], edge_io[i.z], edge_io[i.w]);
}

fn put_edge_io4(o: u32, width: u32, v: vec4f) {
  edge_io[o] = v.x;
  if (width > 1u) { edge_io[o + 1u] = v.y; }
  if (width > 2u) { edge_io[o + 2u] = v.z; }
  if (width > 3u) { edge_io[o + 3u] = v.w; }
}

fn left_at(n: u32, col: u32) -> u32 { return n * P.l_stride + P.l_offset + col; }
fn right_at(n: u32, col: u32) -> u32 { return n * P.r_stride + P.r_offset + col; }
fn grad_at(n: u32, col: u32) -> u32 { return n * P.g_stride + P.g_offset + col; }

// Chunk loads and stores (left4, right4, att4, store4, store4_out2) are in the preludes chunk-out.wgsl and
// chunk-attention.wgsl; in_edges is in in-edges.wgsl.

// Chunk q's channels of node n in the left / right view.
fn left_of(n: u32, q: Chunk) -> vec4f { return left4(left_at(n, q.col), q.width); }
fn right_of(n: u32, q: Chunk) -> vec4f { return right4(right_at(n, q.col), q.width); }

// Writes chunk q of the gradient output view (out), adding to it when `accumulate`.
fn store_grad(q: Chunk, v: vec4f, accumulate: bool) { store4(grad_at(q.node, q.col), q.width, v, accumulate); }

// ---- GATv2 ----

// e[k, h] = sum_c att[h, c] * LeakyReLU(xl[src_k, h, c] + xr[dst_k, h, c] (+ edge[k, h, c], EDGE))
// One thread per (destination i, head) walking i's CSR segment once per chunk of 4 channels: xr[i] and att are
// loaded once per chunk, only xl[src_k] (and the edge term) per edge. out = e [E, H].
@compute @workgroup_size(WG)
fn gatv2_score(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads) { return; }
  let nh = cell_of(t, P.heads);  // destination nh.row, head nh.col
  let edges = in_edges(nh.row);
  if (edges.first == edges.end) { return; }
  for (var c0 = 0u; c0 < P.channels; c0 += 4u) {
    let q = chunk_at(nh.row, nh.col, c0, P.channels);
    let a = att4(q.col, q.width);
    let xr_i = right_of(q.node, q);
    for (var k = edges.first; k < edges.end; k++) {
      var z = left_of(src[k], q) + xr_i;
      if (EDGE) { z += edge4(k, q.col, q.width); }
      let e = dot(a, leaky_relu4(z, P.slope));
      put(k * P.heads + q.head, e, c0 > 0u);
    }
  }
}

// Over the CSR segment of destination i, with z = xl[src_k] + xr[i]:
//   dxr[i, h, c]     = att[h, c] * sum_k de[k, h] * lrelu'(z)
//   partial[i, h, c] =             sum_k de[k, h] * lrelu(z)     (datt = column sum of the partials)
// One thread per (node, head, chunk of 4 channels); out = dxr (strided view), out2 = partials [N, H * C].
@compute @workgroup_size(WG)
fn gatv2_score_dxr(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads * chunks_per_head(P.channels)) { return; }
  let q = chunk_of(t, P.heads, P.channels);
  let xr_i = right_of(q.node, q);
  var dz = vec4f(0.0);
  var partial = vec4f(0.0);
  for (var k = row_ptr[q.node]; k < row_ptr[q.node + 1u]; k++) {
    let z = left_of(src[k], q) + xr_i;
    let de = grad_in[k * P.heads + q.head];
    dz += de * leaky_relu_grad4(z, P.slope);
    partial += de * leaky_relu4(z, P.slope);
  }
  store_grad(q, att4(q.col, q.width) * dz, false);
  store4_out2(q.node * P.heads * P.channels + q.col, q.width, partial);
}

// Over the outgoing edges of source j (CSC), with z = xl[j] + xr[dst_k]:
//   dxl[j, h, c] (+)= att[h, c] * sum_k de[k, h] * lrelu'(z)
// One thread per (node, head, chunk of 4 channels); out = dxl (strided view).
@compute @workgroup_size(WG)
fn gatv2_score_dxl(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads * chunks_per_head(P.channels)) { return; }
  let q = chunk_of(t, P.heads, P.channels);
  let xl_j = left_of(q.node, q);
  var dz = vec4f(0.0);
  for (var e = col_ptr[q.node]; e < col_ptr[q.node + 1u]; e++) {
    let k = perm[e];
    let z = xl_j + right_of(dst[k], q);
    dz += grad_in[k * P.heads + q.head] * leaky_relu_grad4(z, P.slope);
  }
  store_grad(q, att4(q.col, q.width) * dz, P.accumulate != 0u);
}

// GATv2 backward with an edge term, in three passes (the first binds 8 buffers, so the 9th, att, waits):
// 1. Over the CSR segment of destination i, with z = xl[src_k] + xr[i] + edge[k] (edge in edge_io):
//      dz_k[h, c]      = de[k, h] * lrelu'(z)             over the edge term in edge_io
//      out[i, h, c]    = sum_k dz_k[h, c]                 (contiguous [N, H * C]; dxr = att * this, pass 3)
//      partial[i, h, c] = sum_k de[k, h] * lrelu(z)       (datt = column sum of the partials)
//    One thread per (node, head, chunk of 4 channels); out2 = partials.
@compute @workgroup_size(WG)
fn gatv2_score_dz_edge(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads * chunks_per_head(P.channels)) { return; }
  let q = chunk_of(t, P.heads, P.channels);
  let hc = P.heads * P.channels;
  let xr_i = right_of(q.node, q);
  var dz = vec4f(0.0);
  var partial = vec4f(0.0);
  for (var k = row_ptr[q.node]; k < row_ptr[q.node + 1u]; k++) {
    let o = k * hc + q.col;
    let z = left_of(src[k], q) + xr_i + edge_io4(o, q.width);
    let de = grad_in[k * P.heads + q.head];
    let dz_k = de * leaky_relu_grad4(z, P.slope);
    put_edge_io4(o, q.width, dz_k);
    dz += dz_k;
    partial += de * leaky_relu4(z, P.slope);
  }
  store4(q.node * hc + q.col, q.width, dz, false);
  store4_out2(q.node * hc + q.col, q.width, partial);
}

// 2. Over the outgoing edges of source j (CSC), with dz_k from pass 1 in edge_io:
//      dxl[j, h, c] (+)= att[h, c] * sum_k dz_k[h, c];   dedge[k, h, c] = att[h, c] * dz_k[h, c]  (over dz_k)
//    One thread per (node, head, chunk of 4 channels); out = dxl (strided view).
@compute @workgroup_size(WG)
fn gatv2_score_dxl_edge(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads * chunks_per_head(P.channels)) { return; }
  let q = chunk_of(t, P.heads, P.channels);
  let hc = P.heads * P.channels;
  let a = att4(q.col, q.width);
  var dz = vec4f(0.0);
  for (var e = col_ptr[q.node]; e < col_ptr[q.node + 1u]; e++) {
    let o = perm[e] * hc + q.col;
    let dz_k = edge_io4(o, q.width);
    put_edge_io4(o, q.width, a * dz_k);
    dz += dz_k;
  }
  store_grad(q, a * dz, P.accumulate != 0u);
}

// 3. dxr[i, h, c] = att[h, c] * dz[i, h, c], dz the [N, H * C] of pass 1 in grad_in; out = dxr (strided view).
@compute @workgroup_size(WG)
fn scale_by_att(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads * chunks_per_head(P.channels)) { return; }
  let q = chunk_of(t, P.heads, P.channels);
  let i = lanes(q.node * P.heads * P.channels + q.col, q.width);
  let dz = vec4f(grad_in[i.x], grad_in[i.y], grad_in[i.z], grad_in[i.w]);
  store_grad(q, att4(q.col, q.width) * dz, false);
}

// ---- head-dot weight gradient, first pass: weighted sums over blocks of P.block_rows rows (no atomics or
// barriers); reduce.wgsl's column sum then adds the [blocks, H * C] partials. One thread per (block, column).

struct Block {
  first: u32,  // rows first .. end - 1
  end: u32,
  col: u32,
}

fn block_of(t: u32) -> Block {
  let cols = P.heads * P.channels;
  let b = t / cols;
  return Block(b * P.block_rows, min(P.nodes, (b + 1u) * P.block_rows), t % cols);
}

fn block_count() -> u32 {
  return max(1u, (P.nodes + P.block_rows - 1u) / P.block_rows);
}

// out[b, col] = sum_{n in block b} da[n, col / C] * left[n, col]   (da in grad_in, [N, H])
@compute @workgroup_size(WG)
fn weighted_column_sum(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= block_count() * P.heads * P.channels) { return; }
  let b = block_of(t);
  let h = b.col / P.channels;
  var s = 0.0;
  for (var n = b.first; n < b.end; n++) { s += grad_in[n * P.heads + h] * left[left_at(n, b.col)]; }
  out[t] = s;
}

// ---- GAT (GATConv) ----

// as[src_k, h] + ad_i: GAT's score on edge k, head h before the edge term and LeakyReLU (ad_i = ad[dst_k, h]).
fn gat_z(k: u32, h: u32, ad_i: f32) -> f32 { return left[src[k] * P.heads + h] + ad_i; }

// a[n, h] = sum_c x[n, h, c] * att[h, c]   (alpha_src / alpha_dst in PyG)
// One thread per (node, head); x in `left`, out = a [N, H].
@compute @workgroup_size(WG)
fn head_dot(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads) { return; }
  let nh = cell_of(t, P.heads);  // node nh.row, head nh.col
  var a = 0.0;
  for (var c0 = 0u; c0 < P.channels; c0 += 4u) {
    let q = chunk_at(nh.row, nh.col, c0, P.channels);
    a += dot(att4(q.col, q.width), left_of(q.node, q));
  }
  out[t] = a;
}

// dx[n, h, c] (+)= da[n, h] * att[h, c]
// One thread per (node, head, chunk of 4 channels); da in `grad_in`, out = dx (strided view).
@compute @workgroup_size(WG)
fn head_dot_dx(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads * chunks_per_head(P.channels)) { return; }
  let q = chunk_of(t, P.heads, P.channels);
  store_grad(q, grad_in[q.node * P.heads + q.head] * att4(q.col, q.width), P.accumulate != 0u);
}

// e[k, h] = LeakyReLU(as[src_k, h] + ad[dst_k, h] (+ edge[k, h], EDGE))
// One thread per (destination i, head) walking i's CSR segment; as in `left`, ad in `right` (both [N, H]),
// out = e [E, H].
@compute @workgroup_size(WG)
fn gat_score(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads) { return; }
  let nh = cell_of(t, P.heads);  // destination nh.row, head nh.col
  let ad_i = right[t];
  for (var k = row_ptr[nh.row]; k < row_ptr[nh.row + 1u]; k++) {
    var s = gat_z(k, nh.col, ad_i);
    if (EDGE) { s += edge[k * P.heads + nh.col]; }
    out[k * P.heads + nh.col] = leaky_relu(s, P.slope);
  }
}

// dad[i, h] = sum_{k into i} de[k, h] * lrelu'(as[src_k, h] + ad[i, h] (+ edge[k, h]))   (CSR segment)
// One thread per (node, head); out = dad [N, H]. With EDGE the edge term comes in edge_io, and dedge[k, h] (the
// summand) goes over it.
@compute @workgroup_size(WG)
fn gat_score_dad(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads) { return; }
  let nh = cell_of(t, P.heads);  // destination nh.row, head nh.col
  let ad_i = right[t];
  var g = 0.0;
  for (var k = row_ptr[nh.row]; k < row_ptr[nh.row + 1u]; k++) {
    let kh = k * P.heads + nh.col;
    var s = gat_z(k, nh.col, ad_i);
    if (EDGE) { s += edge_io[kh]; }
    let g_k = grad_in[kh] * leaky_relu_grad(s, P.slope);
    if (EDGE) { edge_io[kh] = g_k; }
    g += g_k;
  }
  out[t] = g;
}

// das[j, h] = sum_{k out of j} de[k, h] * lrelu'(as[j, h] + ad[dst_k, h])   (CSC permutation)
// One thread per (node, head); out = das [N, H]. With EDGE the summands are dedge, which gat_score_dad left in
// edge_io.
@compute @workgroup_size(WG)
fn gat_score_das(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads) { return; }
  let nh = cell_of(t, P.heads);  // source nh.row, head nh.col
  let as_j = left[t];
  var g = 0.0;
  for (var q = col_ptr[nh.row]; q < col_ptr[nh.row + 1u]; q++) {
    let k = perm[q];
    if (EDGE) {
      g += edge_io[k * P.heads + nh.col];
    } else {
      g += grad_in[k * P.heads + nh.col] * leaky_relu_grad(as_j + right[dst[k] * P.heads + nh.col], P.slope);
    }
  }
  out[t] = g;
}
