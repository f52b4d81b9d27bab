// Entry points of fused-attention-gpu-forward.wgsl on devices without subgroups
// (fused-attention-gpu-reduce-workgroup.wgsl has the reductions).

@compute @workgroup_size(WG)
fn gatv2_attend_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) li: u32) {
  attend(wid, nwg, li, true, 0u);
}

@compute @workgroup_size(WG)
fn gat_attend_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) li: u32) {
  attend(wid, nwg, li, false, 0u);
}
