// Prelude: dropout on the attention coefficients, hashed, never stored: the multiplier of edge k, head h is
// dropout_scale(seed, step, k * H + h, p) of common.wgsl (p = 0: always 1). A kernel that declares it has `heads`,
// `p` (the probability) and `seed` (the dropout site seed) in its uniform block P and binds `step: array<u32>`, the
// training step counter.

// Pipelines with and without dropout: without, drop() is the constant 1 (no hash, no branch in the loops).
override DROPOUT: bool = false;

// The step-only part of the dropout hash and the per-thread constants, computed once per thread by init_dropout().
var<private> mask: DropoutSite;

fn init_dropout() {
  if (DROPOUT) { mask = dropout_with_site(dropout_site(P.seed, step[0]), P.p); }
}

// Dropout multiplier of attention coefficient (edge k, head h), with the constants of init_dropout().
fn drop(k: u32, h: u32) -> f32 {
  if (!DROPOUT) { return 1.0; }
  return dropout_keep(mask, k * P.heads + h);
}
