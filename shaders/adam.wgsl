// One step of torch.optim.Adam (L2 weight decay added to the gradient, bias-corrected) or, with DECOUPLED,
// torch.optim.AdamW (the parameter first scaled by 1 - lr * wd, the gradient left alone) over flat parameter,
// gradient and moment buffers, in the order of torch's _single_tensor_adam.
// adam_step4 updates four elements per thread (vec4 loads: several times faster on SwiftShader);
// adam_tail updates the last n % 4 elements one per thread.

struct Params {
  n: u32,               // elements
  beta2: f32,
  eps: f32,
  weight_decay: f32,
  lerp_weight: f32,     // 1 - beta1
  one_minus_beta2: f32, // 1 - beta2
}

@group(0) @binding(0) var<storage, read_write> param: array<f32>;
@group(0) @binding(1) var<storage, read> grad: array<f32>;
@group(0) @binding(2) var<storage, read_write> exp_avg: array<f32>;    // m
@group(0) @binding(3) var<storage, read_write> exp_avg_sq: array<f32>; // v
@group(0) @binding(4) var<storage, read> scalars: array<f32>;          // [lr, 1 - beta1^t, 1 - beta2^t, decay]
@group(0) @binding(5) var<uniform> P: Params;
// The same four buffers seen as vec4s; an entry point uses one view or the other, never both.
@group(0) @binding(0) var<storage, read_write> param4: array<vec4f>;
@group(0) @binding(1) var<storage, read> grad4: array<vec4f>;
@group(0) @binding(2) var<storage, read_write> exp_avg4: array<vec4f>;
@group(0) @binding(3) var<storage, read_write> exp_avg_sq4: array<vec4f>;

// AdamW: p *= decay (= 1 - lr * wd, scalars[3]) before the update, and no weight decay in the gradient.
override DECOUPLED: bool = false;

// The parameter the update starts from, and the gradient the moments see.
struct Start { p: vec4f, g: vec4f }

fn start(p: vec4f, grad: vec4f) -> Start {
  if (DECOUPLED) { return Start(p * scalars[3], grad); }
  return Start(p, grad + select(vec4f(0.0), P.weight_decay * p, P.weight_decay != 0.0));
}

struct Moments { m: vec4f, v: vec4f }

// torch.lerp(m, g, w) as ATen evaluates it (w is uniform, so the branch is too); then v * beta2 + (1 - beta2) g g.
fn moments(g: vec4f, m: vec4f, v: vec4f) -> Moments {
  let w = P.lerp_weight;
  let diff = g - m;
  let m_new = select(g - diff * (1.0 - w), m + w * diff, w < 0.5);
  return Moments(m_new, v * P.beta2 + P.one_minus_beta2 * g * g);
}

// p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)
fn updated(p: vec4f, mo: Moments) -> vec4f {
  let step_size = scalars[0] / scalars[1];
  let denom = sqrt(mo.v) / sqrt(scalars[2]) + P.eps;
  return p + (-step_size) * (mo.m / denom);
}

// Adam: g = grad + wd * p (AdamW: p = p * (1 - lr * wd), g = grad);  m = lerp(m, g, 1 - beta1);
// v = v * beta2 + (1 - beta2) * g * g;
// p = p - (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps)   with bc1 = 1 - beta1^t, bc2 = 1 - beta2^t.
// Thread i: elements 4i .. 4i + 3, for i < n / 4.
@compute @workgroup_size(WG)
fn adam_step4(inv: Invocation) {
  let i = thread_of(inv);
  if (i >= P.n / 4u) { return; }
  let s = start(param4[i], grad4[i]);
  let mo = moments(s.g, exp_avg4[i], exp_avg_sq4[i]);
  exp_avg4[i] = mo.m;
  exp_avg_sq4[i] = mo.v;
  param4[i] = updated(s.p, mo);
}

// The same update for elements 4 * (n / 4) + i, i < n % 4 (lanes .yzw of the vec4 helpers unused).
@compute @workgroup_size(WG)
fn adam_tail(@builtin(local_invocation_id) lid: vec3u) {
  let i = (P.n / 4u) * 4u + lid.x;
  if (i >= P.n) { return; }
  let s = start(vec4f(param[i]), vec4f(grad[i]));
  let mo = moments(s.g, vec4f(exp_avg[i]), vec4f(exp_avg_sq[i]));
  exp_avg[i] = mo.m.x;
  exp_avg_sq[i] = mo.v.x;
  param[i] = updated(s.p, mo).x;
}
