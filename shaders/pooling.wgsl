// Graph readout over a batch of graphs (PyG's global_add_pool, global_mean_pool, global_max_pool and the softmax
// of AttentionalAggregation), with their backward. A batch stores its graphs' nodes contiguously: graph g owns
// nodes graph_ptr[g] .. graph_ptr[g + 1] - 1, and graph_of[n] is the graph of node n. Every output element is one
// thread's in-order sum or maximum: deterministic, no atomics.

override MEAN: bool = false;  // segment_sum and its backward: divide by the graph's node count

struct Params {
  graphs: u32,   // B
  nodes: u32,    // N
  width: u32,    // F: columns of x, out, dout, dx
  gates: u32,    // G: columns of the gate (1 or F; column f of x is weighted by gate column f % G)
}

@group(0) @binding(0) var<storage, read> graph_ptr: array<u32>;       // [B + 1]
@group(0) @binding(1) var<storage, read> graph_of: array<u32>;        // [N]
@group(0) @binding(2) var<storage, read> x_in: array<f32>;            // [N, F]
@group(0) @binding(3) var<storage, read> grad_in: array<f32>;         // d out [B, F]
@group(0) @binding(4) var<storage, read> beta: array<f32>;            // softmax weights [N, G]
@group(0) @binding(5) var<storage, read> arg_in: array<u32>;          // max: the winning node per [B, F]
@group(0) @binding(6) var<storage, read_write> out: array<f32>;
@group(0) @binding(7) var<storage, read_write> arg_out: array<u32>;   // max: the winning node per [B, F]
@group(0) @binding(8) var<uniform> P: Params;
@group(0) @binding(9) var<storage, read_write> grad_gate: array<f32>;  // d beta, then d gate [N, G]

const NO_NODE = 0xffffffffu;

// Graph g's nodes, graph_ptr[g] .. graph_ptr[g + 1] - 1.
fn nodes_of(g: u32) -> Segment { return Segment(graph_ptr[g], graph_ptr[g + 1u]); }

// out[g, f] = sum over graph g's nodes of x[n, f], divided by the node count with MEAN; an empty graph gives 0.
@compute @workgroup_size(WG)
fn segment_sum(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.graphs * P.width) { return; }
  let gf = cell_of(t, P.width);  // graph gf.row, column gf.col
  let nodes = nodes_of(gf.row);
  var s = 0.0;
  for (var n = nodes.first; n < nodes.end; n++) { s += x_in[n * P.width + gf.col]; }
  if (MEAN && nodes.end > nodes.first) { s /= f32(nodes.end - nodes.first); }
  out[t] = s;
}

// dx[n, f] = d out[g, f], divided by |g| with MEAN; g = graph_of[n].
@compute @workgroup_size(WG)
fn segment_sum_backward(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.width) { return; }
  let nf = cell_of(t, P.width);  // node nf.row, column nf.col
  let g = graph_of[nf.row];
  var upstream = grad_in[g * P.width + nf.col];
  if (MEAN) { upstream /= f32(graph_ptr[g + 1u] - graph_ptr[g]); }
  out[t] = upstream;
}

// out[g, f] = max over graph g's nodes of x[n, f], and arg_out[g, f] the node that holds it: the first maximum in
// node order (a NaN is never taken over an earlier value). An empty graph gives 0 and no node (0xffffffff).
@compute @workgroup_size(WG)
fn segment_max(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.graphs * P.width) { return; }
  let gf = cell_of(t, P.width);  // graph gf.row, column gf.col
  var best = 0.0;
  var arg = NO_NODE;
  for (var n = graph_ptr[gf.row]; n < graph_ptr[gf.row + 1u]; n++) {
    let v = x_in[n * P.width + gf.col];
    if (arg == NO_NODE || v > best) {
      best = v;
      arg = n;
    }
  }
  out[t] = best;
  arg_out[t] = arg;
}

// dx[n, f] = d out[g, f] where n holds the maximum of column f of its graph g, else 0.
@compute @workgroup_size(WG)
fn segment_max_backward(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.width) { return; }
  let nf = cell_of(t, P.width);  // node nf.row, column nf.col
  let k = graph_of[nf.row] * P.width + nf.col;
  out[t] = select(0.0, grad_in[k], arg_in[k] == nf.row);
}

// beta[n, j] = exp(x[n, j] - m) / sum_{n' in g} exp(x[n', j] - m), m = max_{n' in g} x[n', j]: the softmax of each
// gate column over each graph's nodes (x_in holds the gate [N, G] here; width = G). One thread per (graph, column).
@compute @workgroup_size(WG)
fn segment_softmax(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.graphs * P.gates) { return; }
  let gj = cell_of(t, P.gates);  // graph gj.row, gate column j
  let j = gj.col;
  let nodes = nodes_of(gj.row);
  if (nodes.end == nodes.first) { return; }
  var m = x_in[nodes.first * P.gates + j];
  for (var n = nodes.first + 1u; n < nodes.end; n++) { m = max(m, x_in[n * P.gates + j]); }
  var s = 0.0;
  for (var n = nodes.first; n < nodes.end; n++) { s += exp(x_in[n * P.gates + j] - m); }
  for (var n = nodes.first; n < nodes.end; n++) { out[n * P.gates + j] = exp(x_in[n * P.gates + j] - m) / s; }
}

// out[g, f] = sum_{n in g} beta[n, f % G] * x[n, f]: the attention-weighted sum of each graph's nodes.
@compute @workgroup_size(WG)
fn weighted_pool(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.graphs * P.width) { return; }
  let gf = cell_of(t, P.width);  // graph gf.row, column f
  let f = gf.col;
  let j = f % P.gates;
  var s = 0.0;
  for (var n = graph_ptr[gf.row]; n < graph_ptr[gf.row + 1u]; n++) {
    s += beta[n * P.gates + j] * x_in[n * P.width + f];
  }
  out[t] = s;
}

// Backward of weighted_pool for node n and gate column j, with dout = d out [B, F], g = graph_of[n]:
//   dx[n, f]    = beta[n, j] * dout[g, f]                 for the columns f with f % G == j (written to out)
//   dbeta[n, j] = sum_{f % G == j} dout[g, f] * x[n, f]   (written to grad_gate)
@compute @workgroup_size(WG)
fn weighted_pool_backward(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.gates) { return; }
  let nj = cell_of(t, P.gates);  // node n, gate column nj.col
  let n = nj.row;
  let g = graph_of[n];
  let b = beta[t];
  var s = 0.0;
  for (var f = nj.col; f < P.width; f += P.gates) {
    let upstream = grad_in[g * P.width + f];
    out[n * P.width + f] = b * upstream;
    s += upstream * x_in[n * P.width + f];
  }
  grad_gate[t] = s;
}

// Softmax backward over each graph's nodes, per gate column j, in place over grad_gate (d beta in, d gate out):
//   dgate[n, j] = beta[n, j] * (dbeta[n, j] - sum_{n' in g} beta[n', j] * dbeta[n', j])
@compute @workgroup_size(WG)
fn segment_softmax_backward(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.graphs * P.gates) { return; }
  let gj = cell_of(t, P.gates);  // graph gj.row, gate column j
  let j = gj.col;
  let nodes = nodes_of(gj.row);
  var s = 0.0;
  for (var n = nodes.first; n < nodes.end; n++) { s += beta[n * P.gates + j] * grad_gate[n * P.gates + j]; }
  for (var n = nodes.first; n < nodes.end; n++) {
    let k = n * P.gates + j;
    grad_gate[k] = beta[k] * (grad_gate[k] - s);
  }
}
