// Sparse (CSR) x dense, shaped for GPUs: the same product as spmm.wgsl,
//   Y[r, :] = sum_{p in row r} value[p] * B[col[p], :] (+ bias) (+ Y[r, :] when ACCUMULATE),
// with dropout as there: spmm.wgsl's keep_nonzeros copies each row's kept nonzeros, scaled, and with KEPT the
// product walks row_ptr[r] .. kept_end[r] of the copy (no dropped entry's row of B is read).
// with a group of ROW_LANES adjacent threads per row and the lanes over the row's output columns (vec4 quads in
// spmm_rows_vec4, single columns in spmm_rows_scalar). At each nonzero the lanes of a row read consecutive parts of
// one row of B (coalesced), and the nonzero's (col, value) is one broadcast load for the whole group. A workgroup
// holds WG / ROW_LANES rows; rows wider than ROW_LANES quads are covered by each lane taking every ROW_LANES-th quad.
// Each output element is still one thread's in-order sum over the row's nonzeros: deterministic, no atomics, and
// the same order of additions as spmm.wgsl.

override ACCUMULATE: bool = false;
override KEPT: bool = false;
override BIAS: bool = false;
override ROW_LANES: u32 = 64;  // threads per row: a power of two dividing WG

struct Params {
  rows: u32,  // rows of A and Y
  n: u32,     // columns of B and Y
}

@group(0) @binding(0) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(1) var<storage, read> col_idx: array<u32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read> b_in: array<f32>;        // spmm_rows_scalar
@group(0) @binding(4) var<storage, read> b4: array<vec4f>;        // spmm_rows_vec4: the same B as quads
@group(0) @binding(5) var<storage, read_write> y_out: array<f32>; // spmm_rows_scalar
@group(0) @binding(5) var<storage, read_write> y4: array<vec4f>;  // spmm_rows_vec4: the same Y as quads
@group(0) @binding(6) var<uniform> P: Params;
@group(0) @binding(8) var<storage, read> bias: array<f32>;        // spmm_rows_scalar
@group(0) @binding(8) var<storage, read> bias4: array<vec4f>;     // spmm_rows_vec4
@group(0) @binding(9) var<storage, read> kept_end: array<u32>;    // [rows], with KEPT

// Where row r ends: its last kept nonzero with KEPT, else the row's last.
fn row_end(row: u32) -> u32 {
  if (KEPT) { return kept_end[row]; }
  return row_ptr[row + 1u];
}

@compute @workgroup_size(WG)
fn spmm_rows_vec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) li: u32) {
  let row = group_index(wid, nwg) * (WG / ROW_LANES) + li / ROW_LANES;
  let lane = li % ROW_LANES;
  if (row >= P.rows) { return; }
  let quads = P.n / 4u;
  let begin = row_ptr[row];
  let end = row_end(row);
  for (var q = lane; q < quads; q += ROW_LANES) {
    var acc = vec4f(0.0);
    for (var p = begin; p < end; p++) {
      acc += values[p] * b4[col_idx[p] * quads + q];
    }
    if (BIAS) { acc += bias4[q]; }
    let at = row * quads + q;
    if (ACCUMULATE) { y4[at] += acc; } else { y4[at] = acc; }
  }
}

@compute @workgroup_size(WG)
fn spmm_rows_scalar(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) li: u32) {
  let row = group_index(wid, nwg) * (WG / ROW_LANES) + li / ROW_LANES;
  let lane = li % ROW_LANES;
  if (row >= P.rows) { return; }
  let n = P.n;
  let begin = row_ptr[row];
  let end = row_end(row);
  for (var c = lane; c < n; c += ROW_LANES) {
    var acc = 0.0;
    for (var p = begin; p < end; p++) {
      acc += values[p] * b_in[col_idx[p] * n + c];
    }
    if (BIAS) { acc += bias[c]; }
    let at = row * n + c;
    if (ACCUMULATE) { y_out[at] += acc; } else { y_out[at] = acc; }
  }
}
