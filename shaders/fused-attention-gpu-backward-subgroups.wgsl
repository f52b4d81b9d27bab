// Entry points of fused-attention-gpu-backward-dst.wgsl on devices with subgroups: they take the subgroup builtins
// (fused-attention-gpu-reduce-subgroups.wgsl has the sums and the `enable subgroups` directive).

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
