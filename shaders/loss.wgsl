// Row-wise log-softmax, the masked negative log-likelihood with its gradient, argmax, and the masked mean binary
// cross-entropy with logits and squared error with their gradients. One thread per row (C is small: at most a few
// hundred columns); the loss is summed over rows by one workgroup in a fixed order.

struct Params {
  n: u32,          // rows N
  c: u32,          // classes C
  count: u32,      // the mean's denominator: masked rows (NLL) or masked rows * C (BCE, MSE); 0 gives loss 0
                   // and zero gradients
  inv_count: f32,  // 1 / count (0 when count is 0)
}

@group(0) @binding(0) var<storage, read> logits: array<f32>;         // logits [N, C]
@group(0) @binding(1) var<storage, read> labels: array<i32>;    // [N]
@group(0) @binding(2) var<storage, read> mask: array<u32>;      // [N], nonzero = row counts
@group(0) @binding(3) var<storage, read_write> out: array<f32>; // dlogits or log-probabilities [N, C]
@group(0) @binding(4) var<storage, read_write> row_stats: array<vec2f>; // per row: (loss, correct), 0 off the mask
@group(0) @binding(5) var<uniform> P: Params;
@group(0) @binding(6) var<storage, read_write> loss: array<f32>;    // [1]
@group(0) @binding(7) var<storage, read_write> correct: array<f32>; // [1]
@group(0) @binding(8) var<storage, read_write> pred: array<u32>;    // [N]
@group(0) @binding(9) var<storage, read> targets: array<f32>;       // [N, C]: BCE, MSE

// nll_rows, bce_rows and mse_rows with the gradient written over their input: it is read from `out` (x is then
// not read). Only the *_rows entry points read through logit(), so the others need not bind `out`.
override IN_PLACE: bool = false;

fn logit(i: u32) -> f32 {
  if (IN_PLACE) { return out[i]; }
  return logits[i];
}

// Largest value of row r and its first position.
struct RowMax { value: f32, at: u32 }

fn row_max(base: u32) -> RowMax {
  var m = RowMax(logits[base], 0u);
  for (var c = 1u; c < P.c; c++) {
    let v = logits[base + c];
    if (v > m.value) { m = RowMax(v, c); }
  }
  return m;
}

// sum_c exp(logits[r, c] - mx)
fn row_exp_sum(base: u32, mx: f32) -> f32 {
  var s = 0.0;
  for (var c = 0u; c < P.c; c++) { s += exp(logits[base + c] - mx); }
  return s;
}

// Row r (at base = r * C) if it is off the mask: writes its zero gradient and zero row_stats (it adds nothing to
// the loss) and returns true; a masked row is left to the caller.
fn skip_row(base: u32, r: u32) -> bool {
  if (mask[r] != 0u) { return false; }
  for (var c = 0u; c < P.c; c++) { out[base + c] = 0.0; }
  row_stats[r] = vec2f(0.0, 0.0);
  return true;
}

// Forward and backward of the masked mean NLL of log_softmax, per row:
//   logp[r, c] = logits[r, c] - max_c logits[r, :] - log(sum_c exp(logits[r, c] - max));
//   masked rows: row_stats[r] = (-logp[r, y_r], argmax_c logits[r, :] == y_r);
//                dlogits[r, c] = (softmax(logits[r, :])[c] - [c == y_r]) / count
//   other rows:  row_stats[r] = (0, 0); dlogits[r, :] = 0.
// y_r is clamped into [0, C) for reading (an out-of-range label never counts as correct).
@compute @workgroup_size(WG)
fn nll_rows(inv: Invocation) {
  let r = thread_of(inv);
  if (r >= P.n) { return; }
  let base = r * P.c;
  if (skip_row(base, r)) { return; }
  // row_max and row_exp_sum of the row, read through logit().
  var m = RowMax(logit(base), 0u);
  for (var c = 1u; c < P.c; c++) {
    let v = logit(base + c);
    if (v > m.value) { m = RowMax(v, c); }
  }
  var sum = 0.0;
  for (var c = 0u; c < P.c; c++) { sum += exp(logit(base + c) - m.value); }
  let label = labels[r];
  let y = u32(clamp(label, 0, i32(P.c) - 1));
  let scale = P.inv_count;
  let inv_sum = 1.0 / sum;
  let logp_y = (logit(base + y) - m.value) - log(sum);  // before the row is overwritten (IN_PLACE)
  for (var c = 0u; c < P.c; c++) {
    let p = exp(logit(base + c) - m.value) * inv_sum;
    out[base + c] = (p - select(0.0, 1.0, c == y)) * scale;
  }
  row_stats[r] = vec2f(-logp_y, select(0.0, 1.0, label == i32(m.at)));
}

// log(1 + z) for z in [0, 1], accurate for small z (where 1 + z rounds): log(u) * z / (u - 1) with u = 1 + z.
fn log1p(z: f32) -> f32 {
  let u = 1.0 + z;
  if (u == 1.0) { return z; }
  return log(u) * (z / (u - 1.0));
}

// Binary cross-entropy with logits, per element of masked rows, in PyTorch's stable form:
//   loss = (1 - y) x - log_sigmoid(x) = (1 - y) x - min(x, 0) + log1p(exp(-|x|));
//   dx = (sigmoid(x) - y) / count, with count = masked rows * C (sigmoid(x) = 1 - sigmoid(-x) taken exactly);
//   row_stats[r] = (sum_c loss, 0).
// Rows off the mask get dx = 0 and add nothing.
@compute @workgroup_size(WG)
fn bce_rows(inv: Invocation) {
  let r = thread_of(inv);
  if (r >= P.n) { return; }
  let base = r * P.c;
  if (skip_row(base, r)) { return; }
  var sum = 0.0;
  for (var c = 0u; c < P.c; c++) {
    let v = logit(base + c);
    let y = targets[base + c];
    let e = exp(-abs(v));
    sum += (1.0 - y) * v - min(v, 0.0) + log1p(e);
    // sigmoid(x) - y, as (1 - y) - sigmoid(-x) for x >= 0 (exact where sigmoid(x) rounds to 1)
    let small = e / (1.0 + e);  // sigmoid(-|x|)
    out[base + c] = select(small - y, (1.0 - y) - small, v >= 0.0) * P.inv_count;
  }
  row_stats[r] = vec2f(sum, 0.0);
}

// Squared error per element of masked rows: loss = (x - y)^2, dx = 2 (x - y) / count (count = masked rows * C);
// row_stats[r] = (sum_c loss, 0). Rows off the mask get dx = 0 and add nothing.
@compute @workgroup_size(WG)
fn mse_rows(inv: Invocation) {
  let r = thread_of(inv);
  if (r >= P.n) { return; }
  let base = r * P.c;
  if (skip_row(base, r)) { return; }
  var sum = 0.0;
  for (var c = 0u; c < P.c; c++) {
    let d = logit(base + c) - targets[base + c];
    sum += d * d;
    out[base + c] = 2.0 * d * P.inv_count;
  }
  row_stats[r] = vec2f(sum, 0.0);
}

var<workgroup> partial: array<vec2f, WG>;

// loss[0] = (sum_r row_stats[r].x) / count;  correct[0] = sum_r row_stats[r].y. (The total of every loss here.)
// One workgroup (WG a power of two): thread t sums rows t, t + WG, ... in order, then a fixed tree.
@compute @workgroup_size(WG)
fn nll_total(@builtin(local_invocation_id) lid: vec3u) {
  let t = lid.x;
  var s = vec2f(0.0, 0.0);
  for (var r = t; r < P.n; r += WG) { s += row_stats[r]; }
  partial[t] = s;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (t < half) { partial[t] += partial[t + half]; }
    workgroupBarrier();
  }
  if (t == 0u) {
    let total = partial[0];
    loss[0] = select(0.0, total.x / f32(P.count), P.count > 0u);
    correct[0] = total.y;
  }
}

// out[r, c] = logits[r, c] - max_c logits[r, :] - log(sum_c exp(logits[r, c] - max))
@compute @workgroup_size(WG)
fn log_softmax(inv: Invocation) {
  let r = thread_of(inv);
  if (r >= P.n) { return; }
  let base = r * P.c;
  let mx = row_max(base).value;
  let log_sum = log(row_exp_sum(base, mx));
  for (var c = 0u; c < P.c; c++) { out[base + c] = (logits[base + c] - mx) - log_sum; }
}

// pred[r] = argmax_c logits[r, c] (the first maximum on ties)
@compute @workgroup_size(WG)
fn argmax(inv: Invocation) {
  let r = thread_of(inv);
  if (r >= P.n) { return; }
  pred[r] = row_max(r * P.c).at;
}
