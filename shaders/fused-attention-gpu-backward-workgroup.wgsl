// Entry points of fused-attention-gpu-backward-dst.wgsl on devices without subgroups
// (fused-attention-gpu-reduce-workgroup.wgsl has the sums).

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
