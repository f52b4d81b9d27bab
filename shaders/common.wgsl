// Shared prelude, prepended to every kernel file by src/gpu/kernel.ts.

// Threads per workgroup; every entry point uses @workgroup_size(WG).
override WG: u32 = 64;

// Index of this workgroup in a grid that the dispatcher folds into 2-D when it exceeds the
// per-dimension limit (65,535): g = wid.x + wid.y * nwg.x. Kernels bound-check with their sizes.
fn group_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// lowbias32 integer hash (Wellons): a bijection on u32 with good avalanche.
fn hash32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

// Counter-based dropout. For element i of a dropout site (`seed` identifies the site, `step` the training step):
//   u = hash32(i ^ site) / 2^32 with site = hash32(seed ^ hash32(step)), keeping the top 24 bits so u is exact in f32;
//   the element is kept when u >= p and then scaled by 1 / (1 - p).
// The site hash depends on the step only, so kernels compute it once per thread (dropout_site) and call
// dropout_scale_at per element; dropout_scale does both.
fn dropout_site(seed: u32, step: u32) -> u32 {
  return hash32(seed ^ hash32(step));
}

// 0 with probability p, else 1 / (1 - p). p = 0 keeps everything.
fn dropout_scale_at(site: u32, i: u32, p: f32) -> f32 {
  if (p <= 0.0) { return 1.0; }
  let u = f32(hash32(i ^ site) >> 8u) * (1.0 / 16777216.0);
  return select(0.0, 1.0 / (1.0 - p), u >= p);
}

fn dropout_scale(seed: u32, step: u32, i: u32, p: f32) -> f32 {
  return dropout_scale_at(dropout_site(seed, step), i, p);
}

fn leaky_relu(x: f32, slope: f32) -> f32 {
  return select(x * slope, x, x > 0.0);
}

// d leaky_relu(x) / dx, as PyTorch takes it (slope at x <= 0).
fn leaky_relu_grad(x: f32, slope: f32) -> f32 {
  return select(slope, 1.0, x > 0.0);
}
