// Dense matmul of row-major f32 matrices, register-blocked:
//   C[M, N] = op(A) op(B) (+ bias[n] when BIAS) (+ C when ACCUMULATE),
//   op(A) = A [M, K], or A^T with A stored [K, M] when TRANS_A,
//   op(B) = B [K, N], or B^T with B stored [N, K] when TRANS_B.
// One thread computes a BLOCK_M x BLOCK_N block of C (4, 8, 12 or 16 each; 16 x 16 for large C) as up to 4 x 4
// matrices of 4 x 4 held in registers, walking K four at a time: per step it loads BLOCK_M / 4 4 x 4 blocks of op(A)
// and BLOCK_N / 4 of op(B) and adds every pair's product. On the CPU driver each load is a gather that costs far more
// than the multiply-adds, so the cost is about the values each thread loads: (BLOCK_M + BLOCK_N) per k for
// BLOCK_M BLOCK_N products, which is why the blocks are as large as the padding allows (matmul.ts). Loads go
// straight to storage (no workgroup tiles: on SwiftShader, the CPU driver this library falls back to, workgroup
// memory is slower to read than storage and barriers cost coroutine switches; docs/kernels.md).
// Rows of op(A) past M and columns of op(B) past N are read clamped into range and feed only elements of C that are
// never written; K past the end is masked to zero, so any M, N, K works.
//
// Split-K (a small C with a long K, e.g. the weight gradient X^T dY): thread t works on split t / blocks, the K range
// [split * k_chunk, min(K, (split + 1) * k_chunk)), and writes its partial block to part[split, M, N]; `reduce_splits`
// then sums the partials in split order (deterministic, no atomics).

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;
override BIAS: bool = false;
// Dropout on A as it is read: A[i] * dropout_scale(seed, step, i, p) with i the element's index in A's storage, the
// mask elementwise.wgsl's `dropout` applies to the same tensor. A layer's dense input is then never stored dropped.
override A_DROPOUT: bool = false;
override BLOCK_M: u32 = 8;  // rows of C per thread: 4, 8, 12 or 16
override BLOCK_N: u32 = 8;  // columns of C per thread: 4, 8, 12 or 16

struct Params {
  m: u32,
  n: u32,
  k: u32,
  blocks_n: u32,  // ceil(N / BLOCK_N)
  blocks: u32,    // ceil(M / BLOCK_M) * blocks_n: threads per split
  k_chunk: u32,   // K range of one split (a multiple of 4); >= K when there is one split
  splits: u32,    // number of K splits (1: write C directly)
  p: f32,         // A_DROPOUT: probability
  seed: u32,      // A_DROPOUT: dropout site
}

@group(0) @binding(0) var<storage, read> a_in: array<f32>;         // reduce_splits: the partials [splits, M, N]
@group(0) @binding(1) var<storage, read> b_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;   // C, or the partials [splits, M, N] when splits > 1
@group(0) @binding(3) var<uniform> P: Params;
@group(0) @binding(4) var<storage, read> bias: array<f32>;     // [N], read when BIAS
@group(0) @binding(5) var<storage, read> step: array<u32>;     // the training step, read when A_DROPOUT

// Sizes, copied from the uniform block once per thread (the CPU driver re-reads uniforms at every use).
var<private> M: u32;
var<private> N: u32;
var<private> K: u32;
var<private> SITE: DropoutSite;  // A_DROPOUT: the dropout constants, computed once per thread

// op(A)[m, k], zero for k >= k_end; m is clamped into range.
fn a_at(m: u32, k: u32, k_end: u32) -> f32 {
  let row = min(m, M - 1u);
  let kk = min(k, k_end - 1u);
  var i: u32;
  if (TRANS_A) { i = kk * M + row; } else { i = row * K + kk; }
  var v = a_in[i];
  if (A_DROPOUT) { v *= dropout_keep(SITE, i); }
  return select(0.0, v, k < k_end);
}

// op(B)[k, n], zero for k >= k_end; n is clamped into range.
fn b_at(k: u32, n: u32, k_end: u32) -> f32 {
  let col = min(n, N - 1u);
  let kk = min(k, k_end - 1u);
  var v: f32;
  if (TRANS_B) { v = b_in[col * K + kk]; } else { v = b_in[kk * N + col]; }
  return select(0.0, v, k < k_end);
}

// op(A)[m .. m+3, k]
fn a_col(m: u32, k: u32, k_end: u32) -> vec4f {
  return vec4f(a_at(m, k, k_end), a_at(m + 1u, k, k_end), a_at(m + 2u, k, k_end), a_at(m + 3u, k, k_end));
}

// op(B)[k .. k+3, n]
fn b_col(k: u32, n: u32, k_end: u32) -> vec4f {
  return vec4f(b_at(k, n, k_end), b_at(k + 1u, n, k_end), b_at(k + 2u, n, k_end), b_at(k + 3u, n, k_end));
}

// The 4 x 4 block op(A)[m .. m+3, k .. k+3] (column j = op(A)[m .. m+3, k + j]).
fn a_block(m: u32, k: u32, k_end: u32) -> mat4x4f {
  return mat4x4f(a_col(m, k, k_end), a_col(m, k + 1u, k_end), a_col(m, k + 2u, k_end), a_col(m, k + 3u, k_end));
}

// The 4 x 4 block op(B)[k .. k+3, n .. n+3] (column j = op(B)[k .. k+3, n + j]).
fn b_block(k: u32, n: u32, k_end: u32) -> mat4x4f {
  return mat4x4f(b_col(k, n, k_end), b_col(k, n + 1u, k_end), b_col(k, n + 2u, k_end), b_col(k, n + 3u, k_end));
}

// Output writes are straight-line code (loops with early exits are slow in the CPU driver).
fn put(at: u32, v: f32, add: bool) {
  if (add) { c[at] += v; } else { c[at] = v; }
}

// C[row, n .. n+3] = v (+ C), of which only the first `valid` columns lie inside C.
fn put_row(at: u32, v: vec4f, valid: u32, add: bool) {
  if (valid > 0u) { put(at, v.x, add); }
  if (valid > 1u) { put(at + 1u, v.y, add); }
  if (valid > 2u) { put(at + 2u, v.z, add); }
  if (valid > 3u) { put(at + 3u, v.w, add); }
}

// Writes the block C[m .. m+3, n .. n+3] = acc (column j of acc is C[m .. m+3, n + j]) (+ bias, one split), adds it
// to C (ACCUMULATE, one split), or writes it as split `split`'s partial; skips what lies outside C.
fn store_block(acc: mat4x4f, m: u32, n: u32, split: u32, splits: u32) {
  let rows = transpose(acc);
  let at = split * M * N + m * N + n;
  let valid = N - min(N, n);
  let add = ACCUMULATE && splits == 1u;
  var b = vec4f(0.0);
  if (BIAS && splits == 1u) {
    let j = min(vec4u(n) + vec4u(0u, 1u, 2u, 3u), vec4u(N - 1u));
    b = vec4f(bias[j.x], bias[j.y], bias[j.z], bias[j.w]);
  }
  if (m < M) { put_row(at, rows[0] + b, valid, add); }
  if (m + 1u < M) { put_row(at + N, rows[1] + b, valid, add); }
  if (m + 2u < M) { put_row(at + 2u * N, rows[2] + b, valid, add); }
  if (m + 3u < M) { put_row(at + 3u * N, rows[3] + b, valid, add); }
}

// C[m, n] = sum_k op(A)[m, k] op(B)[k, n] (+ C[m, n]); with splits, part[s, m, n] = the sum over split s's K range.
// Thread t: split t / blocks, block row (t % blocks) / blocks_n, block column t % blocks_n.
@compute @workgroup_size(WG)
fn matmul(inv: Invocation) {
  let t = thread_of(inv);
  let blocks = P.blocks;
  let splits = P.splits;
  if (t >= blocks * splits) { return; }
  M = P.m;
  N = P.n;
  K = P.k;
  if (A_DROPOUT) { SITE = dropout_with_site(dropout_site(P.seed, step[0]), P.p); }
  let split = t / blocks;
  let blk = t % blocks;
  let m = (blk / P.blocks_n) * BLOCK_M;
  let n = (blk % P.blocks_n) * BLOCK_N;
  let k_begin = split * P.k_chunk;
  let k_end = min(K, k_begin + P.k_chunk);

  // acc_ij: rows m + 4i .. +3, columns n + 4j .. +3, for i < BLOCK_M / 4 and j < BLOCK_N / 4 (the others stay unused).
  var acc00 = mat4x4f(); var acc01 = mat4x4f(); var acc02 = mat4x4f(); var acc03 = mat4x4f();
  var acc10 = mat4x4f(); var acc11 = mat4x4f(); var acc12 = mat4x4f(); var acc13 = mat4x4f();
  var acc20 = mat4x4f(); var acc21 = mat4x4f(); var acc22 = mat4x4f(); var acc23 = mat4x4f();
  var acc30 = mat4x4f(); var acc31 = mat4x4f(); var acc32 = mat4x4f(); var acc33 = mat4x4f();
  for (var k = k_begin; k < k_end; k += 4u) {
    let a0 = a_block(m, k, k_end);
    var a1 = mat4x4f();
    if (BLOCK_M > 4u) { a1 = a_block(m + 4u, k, k_end); }
    var a2 = mat4x4f();
    if (BLOCK_M > 8u) { a2 = a_block(m + 8u, k, k_end); }
    var a3 = mat4x4f();
    if (BLOCK_M > 12u) { a3 = a_block(m + 12u, k, k_end); }
    let b0 = b_block(k, n, k_end);
    var b1 = mat4x4f();
    if (BLOCK_N > 4u) { b1 = b_block(k, n + 4u, k_end); }
    var b2 = mat4x4f();
    if (BLOCK_N > 8u) { b2 = b_block(k, n + 8u, k_end); }
    var b3 = mat4x4f();
    if (BLOCK_N > 12u) { b3 = b_block(k, n + 12u, k_end); }
    acc00 += a0 * b0;
    if (BLOCK_N > 4u) { acc01 += a0 * b1; }
    if (BLOCK_N > 8u) { acc02 += a0 * b2; }
    if (BLOCK_N > 12u) { acc03 += a0 * b3; }
    if (BLOCK_M > 4u) { acc10 += a1 * b0; }
    if (BLOCK_M > 4u && BLOCK_N > 4u) { acc11 += a1 * b1; }
    if (BLOCK_M > 4u && BLOCK_N > 8u) { acc12 += a1 * b2; }
    if (BLOCK_M > 4u && BLOCK_N > 12u) { acc13 += a1 * b3; }
    if (BLOCK_M > 8u) { acc20 += a2 * b0; }
    if (BLOCK_M > 8u && BLOCK_N > 4u) { acc21 += a2 * b1; }
    if (BLOCK_M > 8u && BLOCK_N > 8u) { acc22 += a2 * b2; }
    if (BLOCK_M > 8u && BLOCK_N > 12u) { acc23 += a2 * b3; }
    if (BLOCK_M > 12u) { acc30 += a3 * b0; }
    if (BLOCK_M > 12u && BLOCK_N > 4u) { acc31 += a3 * b1; }
    if (BLOCK_M > 12u && BLOCK_N > 8u) { acc32 += a3 * b2; }
    if (BLOCK_M > 12u && BLOCK_N > 12u) { acc33 += a3 * b3; }
  }
  store_block(acc00, m, n, split, splits);
  if (BLOCK_N > 4u) { store_block(acc01, m, n + 4u, split, splits); }
  if (BLOCK_N > 8u) { store_block(acc02, m, n + 8u, split, splits); }
  if (BLOCK_N > 12u) { store_block(acc03, m, n + 12u, split, splits); }
  if (BLOCK_M > 4u) { store_block(acc10, m + 4u, n, split, splits); }
  if (BLOCK_M > 4u && BLOCK_N > 4u) { store_block(acc11, m + 4u, n + 4u, split, splits); }
  if (BLOCK_M > 4u && BLOCK_N > 8u) { store_block(acc12, m + 4u, n + 8u, split, splits); }
  if (BLOCK_M > 4u && BLOCK_N > 12u) { store_block(acc13, m + 4u, n + 12u, split, splits); }
  if (BLOCK_M > 8u) { store_block(acc20, m + 8u, n, split, splits); }
  if (BLOCK_M > 8u && BLOCK_N > 4u) { store_block(acc21, m + 8u, n + 4u, split, splits); }
  if (BLOCK_M > 8u && BLOCK_N > 8u) { store_block(acc22, m + 8u, n + 8u, split, splits); }
  if (BLOCK_M > 8u && BLOCK_N > 12u) { store_block(acc23, m + 8u, n + 12u, split, splits); }
  if (BLOCK_M > 12u) { store_block(acc30, m + 12u, n, split, splits); }
  if (BLOCK_M > 12u && BLOCK_N > 4u) { store_block(acc31, m + 12u, n + 4u, split, splits); }
  if (BLOCK_M > 12u && BLOCK_N > 8u) { store_block(acc32, m + 12u, n + 8u, split, splits); }
  if (BLOCK_M > 12u && BLOCK_N > 12u) { store_block(acc33, m + 12u, n + 12u, split, splits); }
}

// C[i] = sum_{s < splits} part[s, i] (+ bias[i % N]) (+ C[i]), summed in split order. One thread per element of C.
@compute @workgroup_size(WG)
fn reduce_splits(inv: Invocation) {
  let i = thread_of(inv);
  let size = P.m * P.n;
  if (i >= size) { return; }
  let splits = P.splits;
  var s = 0.0;
  for (var split = 0u; split < splits; split++) { s += a_in[split * size + i]; }
  if (BIAS) { s += bias[i % P.n]; }
  if (ACCUMULATE) { s += c[i]; }
  c[i] = s;
}
