// Softmax over each destination's incoming edges (a CSR segment), per head, and its backward.
// Per-edge values are [E, H] in CSR order. One thread per (node, head) walks the node's segment; a node with no
// incoming edges has nothing to write. No atomics: results are bit-identical run to run.

struct Params {
  nodes: u32,  // N
  heads: u32,  // H
}

@group(0) @binding(0) var<storage, read> row_ptr: array<u32>;  // CSR row pointer [N + 1]
@group(0) @binding(1) var<storage, read> x_in: array<f32>;        // e (forward) or alpha (backward) [E, H]
@group(0) @binding(2) var<storage, read> y_in: array<f32>;        // dalpha [E, H] (backward)
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // alpha or ds [E, H]
@group(0) @binding(4) var<uniform> P: Params;

// alpha[k, h] = exp(e[k, h] - m) / sum_{k' into dst_k} exp(e[k', h] - m),  m = max_{k' into dst_k} e[k', h]
// Pass 1 keeps a running max m and s = sum exp(e - m), rescaling s when m grows (so exp never sees a positive
// argument and cannot overflow); pass 2 writes alpha.
@compute @workgroup_size(WG)
fn segment_softmax(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads) { return; }
  let nh = cell_of(t, P.heads);  // destination nh.row, head nh.col
  let edges = in_edges(nh.row);
  if (edges.first == edges.end) { return; }
  var m = x_in[edges.first * P.heads + nh.col];
  var s = 0.0;
  for (var k = edges.first; k < edges.end; k++) {
    let v = x_in[k * P.heads + nh.col];
    if (v > m) {
      s = s * exp(m - v) + 1.0;
      m = v;
    } else {
      s += exp(v - m);
    }
  }
  for (var k = edges.first; k < edges.end; k++) {
    let j = k * P.heads + nh.col;
    out[j] = exp(x_in[j] - m) / s;
  }
}

// ds[k, h] = alpha[k, h] * (dalpha[k, h] - sum_{k' into dst_k} alpha[k', h] * dalpha[k', h])
@compute @workgroup_size(WG)
fn segment_softmax_backward(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.heads) { return; }
  let nh = cell_of(t, P.heads);  // destination nh.row, head nh.col
  let edges = in_edges(nh.row);
  var dot = 0.0;
  for (var k = edges.first; k < edges.end; k++) {
    let j = k * P.heads + nh.col;
    dot += x_in[j] * y_in[j];
  }
  for (var k = edges.first; k < edges.end; k++) {
    let j = k * P.heads + nh.col;
    out[j] = x_in[j] * (y_in[j] - dot);
  }
}
