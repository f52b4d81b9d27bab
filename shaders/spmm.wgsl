// Sparse (CSR) x dense: Y[r, :] = sum_{p in row r} value[p] * B[col[p], :] (+ bias when BIAS)
//                                                                    (+ Y[r, :] when ACCUMULATE).
//
// Dropout on A's nonzeros is a pass of its own, keep_nonzeros: mask[p] = dropout_scale(seed, step, nzId[p], p_drop)
// (nzId: the nonzero's index in the forward CSR, so that a transpose built with uploadSparseTranspose drops the same
// entries). It copies each row's kept nonzeros, scaled, to the front of the row's range in kept_col / kept_val and
// writes where they end; the product, with KEPT, then walks row_ptr[r] .. kept_end[r] of those instead of the whole
// row. Dropout in training removes most nonzeros (PyG's Cora setting drops 60%), and the loop iterations skipped
// are what a CPU driver pays for; each kept product and its order in the sum is the same as with the mask applied
// in the loop.
//
// spmm: one thread per (row, group of 4 * QUADS output columns): it walks its row's nonzeros in order and keeps
// QUADS vec4 accumulators (up to 8: the CPU driver pays more per loop iteration than per load, so wide threads
// win). Threads of a row read the same (col, value) pairs; there is no workgroup staging because, on SwiftShader
// (the CPU driver this library falls back to), a barrier costs about as much as a dozen loads per thread and
// workgroup memory is no cheaper to read than storage. Each output element is one thread's in-order sum:
// deterministic, no atomics. Columns past N are read clamped into range and never written.
// Two entry points: spmm_vec4 reads B and writes Y as vec4 (needs N % 4 == 0), spmm_scalar one float at a time.

override ACCUMULATE: bool = false;
// keep_nonzeros: nz_id[p] = p (the forward matrix): hash p and leave nz_id unread (a gather saved per nonzero).
override NZ_ID_IS_POSITION: bool = false;
override KEPT: bool = false;  // walk row_ptr[r] .. kept_end[r] (keep_nonzeros' output) instead of the whole row
override BIAS: bool = false;
override QUADS: u32 = 4;  // vec4 accumulators per thread: 1 to 8 (spmm_scalar: 1 to 4)

struct Params {
  rows: u32,        // rows of A and Y
  n: u32,           // columns of B and Y
  row_groups: u32,  // threads per row, each over 4 * QUADS columns (together covering N)
}

struct DropoutParams {
  rows: u32,  // rows of A
  p: f32,     // dropout probability
  seed: u32,  // dropout site
}

@group(0) @binding(0) var<storage, read> row_ptr: array<u32>;
@group(0) @binding(1) var<storage, read> col_idx: array<u32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read> nz_id: array<u32>;
@group(0) @binding(4) var<storage, read> b_in: array<f32>;     // spmm_scalar
@group(0) @binding(4) var<storage, read> b4: array<vec4f>;  // spmm_vec4: the same B, as quads of columns
@group(0) @binding(5) var<storage, read_write> y_out: array<f32>;     // spmm_scalar
@group(0) @binding(5) var<storage, read_write> y4: array<vec4f>;  // spmm_vec4: the same Y, as quads of columns
@group(0) @binding(6) var<uniform> P: Params;  // spmm_vec4, spmm_scalar
@group(0) @binding(6) var<uniform> D: DropoutParams;  // keep_nonzeros
@group(0) @binding(7) var<storage, read> step: array<u32>;
@group(0) @binding(8) var<storage, read> bias: array<f32>;     // spmm_scalar
@group(0) @binding(8) var<storage, read> bias4: array<vec4f>;  // spmm_vec4: [N / 4]
@group(0) @binding(9) var<storage, read> kept_end: array<u32>;  // [rows], with KEPT
// keep_nonzeros' outputs: [nnz], [nnz] (each row's kept entries at the front of its range) and [rows].
@group(0) @binding(10) var<storage, read_write> kept_col_out: array<u32>;
@group(0) @binding(11) var<storage, read_write> kept_val_out: array<f32>;
@group(0) @binding(12) var<storage, read_write> kept_end_out: array<u32>;

// The thread's row and first output column; row >= rows for threads past the end.
struct Job { row: u32, col: u32 }

fn job_of(inv: Invocation) -> Job {
  let t = thread_of(inv);
  let groups = P.row_groups;
  return Job(t / groups, (t % groups) * 4u * QUADS);
}

// One thread per row: its nonzeros p with mask[p] != 0, in order, as (col, value * mask) from row_ptr[row] on.
// Every nonzero is written (straight-line code); a dropped one is overwritten by the next kept one or lies past
// kept_end[row], where nothing reads.
@compute @workgroup_size(WG)
fn keep_nonzeros(inv: Invocation) {
  let row = thread_of(inv);
  if (row >= D.rows) { return; }
  let d = dropout_with_site(dropout_site(D.seed, step[0]), D.p);
  var at = row_ptr[row];
  let end = row_ptr[row + 1u];
  for (var p = at; p < end; p++) {
    var id = p;
    if (!NZ_ID_IS_POSITION) { id = nz_id[p]; }
    let scale = dropout_keep(d, id);
    kept_col_out[at] = col_idx[p];
    kept_val_out[at] = values[p] * scale;
    at += select(0u, 1u, scale != 0.0);
  }
  kept_end_out[row] = at;
}

// Where the thread's row ends: its last kept nonzero with KEPT, else the row's last.
fn row_end(row: u32) -> u32 {
  if (KEPT) { return kept_end[row]; }
  return row_ptr[row + 1u];
}

// Output writes are straight-line code (no loops with early exits, which are slow in the CPU driver).
// Y[at] = v (+ bias[c]) (+ Y[at])
fn put(at: u32, c: u32, v: f32) {
  var w = v;
  if (BIAS) { w += bias[c]; }
  if (ACCUMULATE) { y_out[at] += w; } else { y_out[at] = w; }
}

// Y[at .. at + 3] (columns c .. c + 3) = v (+ bias) (+ Y), of which only the first `valid` columns lie inside the row.
fn put_quad(at: u32, c: u32, v: vec4f, valid: u32) {
  if (valid > 0u) { put(at, c, v.x); }
  if (valid > 1u) { put(at + 1u, c + 1u, v.y); }
  if (valid > 2u) { put(at + 2u, c + 2u, v.z); }
  if (valid > 3u) { put(at + 3u, c + 3u, v.w); }
}

// Y4[row_at + quad] = v (+ bias4[quad]) (+ Y4) when quad < quads.
fn put_vec4(row_at: u32, quad: u32, quads: u32, v: vec4f) {
  if (quad < quads) {
    var w = v;
    if (BIAS) { w += bias4[quad]; }
    if (ACCUMULATE) { y4[row_at + quad] += w; } else { y4[row_at + quad] = w; }
  }
}

@compute @workgroup_size(WG)
fn spmm_vec4(inv: Invocation) {
  let job = job_of(inv);
  if (job.row >= P.rows) { return; }
  let quads = P.n / 4u;
  // This thread's quads first .. first + QUADS - 1; those past the end of the row are read clamped, never written.
  let first = job.col / 4u;
  let last = quads - 1u;
  var acc = array<vec4f, 8>();
  let end = row_end(job.row);
  for (var p = row_ptr[job.row]; p < end; p++) {
    let v = values[p];
    let base = col_idx[p] * quads;
    acc[0] += v * b4[base + min(first, last)];
    if (QUADS > 1u) { acc[1] += v * b4[base + min(first + 1u, last)]; }
    if (QUADS > 2u) { acc[2] += v * b4[base + min(first + 2u, last)]; }
    if (QUADS > 3u) { acc[3] += v * b4[base + min(first + 3u, last)]; }
    if (QUADS > 4u) { acc[4] += v * b4[base + min(first + 4u, last)]; }
    if (QUADS > 5u) { acc[5] += v * b4[base + min(first + 5u, last)]; }
    if (QUADS > 6u) { acc[6] += v * b4[base + min(first + 6u, last)]; }
    if (QUADS > 7u) { acc[7] += v * b4[base + min(first + 7u, last)]; }
  }
  let row_at = job.row * quads;
  put_vec4(row_at, first, quads, acc[0]);
  if (QUADS > 1u) { put_vec4(row_at, first + 1u, quads, acc[1]); }
  if (QUADS > 2u) { put_vec4(row_at, first + 2u, quads, acc[2]); }
  if (QUADS > 3u) { put_vec4(row_at, first + 3u, quads, acc[3]); }
  if (QUADS > 4u) { put_vec4(row_at, first + 4u, quads, acc[4]); }
  if (QUADS > 5u) { put_vec4(row_at, first + 5u, quads, acc[5]); }
  if (QUADS > 6u) { put_vec4(row_at, first + 6u, quads, acc[6]); }
  if (QUADS > 7u) { put_vec4(row_at, first + 7u, quads, acc[7]); }
}

// B[r, c .. c + 3] one float at a time, columns clamped to N - 1.
fn b_quad(base: u32, c: u32, last: u32) -> vec4f {
  return vec4f(
    b_in[base + min(c, last)],
    b_in[base + min(c + 1u, last)],
    b_in[base + min(c + 2u, last)],
    b_in[base + min(c + 3u, last)]
  );
}

@compute @workgroup_size(WG)
fn spmm_scalar(inv: Invocation) {
  let job = job_of(inv);
  if (job.row >= P.rows) { return; }
  let n = P.n;
  let last = n - 1u;
  let c = job.col;
  var acc = array<vec4f, 4>();
  let end = row_end(job.row);
  for (var p = row_ptr[job.row]; p < end; p++) {
    let v = values[p];
    let base = col_idx[p] * n;
    acc[0] += v * b_quad(base, c, last);
    if (QUADS > 1u) { acc[1] += v * b_quad(base, c + 4u, last); }
    if (QUADS > 2u) { acc[2] += v * b_quad(base, c + 8u, last); }
    if (QUADS > 3u) { acc[3] += v * b_quad(base, c + 12u, last); }
  }
  let at = job.row * n + c;
  put_quad(at, c, acc[0], n - min(n, c));
  if (QUADS > 1u) { put_quad(at + 4u, c + 4u, acc[1], n - min(n, c + 4u)); }
  if (QUADS > 2u) { put_quad(at + 8u, c + 8u, acc[2], n - min(n, c + 8u)); }
  if (QUADS > 3u) { put_quad(at + 12u, c + 12u, acc[3], n - min(n, c + 12u)); }
}
