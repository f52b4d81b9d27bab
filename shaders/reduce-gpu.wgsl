// Deterministic reductions shaped for GPUs, the same sums as reduce.wgsl:
//   scatter by destination: out[i, f] = sum_{k = offsets[i]}^{offsets[i+1]-1} vals[k, f]
//   scatter by source:      out[i, f] = sum_{q = offsets[i]}^{offsets[i+1]-1} vals[perm[q], f]
//   column sum:             out[f] = (accumulate ? out[f] : 0) + sum_r x[r, f]
// Scatter: a group of ROW_LANES adjacent threads per node, the lanes over its columns, so the lanes of a node read
// one row of vals together; each element is one lane's in-order sum.
// Column sum: a workgroup of 256 threads takes a block of 32 columns (or 32 vec4 groups) and `block` rows; its 8
// row lanes sum every 8th row of the block for their column (neighbouring threads, neighbouring columns), then add
// their 8 sums in workgroup memory by a fixed tree (4 + 4, 2 + 2, 1 + 1). More rows than one block go through
// further passes over the per-block sums (column_sum.ts). Fixed orders everywhere: bit-identical run to run.
// As in reduce.wgsl, every entry point is written once over `Elem` (f32 columns, or vec4f column groups), the
// element type the kernel module declares in a one-line prelude.

override ROW_LANES: u32 = 64;  // scatter: threads per node, a power of two dividing WG

const COLS: u32 = 32;   // column sum: columns (or vec4 groups) per workgroup
const RLANES: u32 = 8;  // column sum: row lanes per column (COLS * RLANES = WG = 256)

struct Params {
  n: u32,           // scatter: nodes; column sum: rows of this pass's input
  f: u32,           // columns per row: F, or F / 4 for the vec4 entry points
  block: u32,       // column sum: rows per workgroup (a multiple of RLANES)
  accumulate: u32,  // column sum, last pass: 1 = add to out
  col_blocks: u32,  // column sum: ceil(f / COLS)
}

@group(0) @binding(0) var<storage, read> offsets: array<u32>;
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read> vals: array<Elem>;
@group(0) @binding(3) var<storage, read_write> out: array<Elem>;
@group(0) @binding(4) var<uniform> P: Params;

var<workgroup> partial: array<Elem, 256>;

// The node of this thread and its lane; node >= n past the end.
fn node_lane(inv: Invocation) -> vec2u {
  return vec2u(group_of(inv) * (WG / ROW_LANES) + inv.index / ROW_LANES, inv.index % ROW_LANES);
}

@compute @workgroup_size(WG)
fn scatter_rows_dst(inv: Invocation) {
  let at = node_lane(inv);
  if (at.x >= P.n) { return; }
  for (var f = at.y; f < P.f; f += ROW_LANES) {
    var s = Elem(0.0);
    for (var k = offsets[at.x]; k < offsets[at.x + 1u]; k++) { s += vals[k * P.f + f]; }
    out[at.x * P.f + f] = s;
  }
}

@compute @workgroup_size(WG)
fn scatter_rows_src(inv: Invocation) {
  let at = node_lane(inv);
  if (at.x >= P.n) { return; }
  for (var f = at.y; f < P.f; f += ROW_LANES) {
    var s = Elem(0.0);
    for (var q = offsets[at.x]; q < offsets[at.x + 1u]; q++) { s += vals[perm[q] * P.f + f]; }
    out[at.x * P.f + f] = s;
  }
}

// Column sum, one pass: out[b, c] = sum of x[r, c] over the rows of block b (+ out[c] on the last pass with
// accumulate, where there is one block). Workgroup g: row block g / col_blocks, column block g % col_blocks.
@compute @workgroup_size(WG)
fn column_block_sum(inv: Invocation) {
  let li = inv.index;
  let g = group_of(inv);
  let b = g / P.col_blocks;
  let c = (g % P.col_blocks) * COLS + li % COLS;
  let lane = li / COLS;
  let end = min(P.n, (b + 1u) * P.block);
  var s = Elem(0.0);
  if (c < P.f) {
    for (var r = b * P.block + lane; r < end; r += RLANES) { s += vals[r * P.f + c]; }
  }
  partial[li] = s;
  workgroupBarrier();
  for (var half = RLANES / 2u; half > 0u; half /= 2u) {
    if (lane < half) { partial[li] = partial[li] + partial[li + half * COLS]; }
    workgroupBarrier();
  }
  if (lane == 0u && c < P.f) {
    var total = partial[li];
    if (P.accumulate != 0u) { total = out[c] + total; }
    out[b * P.f + c] = total;
  }
}
