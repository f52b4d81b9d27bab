// Workgroup sums for fused-attention-gpu-backward-dst.wgsl on devices with subgroups, as
// fused-attention-gpu-subgroups.wgsl's for the forward: an xor butterfly within each subgroup (partners add the
// same two values at every level and float addition commutes, so every lane of the subgroup ends with the same
// bits), then lane 0 adds the subgroups' sums in index order. And the destination pass's entry points, which take
// the subgroup builtins.
enable subgroups;

var<workgroup> tree: array<f32, WG>;
var<private> sg_lane: u32;

// The workgroup's sum of every lane's v in a fixed order, in every lane.
fn workgroup_sum(li: u32, v: f32, sg_size: u32) -> f32 {
  var x = v;
  for (var o = 1u; o < sg_size; o *= 2u) { x += subgroupShuffleXor(x, o); }
  tree[li] = select(0.0, x, sg_lane == 0u);
  workgroupBarrier();
  if (li == 0u) {
    var r = tree[0];
    for (var s = 1u; s < WG; s++) { r += tree[s]; }
    tree[0] = r;
  }
  workgroupBarrier();
  let r = tree[0];
  workgroupBarrier();
  return r;
}

@compute @workgroup_size(WG)
fn gatv2_attend_dst_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sgl: u32,
                         @builtin(subgroup_size) sgs: u32) {
  sg_lane = sgl;
  gatv2_attend_dst(wid, nwg, li, sgs);
}

@compute @workgroup_size(WG)
fn gat_attend_dst_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sgl: u32,
                       @builtin(subgroup_size) sgs: u32) {
  sg_lane = sgl;
  gat_attend_dst(wid, nwg, li, sgs);
}
