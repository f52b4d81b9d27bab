// Deterministic reductions: per-node sums of per-edge values (through CSR segments or the CSC permutation) and
// column sums (partials over fixed row blocks, then their sum). No atomics: every output element is summed by one
// thread in a fixed order, so results are bit-identical run to run.
//
// Every entry point is written once over `Elem`, the element type the kernel module declares in a one-line
// prelude: f32 columns, or vec4f column groups when F is a multiple of 4 (four columns per load). Both sum every
// column in the same order, so they give the same bits. For vec4f, P.f counts vec4 groups (F / 4).

struct Params {
  n: u32,          // scatter: nodes N; column sums: rows of the input (x or the stage-1 partials)
  f: u32,          // columns per row: F, or F / 4 for vec4f
  block: u32,      // column sum stage 1: rows per block
  accumulate: u32, // column sum stage 2: 1 = add to out, 0 = overwrite
}

@group(0) @binding(0) var<storage, read> offsets: array<u32>;   // rowPtr (by dst) or colPtr (by src), N + 1 entries
@group(0) @binding(1) var<storage, read> perm: array<u32>;  // CSC permutation: CSR positions in source order
@group(0) @binding(2) var<storage, read> vals: array<Elem>;  // scatter: [E, F] in CSR order; column sums: [R, F]
@group(0) @binding(3) var<storage, read_write> out: array<Elem>;
@group(0) @binding(4) var<uniform> P: Params;

// Rows [b * block, min((b + 1) * block, n)) of column-sum stage 1.
fn block_rows(b: u32) -> vec2u {
  return vec2u(b * P.block, min((b + 1u) * P.block, P.n));
}

// By destination: out[i, f] = sum_{k = rowPtr[i]}^{rowPtr[i+1]-1} vals[k, f]   (one thread per (i, f); 0 without edges)
@compute @workgroup_size(WG)
fn scatter_dst(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.n * P.f) { return; }
  let i = t / P.f;
  let f = t % P.f;
  var s = Elem(0.0);
  for (var k = offsets[i]; k < offsets[i + 1u]; k++) { s += vals[k * P.f + f]; }
  out[t] = s;
}

// By source: out[i, f] = sum_{q = colPtr[i]}^{colPtr[i+1]-1} vals[perm[q], f]   (one thread per (i, f))
@compute @workgroup_size(WG)
fn scatter_src(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.n * P.f) { return; }
  let i = t / P.f;
  let f = t % P.f;
  var s = Elem(0.0);
  for (var q = offsets[i]; q < offsets[i + 1u]; q++) { s += vals[perm[q] * P.f + f]; }
  out[t] = s;
}

// Column sum stage 1: partial[b, f] = sum_{r = b*block}^{min((b+1)*block, R)-1} x[r, f]   (one thread per (b, f))
@compute @workgroup_size(WG)
fn column_partials(inv: Invocation) {
  let t = thread_of(inv);
  let blocks = (P.n + P.block - 1u) / P.block;
  if (t >= blocks * P.f) { return; }
  let rows = block_rows(t / P.f);
  let f = t % P.f;
  var s = Elem(0.0);
  for (var r = rows.x; r < rows.y; r++) { s += vals[r * P.f + f]; }
  out[t] = s;
}

// Column sum stage 2 (or the only stage for few rows): out[f] = (accumulate ? out[f] : 0) + sum_{r < R} x[r, f]
// in row order, x being the stage-1 partials [blocks, F] or the input itself.   (one thread per f)
@compute @workgroup_size(WG)
fn column_total(inv: Invocation) {
  let f = thread_of(inv);
  if (f >= P.f) { return; }
  var s = Elem(0.0);
  for (var r = 0u; r < P.n; r++) { s += vals[r * P.f + f]; }
  if (P.accumulate != 0u) { s = out[f] + s; }
  out[f] = s;
}
