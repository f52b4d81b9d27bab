// Elementwise kernels. Each thread takes 4 consecutive elements (the CPU driver pays per thread far more than per
// element, and on GPUs the 4 loads coalesce); each forward's backward sits beside it.
//
// Thread t owns elements 4t .. 4t + 3. In the last thread the indices past n - 1 are clamped to n - 1: that
// element is then computed and stored more than once by the same thread, with the same value, so no lane needs
// a bounds test.

struct Params {
  n: u32,        // elements
  cols: u32,     // row length (bias_add: bias length; head_mean: C)
  a: f32,        // ELU alpha, LeakyReLU slope (ReLU: 0), dropout p, fill value
  seed: u32,     // dropout site seed
  heads: u32,    // head_mean: H
  p: f32,        // elu_dropout, leaky_relu_dropout: dropout p (a is the ELU alpha or the slope)
}

@group(0) @binding(0) var<storage, read> x_in: array<f32>;
@group(0) @binding(1) var<storage, read> y_in: array<f32>;     // second input (bias, dy, b)
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
@group(0) @binding(3) var<uniform> P: Params;
@group(0) @binding(4) var<storage, read> step: array<u32>; // step counter for dropout masks

// The 4 element indices of thread t (clamped to n - 1), or none when the thread starts past the end.
fn quad_of(inv: Invocation) -> vec4u {
  let first = 4u * thread_of(inv);
  return min(vec4u(first) + LANES, vec4u(P.n - 1u));
}

fn starts_past_end(inv: Invocation) -> bool {
  return 4u * thread_of(inv) >= P.n;
}

fn x4(i: vec4u) -> vec4f { return vec4f(x_in[i.x], x_in[i.y], x_in[i.z], x_in[i.w]); }
fn y4(i: vec4u) -> vec4f { return vec4f(y_in[i.x], y_in[i.y], y_in[i.z], y_in[i.w]); }

fn out4(i: vec4u) -> vec4f { return vec4f(out[i.x], out[i.y], out[i.z], out[i.w]); }

// In place (IN_PLACE): the streamed input is read from `out` and overwritten there: dy of a backward (y is then
// not read), x of the ReLU / LeakyReLU forwards (x is then not read).
override IN_PLACE: bool = false;

fn dy4(i: vec4u) -> vec4f {
  if (IN_PLACE) { return out4(i); }
  return y4(i);
}

fn in4(i: vec4u) -> vec4f {
  if (IN_PLACE) { return out4(i); }
  return x4(i);
}

fn store4(i: vec4u, v: vec4f) {
  out[i.x] = v.x;
  out[i.y] = v.y;
  out[i.z] = v.z;
  out[i.w] = v.w;
}

fn elu4(v: vec4f, alpha: f32) -> vec4f { return select(alpha * (exp(v) - 1.0), v, v > vec4f(0.0)); }
fn elu_grad4(v: vec4f, alpha: f32) -> vec4f { return select(alpha * exp(v), vec4f(1.0), v > vec4f(0.0)); }

// LeakyReLU with slope a; with a = 0 it is ReLU, and the negative side is exactly 0 (0 * -inf would be NaN).
fn relu_or_leaky4(v: vec4f, a: f32) -> vec4f {
  let negative = select(v * a, vec4f(0.0), a == 0.0);
  return select(negative, v, v > vec4f(0.0));
}

// dropout_scale of common.wgsl for the 4 elements, the site hash computed once.
fn dropout4(i: vec4u, p: f32) -> vec4f {
  let d = dropout_with_site(dropout_site(P.seed, step[0]), p);
  return vec4f(dropout_keep(d, i.x), dropout_keep(d, i.y), dropout_keep(d, i.z), dropout_keep(d, i.w));
}

// out[r, c] = x_in[r, c] + bias[c]
@compute @workgroup_size(WG)
fn bias_add(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, x4(i) + y4(i % P.cols));
}

// out = a + b
@compute @workgroup_size(WG)
fn add(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, x4(i) + y4(i));
}

// ELU: out = x if x > 0 else alpha * (exp(x) - 1)
@compute @workgroup_size(WG)
fn elu_forward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, elu4(x4(i), P.a));
}

// dx = dy * (1 if x > 0 else alpha * exp(x));  x = forward input, y = dy (or out, IN_PLACE)
@compute @workgroup_size(WG)
fn elu_backward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, dy4(i) * elu_grad4(x4(i), P.a));
}

// ELU then dropout in one pass: out = ELU(x) * mask(i) / (1 - p), mask as in `dropout`.
@compute @workgroup_size(WG)
fn elu_dropout_forward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, elu4(x4(i), P.a) * dropout4(i, P.p));
}

// dx = dy * mask(i) / (1 - p) * ELU'(x);  x = forward input, y = dy (or out, IN_PLACE)
@compute @workgroup_size(WG)
fn elu_dropout_backward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, dy4(i) * dropout4(i, P.p) * elu_grad4(x4(i), P.a));
}

// LeakyReLU (ReLU: slope 0): out = x if x > 0 else slope * x; x read from out when IN_PLACE.
@compute @workgroup_size(WG)
fn leaky_relu_forward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, relu_or_leaky4(in4(i), P.a));
}

// dx = dy * (1 if x > 0 else slope);  x = the forward input, or its output when slope >= 0 (the same sign);
// y = dy (or out, IN_PLACE)
@compute @workgroup_size(WG)
fn leaky_relu_backward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, dy4(i) * leaky_relu_grad4(x4(i), P.a));
}

// LeakyReLU (ReLU: slope 0) then dropout in one pass: out = LeakyReLU(x) * mask(i) / (1 - p); x read from out
// when IN_PLACE.
@compute @workgroup_size(WG)
fn leaky_relu_dropout_forward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, relu_or_leaky4(in4(i), P.a) * dropout4(i, P.p));
}

// dx = dy * mask(i) / (1 - p) * LeakyReLU'(x);  x = the forward input, or its output when slope >= 0 (where the
// mask keeps an element, the output has the input's sign; where it drops it, dx is 0 either way).
@compute @workgroup_size(WG)
fn leaky_relu_dropout_backward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, dy4(i) * dropout4(i, P.p) * leaky_relu_grad4(x4(i), P.a));
}

// Dropout: out = x * mask / (1 - p), the mask hashed from (seed, step, i) and never stored. Its backward is the
// same kernel applied to dy with the same seed and step.
@compute @workgroup_size(WG)
fn dropout(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, x4(i) * dropout4(i, P.a));
}

// Mean over heads: out[r, c] = (1/H) * sum_h x_in[r, h, c]   (n = rows * C)
@compute @workgroup_size(WG)
fn head_mean_forward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  let first = (i / P.cols) * P.heads * P.cols + i % P.cols;  // x index of (r, head 0, c)
  var s = vec4f(0.0);
  for (var h = 0u; h < P.heads; h++) { s += x4(first + h * P.cols); }
  store4(i, s / f32(P.heads));
}

// dx[r, h, c] = dy[r, c] / H   (n = rows * H * C)
@compute @workgroup_size(WG)
fn head_mean_backward(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  let i = quad_of(inv);
  store4(i, x4((i / (P.heads * P.cols)) * P.cols + i % P.cols) / f32(P.heads));
}

// out[i] = a (for clearing accumulators and poisoning test outputs)
@compute @workgroup_size(WG)
fn fill(inv: Invocation) {
  if (starts_past_end(inv)) { return; }
  store4(quad_of(inv), vec4f(P.a));
}
