// The edge attributes an attention layer reads, in its graph's CSR order (sorted by destination, self loops
// included), from the caller's edge_attr [E_in, D] in edge_index order, with the backward. For CSR position p,
// edge_id[p] is the caller's edge, or -1 for an added self loop; the self loop of node i is the last position of
// its row (rowPtr[i+1] - 1). A self loop's attributes are PyG's add_self_loops fill_value:
//   FILL_VALUE: the number `value` in every column;
//   FILL_MEAN / FILL_ADD: the mean / sum over the node's other incoming edges (0 for a node without any);
//   FILL_MAX / FILL_MIN: their maximum / minimum, column by column (0 without any); the backward hands the loop's
//   gradient to the first extreme in CSR order.
// One thread per (node, column) walks the node's row in order: deterministic, no atomics.

const FILL_VALUE = 0u;
const FILL_MEAN = 1u;
const FILL_ADD = 2u;
const FILL_MAX = 3u;
const FILL_MIN = 4u;
override FILL: u32 = 0u;

struct Params {
  nodes: u32,   // N
  width: u32,   // D: columns of every attribute matrix
  value: f32,   // FILL_VALUE: the self loops' attribute
}

@group(0) @binding(0) var<storage, read> row_ptr: array<u32>;        // [N + 1]
@group(0) @binding(1) var<storage, read> edge_id: array<i32>;        // [E]
@group(0) @binding(2) var<storage, read> attr_in: array<f32>;        // edge_attr [E_in, D]
@group(0) @binding(3) var<storage, read> grad_in: array<f32>;        // d out [E, D]
@group(0) @binding(4) var<storage, read_write> out: array<f32>;      // [E, D] (forward) or d edge_attr [E_in, D]
@group(0) @binding(5) var<uniform> P: Params;

// Whether `v` replaces `best` as the extreme: strictly larger (max) or smaller (min), so the first one stays.
fn beats(v: f32, best: f32) -> bool {
  if (FILL == FILL_MAX) { return v > best; }
  return v < best;
}

// Thread t's share: column `col` of node t / D's row, without its self loop (its real edges, first .. end - 1), and
// whether the row has a self loop (at end).
struct RowColumn {
  first: u32,
  end: u32,
  has_loop: bool,
  col: u32,
}

fn row_column_of(t: u32) -> RowColumn {
  let cell = cell_of(t, P.width);
  let edges = in_edges(cell.row);
  var end = edges.end;
  let has_loop = end > edges.first && edge_id[end - 1u] < 0;
  if (has_loop) { end -= 1u; }
  return RowColumn(edges.first, end, has_loop, cell.col);
}

// The CSR position of the first extreme of column d over positions first .. end - 1 (all real edges), or end.
fn first_extreme(first: u32, end: u32, d: u32) -> u32 {
  var arg = end;
  var best = 0.0;
  for (var p = first; p < end; p++) {
    let v = attr_in[u32(edge_id[p]) * P.width + d];
    if (arg == end || beats(v, best)) {
      best = v;
      arg = p;
    }
  }
  return arg;
}

// out[p, d] = edge_attr[edge_id[p], d] for the real edges of node i, and the fill for its self loop (d = row.col).
@compute @workgroup_size(WG)
fn csr_edge_attr(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.width) { return; }
  let row = row_column_of(t);
  var sum = 0.0;
  for (var p = row.first; p < row.end; p++) {
    let v = attr_in[u32(edge_id[p]) * P.width + row.col];
    out[p * P.width + row.col] = v;
    sum += v;
  }
  if (!row.has_loop) { return; }
  var fill = P.value;
  if (FILL == FILL_ADD) { fill = sum; }
  if (FILL == FILL_MEAN) { fill = select(0.0, sum / f32(row.end - row.first), row.end > row.first); }
  if (FILL == FILL_MAX || FILL == FILL_MIN) {
    let arg = first_extreme(row.first, row.end, row.col);
    fill = select(0.0, attr_in[u32(edge_id[max(arg, row.first)]) * P.width + row.col], arg < row.end);
  }
  out[row.end * P.width + row.col] = fill;
}

// d edge_attr[edge_id[p], d] = d out[p, d] + the real edge's share of its destination's self-loop gradient
// (mean: / count, add: all of it, max / min: all of it to the first extreme, value: none). Edges the graph left out
// (removed self loops) are not written: the caller zeroes d edge_attr first. d = row.col.
@compute @workgroup_size(WG)
fn csr_edge_attr_backward(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.nodes * P.width) { return; }
  let row = row_column_of(t);
  var share = 0.0;
  var arg = row.end;
  if (row.has_loop) {
    let g = grad_in[row.end * P.width + row.col];
    if (FILL == FILL_ADD) { share = g; }
    if (FILL == FILL_MEAN && row.end > row.first) { share = g / f32(row.end - row.first); }
    if (FILL == FILL_MAX || FILL == FILL_MIN) {
      arg = first_extreme(row.first, row.end, row.col);
      share = g;
    }
  }
  let extreme = FILL == FILL_MAX || FILL == FILL_MIN;
  for (var p = row.first; p < row.end; p++) {
    var g = grad_in[p * P.width + row.col];
    if (!extreme || p == arg) { g += share; }
    out[u32(edge_id[p]) * P.width + row.col] = g;
  }
}
