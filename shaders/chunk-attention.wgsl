// Prelude: 4-channel chunk loads and stores of the attention kernels (edge-scores.wgsl, fused-attention-*.wgsl).
// A kernel that declares it binds `left`, `right`, `att` (read) and `out2` (read_write), all array<f32>, and
// defines left_at / right_at for its views. Chunk, chunk_of and lanes are in common.wgsl.

fn left4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return vec4f(left[i.x], left[i.y], left[i.z], left[i.w]);
}

fn right4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return vec4f(right[i.x], right[i.y], right[i.z], right[i.w]);
}

// att[col ..], zero past `width`: sums weighted by it need no other mask.
fn att4(base: u32, width: u32) -> vec4f {
  let i = lanes(base, width);
  return select(vec4f(0.0), vec4f(att[i.x], att[i.y], att[i.z], att[i.w]), LANES < vec4u(width));
}

fn store4_out2(o: u32, width: u32, v: vec4f) {
  out2[o] = v.x;
  if (width > 1u) { out2[o + 1u] = v.y; }
  if (width > 2u) { out2[o + 2u] = v.z; }
  if (width > 3u) { out2[o + 3u] = v.w; }
}
