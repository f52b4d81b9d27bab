// Deterministic reductions: per-node sums of per-edge values (through CSR segments or the CSC permutation) and
// column sums (partials over fixed row blocks, then their sum). No atomics: every output element is summed by one
// thread in a fixed order, so results are bit-identical run to run.
//
// Each entry point comes twice: over f32 columns, and (suffix 4) over vec4 column groups when F is a multiple of 4,
// which moves four columns per load. Both sum every column in the same
// order, so they give the same bits. For the vec4 entry points P.f counts vec4 groups (F / 4).

struct Params {
  n: u32,          // scatter: nodes N; column sums: rows of the input (x or the stage-1 partials)
  f: u32,          // columns per row: F, or F / 4 for the vec4 entry points
  block: u32,      // column sum stage 1: rows per block
  accumulate: u32, // column sum stage 2: 1 = add to out, 0 = overwrite
}

@group(0) @binding(0) var<storage, read> offsets: array<u32>;   // rowPtr (by dst) or colPtr (by src), N + 1 entries
@group(0) @binding(1) var<storage, read> perm: array<u32>;  // CSC permutation: CSR positions in source order
@group(0) @binding(2) var<storage, read> vals: array<f32>;  // scatter: [E, F] in CSR order; column sums: [R, F]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;
@group(0) @binding(4) var<uniform> P: Params;
// The same two bindings seen as vec4 column groups; an entry point uses one view or the other, never both.
@group(0) @binding(2) var<storage, read> vals4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> out4: array<vec4f>;

// Rows [b * block, min((b + 1) * block, n)) of column-sum stage 1.
fn block_rows(b: u32) -> vec2u {
  return vec2u(b * P.block, min((b + 1u) * P.block, P.n));
}

// By destination: out[i, f] = sum_{k = rowPtr[i]}^{rowPtr[i+1]-1} vals[k, f]   (one thread per (i, f); 0 without edges)
@compute @workgroup_size(WG)
fn scatter_dst(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.n * P.f) { return; }
  let i = t / P.f;
  let f = t % P.f;
  var s = 0.0;
  for (var k = offsets[i]; k < offsets[i + 1u]; k++) { s += vals[k * P.f + f]; }
  out[t] = s;
}

@compute @workgroup_size(WG)
fn scatter_dst4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.n * P.f) { return; }
  let i = t / P.f;
  let f = t % P.f;
  var s = vec4f(0.0);
  for (var k = offsets[i]; k < offsets[i + 1u]; k++) { s += vals4[k * P.f + f]; }
  out4[t] = s;
}

// By source: out[i, f] = sum_{q = colPtr[i]}^{colPtr[i+1]-1} vals[perm[q], f]   (one thread per (i, f))
@compute @workgroup_size(WG)
fn scatter_src(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.n * P.f) { return; }
  let i = t / P.f;
  let f = t % P.f;
  var s = 0.0;
  for (var q = offsets[i]; q < offsets[i + 1u]; q++) { s += vals[perm[q] * P.f + f]; }
  out[t] = s;
}

@compute @workgroup_size(WG)
fn scatter_src4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  if (t >= P.n * P.f) { return; }
  let i = t / P.f;
  let f = t % P.f;
  var s = vec4f(0.0);
  for (var q = offsets[i]; q < offsets[i + 1u]; q++) { s += vals4[perm[q] * P.f + f]; }
  out4[t] = s;
}

// Column sum stage 1: partial[b, f] = sum_{r = b*block}^{min((b+1)*block, R)-1} x[r, f]   (one thread per (b, f))
@compute @workgroup_size(WG)
fn column_partials(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  let blocks = (P.n + P.block - 1u) / P.block;
  if (t >= blocks * P.f) { return; }
  let rows = block_rows(t / P.f);
  let f = t % P.f;
  var s = 0.0;
  for (var r = rows.x; r < rows.y; r++) { s += vals[r * P.f + f]; }
  out[t] = s;
}

@compute @workgroup_size(WG)
fn column_partials4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let t = thread_index(wid, nwg, lid);
  let blocks = (P.n + P.block - 1u) / P.block;
  if (t >= blocks * P.f) { return; }
  let rows = block_rows(t / P.f);
  let f = t % P.f;
  var s = vec4f(0.0);
  for (var r = rows.x; r < rows.y; r++) { s += vals4[r * P.f + f]; }
  out4[t] = s;
}

// Column sum stage 2 (or the only stage for few rows): out[f] = (accumulate ? out[f] : 0) + sum_{r < R} x[r, f]
// in row order, x being the stage-1 partials [blocks, F] or the input itself.   (one thread per f)
@compute @workgroup_size(WG)
fn column_total(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let f = thread_index(wid, nwg, lid);
  if (f >= P.f) { return; }
  var s = 0.0;
  for (var r = 0u; r < P.n; r++) { s += vals[r * P.f + f]; }
  if (P.accumulate != 0u) { s = out[f] + s; }
  out[f] = s;
}

@compute @workgroup_size(WG)
fn column_total4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let f = thread_index(wid, nwg, lid);
  if (f >= P.f) { return; }
  var s = vec4f(0.0);
  for (var r = 0u; r < P.n; r++) { s += vals4[r * P.f + f]; }
  if (P.accumulate != 0u) { s = out4[f] + s; }
  out4[f] = s;
}
