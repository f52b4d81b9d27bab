// Elementwise kernels: one thread per element. Each forward's backward sits beside it.

struct Params {
  n: u32,        // elements
  cols: u32,     // row length (bias_add: bias length; head_mean: C)
  a: f32,        // ELU alpha, LeakyReLU slope, dropout p, fill value
  seed: u32,     // dropout site seed
  heads: u32,    // head_mean: H
}

@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> y: array<f32>;     // second input (bias, dy, b)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;
@group(0) @binding(4) var<storage, read> step: array<u32>; // step counter for dropout masks

// out[r, c] = x[r, c] + bias[c]
@compute @workgroup_size(WG)
fn bias_add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  out[i] = x[i] + y[i % P.cols];
}

// out = a + b
@compute @workgroup_size(WG)
fn add(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  out[i] = x[i] + y[i];
}

// ELU: out = x if x > 0 else alpha * (exp(x) - 1)
@compute @workgroup_size(WG)
fn elu_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  let v = x[i];
  out[i] = select(P.a * (exp(v) - 1.0), v, v > 0.0);
}

// dx = dy * (1 if x > 0 else alpha * exp(x));  x = forward input, y = dy
@compute @workgroup_size(WG)
fn elu_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  let v = x[i];
  out[i] = y[i] * select(P.a * exp(v), 1.0, v > 0.0);
}

@compute @workgroup_size(WG)
fn leaky_relu_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  out[i] = leaky_relu(x[i], P.a);
}

// dx = dy * (1 if x > 0 else slope);  y = dy
@compute @workgroup_size(WG)
fn leaky_relu_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  out[i] = y[i] * leaky_relu_grad(x[i], P.a);
}

// Dropout: out = x * mask / (1 - p), the mask hashed from (seed, step, i) and never stored. Its backward is the
// same kernel applied to dy with the same seed and step.
@compute @workgroup_size(WG)
fn dropout(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  out[i] = x[i] * dropout_scale(P.seed, step[0], i, P.a);
}

// Mean over heads: out[r, c] = (1/H) * sum_h x[r, h, c]   (n = rows * C)
@compute @workgroup_size(WG)
fn head_mean_forward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  let r = i / P.cols;
  let c = i % P.cols;
  var s = 0.0;
  for (var h = 0u; h < P.heads; h++) { s += x[(r * P.heads + h) * P.cols + c]; }
  out[i] = s / f32(P.heads);
}

// dx[r, h, c] = dy[r, c] / H   (n = rows * H * C)
@compute @workgroup_size(WG)
fn head_mean_backward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  let r = i / (P.heads * P.cols);
  let c = i % P.cols;
  out[i] = x[r * P.cols + c] / f32(P.heads);
}

// out[i] = a (for clearing accumulators and poisoning test outputs)
@compute @workgroup_size(WG)
fn fill(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u, @builtin(local_invocation_id) lid: vec3u) {
  let i = thread_index(wid, nwg, lid);
  if (i >= P.n) { return; }
  out[i] = P.a;
}
