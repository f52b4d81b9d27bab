// Entry points of fused-attention-gpu-forward.wgsl on devices with subgroups: they take the subgroup builtins
// (fused-attention-gpu-reduce-subgroups.wgsl has the reductions and the `enable subgroups` directive).

@compute @workgroup_size(WG)
fn gatv2_attend_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sgl: u32,
                     @builtin(subgroup_size) sgs: u32) {
  sg_lane = sgl;
  attend(wid, nwg, li, true, sgs);
}

@compute @workgroup_size(WG)
fn gat_attend_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) li: u32, @builtin(subgroup_invocation_id) sgl: u32,
                   @builtin(subgroup_size) sgs: u32) {
  sg_lane = sgl;
  attend(wid, nwg, li, false, sgs);
}
