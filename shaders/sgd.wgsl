// One step of torch.optim.SGD (weight decay, momentum with dampening, Nesterov) over flat parameter, gradient and
// momentum buffers, in the order of torch's _single_tensor_sgd. As in adam.wgsl, the *_step4 entry points update
// four elements per thread and the *_tail ones the last n % 4 elements, one per thread.

struct Params {
  n: u32,                   // elements
  momentum: f32,
  one_minus_dampening: f32, // 1 - dampening
  weight_decay: f32,
  nesterov: u32,            // 1: Nesterov momentum
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> momentum_buffer: array<f32>;
@group(0) @binding(3) var<storage, read> scalars: array<f32>;  // [lr, 1 on the first step else 0, 0, 0]
@group(0) @binding(4) var<uniform> P: Params;
// The same three buffers seen as vec4s; an entry point uses one view or the other, never both.
@group(0) @binding(0) var<storage, read_write> param4: array<vec4f>;
@group(0) @binding(1) var<storage, read> grad4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> momentum_buffer4: array<vec4f>;

// d = grad + wd * p
fn decayed(g: vec4f, p: vec4f) -> vec4f {
  return select(g, g + P.weight_decay * p, P.weight_decay != 0.0);
}

// buf = d on the first step, else buf * momentum + (1 - dampening) * d
fn next_buffer(buf: vec4f, d: vec4f) -> vec4f {
  return select(buf * P.momentum + P.one_minus_dampening * d, d, scalars[1] != 0.0);
}

// The direction of the step: d + momentum * buf with Nesterov, else buf.
fn direction(d: vec4f, buf: vec4f) -> vec4f {
  return select(buf, d + P.momentum * buf, P.nesterov != 0u);
}

// p + (-lr) * d
fn stepped(p: vec4f, d: vec4f) -> vec4f {
  return p + (-scalars[0]) * d;
}

// Without momentum: p = p - lr * (grad + wd * p). Thread i: elements 4i .. 4i + 3, for i < n / 4.
@compute @workgroup_size(WG)
fn sgd_step4(inv: Invocation) {
  let i = thread_of(inv);
  if (i >= P.n / 4u) { return; }
  let p = param4[i];
  param4[i] = stepped(p, decayed(grad4[i], p));
}

@compute @workgroup_size(WG)
fn sgd_tail(@builtin(local_invocation_id) lid: vec3u) {
  let i = (P.n / 4u) * 4u + lid.x;
  if (i >= P.n) { return; }
  let p = vec4f(param[i]);
  param[i] = stepped(p, decayed(vec4f(grad[i]), p)).x;
}

// With momentum: d = grad + wd * p;  buf = d (first step) or buf * momentum + (1 - dampening) * d;
// p = p - lr * (d + momentum * buf if Nesterov else buf).
@compute @workgroup_size(WG)
fn sgd_momentum_step4(inv: Invocation) {
  let i = thread_of(inv);
  if (i >= P.n / 4u) { return; }
  let p = param4[i];
  let d = decayed(grad4[i], p);
  let buf = next_buffer(momentum_buffer4[i], d);
  momentum_buffer4[i] = buf;
  param4[i] = stepped(p, direction(d, buf));
}

@compute @workgroup_size(WG)
fn sgd_momentum_tail(@builtin(local_invocation_id) lid: vec3u) {
  let i = (P.n / 4u) * 4u + lid.x;
  if (i >= P.n) { return; }
  let p = vec4f(param[i]);
  let d = decayed(vec4f(grad[i]), p);
  let buf = next_buffer(vec4f(momentum_buffer[i]), d);
  momentum_buffer[i] = buf.x;
  param[i] = stepped(p, direction(d, buf)).x;
}
