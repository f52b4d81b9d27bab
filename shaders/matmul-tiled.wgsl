// Dense matmul shaped for GPUs, the same product as matmul.wgsl:
//   C[M, N] = op(A) op(B) (+ bias[n] when BIAS) (+ C when ACCUMULATE),
//   op(A) = A [M, K], or A^T with A stored [K, M] when TRANS_A; op(B) = B [K, N], or B^T with B stored [N, K].
// A workgroup of 256 threads computes a 64 x 64 tile of C, 4 x 4 elements a thread (rows 4 ty .. 4 ty + 3,
// columns 4 tx .. 4 tx + 3, held as four vec4 accumulators). K is walked 16 at a time: the workgroup
// stages the 64 x 16 slice of op(A) and the 16 x 64 slice of op(B) in workgroup memory (each thread loads 4 values
// of each, neighbouring threads neighbouring addresses in whichever layout A and B are stored), waits, and every
// thread adds its 16 products per element from there. Rows past M, columns past N and K past the end load as 0.
// Dropout on A as it is read (A_DROPOUT) applies the mask of elementwise.wgsl's `dropout` to A's storage index.
//
// Split-K (a small C with a long K, e.g. the weight gradient X^T dY): workgroup g works on split g / tiles, the K
// range [split * k_chunk, min(K, (split + 1) * k_chunk)), and writes its partial tile to part[split, M, N];
// `tiled_reduce_splits` sums the partials in split order. Every element is one thread's sum in a fixed order:
// deterministic, no atomics.

override TRANS_A: bool = false;
override TRANS_B: bool = false;
override ACCUMULATE: bool = false;
override BIAS: bool = false;
override A_DROPOUT: bool = false;

const TILE: u32 = 64;    // rows and columns of C per workgroup
const DEPTH: u32 = 16;   // K per stage
const SIDE: u32 = 16;    // threads per tile side (SIDE * SIDE = WG = 256)
const PER: u32 = 4;      // rows and columns of C per thread (TILE / SIDE)

struct Params {
  m: u32,
  n: u32,
  k: u32,
  tiles_n: u32,  // ceil(N / 64)
  tiles: u32,    // ceil(M / 64) * tiles_n: workgroups per split
  k_chunk: u32,  // K range of one split (a multiple of 16); >= K when there is one split
  splits: u32,   // number of K splits (1: write C directly)
  p: f32,        // A_DROPOUT: probability
  seed: u32,     // A_DROPOUT: dropout site
}

@group(0) @binding(0) var<storage, read> a_in: array<f32>;        // tiled_reduce_splits: the partials
@group(0) @binding(1) var<storage, read> b_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> c: array<f32>;     // C, or the partials [splits, M, N]
@group(0) @binding(3) var<uniform> P: Params;
@group(0) @binding(4) var<storage, read> bias: array<f32>;        // [N], read when BIAS
@group(0) @binding(5) var<storage, read> step: array<u32>;        // the training step, read when A_DROPOUT

var<workgroup> a_tile: array<f32, 1024>;  // op(A)[m0 + r, k0 + d] at d * TILE + r
var<workgroup> b_tile: array<f32, 1024>;  // op(B)[k0 + d, n0 + c] at d * TILE + c

// op(A)[m, k], 0 outside [0, M) x [0, k_end).
fn load_a(m: u32, k: u32, k_end: u32, drop: DropoutSite) -> f32 {
  if (m >= P.m || k >= k_end) { return 0.0; }
  var i: u32;
  if (TRANS_A) { i = k * P.m + m; } else { i = m * P.k + k; }
  var v = a_in[i];
  if (A_DROPOUT) { v *= dropout_keep(drop, i); }
  return v;
}

// op(B)[k, n], 0 outside [0, k_end) x [0, N).
fn load_b(k: u32, n: u32, k_end: u32) -> f32 {
  if (n >= P.n || k >= k_end) { return 0.0; }
  if (TRANS_B) { return b_in[n * P.k + k]; }
  return b_in[k * P.n + n];
}

@compute @workgroup_size(WG)
fn matmul_tiled(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) li: u32) {
  // Every thread of a workgroup takes the same path to the barriers; only the stores are guarded.
  let g = group_index(wid, nwg);
  let split = g / P.tiles;
  let tile = g % P.tiles;
  let m0 = (tile / P.tiles_n) * TILE;
  let n0 = (tile % P.tiles_n) * TILE;
  let k_begin = split * P.k_chunk;
  let k_end = min(P.k, k_begin + P.k_chunk);
  let tx = li % SIDE;
  let ty = li / SIDE;
  var drop = DropoutSite(0u, 0u, 1.0);
  if (A_DROPOUT) { drop = dropout_with_site(dropout_site(P.seed, step[0]), P.p); }

  // acc_i: C[m0 + 4 ty + i, n0 + 4 tx .. + 3]
  var acc0 = vec4f(0.0);
  var acc1 = vec4f(0.0);
  var acc2 = vec4f(0.0);
  var acc3 = vec4f(0.0);
  let r0 = PER * ty;
  let c0 = PER * tx;
  for (var k0 = k_begin; k0 < k_end; k0 += DEPTH) {
    for (var r = 0u; r < 4u; r++) {
      let e = li + r * WG;
      // Neighbouring threads load neighbouring addresses: along K when A is [M, K], along M when it is [K, M].
      var am: u32; var ad: u32;
      if (TRANS_A) { am = e % TILE; ad = e / TILE; } else { am = e / DEPTH; ad = e % DEPTH; }
      a_tile[ad * TILE + am] = load_a(m0 + am, k0 + ad, k_end, drop);
      var bn: u32; var bd: u32;
      if (TRANS_B) { bn = e / DEPTH; bd = e % DEPTH; } else { bn = e % TILE; bd = e / TILE; }
      b_tile[bd * TILE + bn] = load_b(k0 + bd, n0 + bn, k_end);
    }
    workgroupBarrier();
    for (var d = 0u; d < DEPTH; d++) {
      let at = d * TILE;
      let a = vec4f(a_tile[at + r0], a_tile[at + r0 + 1u], a_tile[at + r0 + 2u], a_tile[at + r0 + 3u]);
      let b = vec4f(b_tile[at + c0], b_tile[at + c0 + 1u], b_tile[at + c0 + 2u], b_tile[at + c0 + 3u]);
      acc0 += a.x * b;
      acc1 += a.y * b;
      acc2 += a.z * b;
      acc3 += a.w * b;
    }
    workgroupBarrier();
  }

  store_row(m0 + r0, n0 + c0, split, acc0);
  store_row(m0 + r0 + 1u, n0 + c0, split, acc1);
  store_row(m0 + r0 + 2u, n0 + c0, split, acc2);
  store_row(m0 + r0 + 3u, n0 + c0, split, acc3);
}

// C[m, n .. n + 3] = v (+ bias) (+ C) with one split, else split `split`'s partial; skips what lies outside C.
fn store_row(m: u32, n: u32, split: u32, v: vec4f) {
  if (m >= P.m) { return; }
  let one = P.splits == 1u;
  let row = split * P.m * P.n + m * P.n;
  for (var j = 0u; j < PER; j++) {
    let col = n + j;
    if (col < P.n) {
      var x = v[j];
      if (one) {
        if (BIAS) { x += bias[col]; }
        if (ACCUMULATE) { x += c[row + col]; }
      }
      c[row + col] = x;
    }
  }
}

// C[i] = sum_{s < splits} part[s, i] (+ bias[i % N]) (+ C[i]), summed in split order. One thread per element of C.
@compute @workgroup_size(WG)
fn tiled_reduce_splits(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  let size = P.m * P.n;
  if (i >= size) { return; }
  var s = 0.0;
  for (var split = 0u; split < P.splits; split++) { s += a_in[split * size + i]; }
  if (BIAS) { s += bias[i % P.n]; }
  if (ACCUMULATE) { s += c[i]; }
  c[i] = s;
}
