// Workgroup sums for fused-attention-gpu-backward-dst.wgsl on devices without subgroups, as
// fused-attention-gpu-workgroup.wgsl's for the forward: a fixed tree in workgroup memory. And the destination
// pass's entry points.

var<workgroup> tree: array<f32, WG>;

// The workgroup's sum of every lane's v by a fixed tree, in every lane (sg_size unused).
fn workgroup_sum(li: u32, v: f32, sg_size: u32) -> f32 {
  tree[li] = v;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (li < half) { tree[li] = tree[li] + tree[li + half]; }
    workgroupBarrier();
  }
  let r = tree[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn gatv2_attend_dst_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) li: u32) {
  gatv2_attend_dst(wid, nwg, li, 0u);
}

@compute @workgroup_size(WG)
fn gat_attend_dst_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  gat_attend_dst(wid, nwg, li, 0u);
}
