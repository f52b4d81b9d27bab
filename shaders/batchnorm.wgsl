// Batch normalisation over the rows of x [N, F] (torch.nn.BatchNorm1d on a 2-D input), with its backward. One
// thread per column loops over the rows in order: deterministic, no atomics; meant for the modest row counts of a
// batch of graph embeddings (tens to thousands of rows).

struct Params {
  rows: u32,       // N
  cols: u32,       // F
  eps: f32,
  momentum: f32,   // running = (1 - momentum) * running + momentum * batch statistic
  update: u32,     // 1: update the running statistics (training), 0: leave them
}

@group(0) @binding(0) var<storage, read> x_in: array<f32>;                // [N, F]
@group(0) @binding(1) var<storage, read> weight: array<f32>;              // gamma [F]
@group(0) @binding(2) var<storage, read> bias: array<f32>;                // beta [F]
@group(0) @binding(3) var<storage, read_write> out: array<f32>;           // y [N, F], or dx in the backward
@group(0) @binding(4) var<storage, read_write> batch_mean: array<f32>;    // [F], kept for the backward
@group(0) @binding(5) var<storage, read_write> batch_invstd: array<f32>;  // [F], 1 / sqrt(var + eps)
@group(0) @binding(6) var<storage, read_write> running_mean: array<f32>;  // [F]
@group(0) @binding(7) var<storage, read_write> running_var: array<f32>;   // [F]
@group(0) @binding(8) var<uniform> P: Params;
@group(0) @binding(9) var<storage, read> grad_in: array<f32>;             // d y [N, F]
@group(0) @binding(10) var<storage, read_write> grad_weight: array<f32>;  // d gamma [F]
@group(0) @binding(11) var<storage, read_write> grad_bias: array<f32>;    // d beta [F]

// Training: mean and biased variance of each column normalise it; the running statistics take the unbiased variance.
@compute @workgroup_size(WG)
fn batchnorm_train(inv: Invocation) {
  let f = thread_of(inv);
  if (f >= P.cols) { return; }
  let n = P.rows;
  var s = 0.0;
  for (var r = 0u; r < n; r++) { s += x_in[r * P.cols + f]; }
  let mean = s / f32(n);
  var q = 0.0;
  for (var r = 0u; r < n; r++) { let d = x_in[r * P.cols + f] - mean; q += d * d; }
  let variance = q / f32(n);
  let invstd = 1.0 / sqrt(variance + P.eps);
  batch_mean[f] = mean;
  batch_invstd[f] = invstd;
  let a = weight[f] * invstd;
  for (var r = 0u; r < n; r++) { out[r * P.cols + f] = (x_in[r * P.cols + f] - mean) * a + bias[f]; }
  if (P.update == 1u) {
    let unbiased = select(variance, q / f32(n - 1u), n > 1u);
    running_mean[f] = (1.0 - P.momentum) * running_mean[f] + P.momentum * mean;
    running_var[f] = (1.0 - P.momentum) * running_var[f] + P.momentum * unbiased;
  }
}

// Evaluation: the running statistics normalise.
@compute @workgroup_size(WG)
fn batchnorm_eval(inv: Invocation) {
  let t = thread_of(inv);
  if (t >= P.rows * P.cols) { return; }
  let f = t % P.cols;
  out[t] = (x_in[t] - running_mean[f]) / sqrt(running_var[f] + P.eps) * weight[f] + bias[f];
}

// Backward of batchnorm_train, with xhat = (x - mean) * invstd:
//   d beta = sum_r dy,  d gamma = sum_r dy * xhat,  dx = gamma * invstd / N * (N dy - d beta - xhat * d gamma)
@compute @workgroup_size(WG)
fn batchnorm_backward(inv: Invocation) {
  let f = thread_of(inv);
  if (f >= P.cols) { return; }
  let n = P.rows;
  let mean = batch_mean[f];
  let invstd = batch_invstd[f];
  var db = 0.0;
  var dg = 0.0;
  for (var r = 0u; r < n; r++) {
    let dy = grad_in[r * P.cols + f];
    db += dy;
    dg += dy * (x_in[r * P.cols + f] - mean) * invstd;
  }
  grad_bias[f] = db;
  grad_weight[f] = dg;
  let k = weight[f] * invstd / f32(n);
  for (var r = 0u; r < n; r++) {
    let i = r * P.cols + f;
    out[i] = k * (f32(n) * grad_in[i] - db - (x_in[i] - mean) * invstd * dg);
  }
}
