// Fused attention backward shaped for GPUs, source side (gatv2_attend_src_rows, gat_attend_src_rows): a workgroup
// per source j, its lanes over the columns (h, c) of j's gradient rows and j's outgoing edges (CSC order: edge
// k = perm[e] for e in col_ptr[j] .. col_ptr[j + 1], destination i = dst[k]), reading what the destination pass
// left per edge in the scratch. Neighbouring lanes read neighbouring columns of dagg[i]. Prelude:
// fused-attention-gpu-backward.wgsl.

// GATv2, with de, ad = alpha * drop(k, h) and the sign bits of z = xl[j] + xr[i] from the scratch:
//   dz = sum_k de * lrelu'(z_c)
//   dxl[j, h, c] (+)= sum_k ad * dagg[i, h, c] + att[h, c] * dz
//   partial[j, h, c] += xl[j, h, c] * dz     (the source half of datt; the destination pass wrote the other)
//   dedge[k, h, c] = de * att[h, c] * lrelu'(z_c)    (EDGE)
fn gatv2_attend_src(wid: vec3u, nwg: vec3u, li: u32) {
  let j = group_index(wid, nwg);
  if (j >= P.nodes) { return; }
  let begin = col_ptr[j];
  let end = col_ptr[j + 1u];
  let width = P.heads * P.channels;
  if (begin == end) {
    // No outgoing edges: dxl (+)= 0, the partials unchanged, without the sums' barriers.
    for (var col = li; col < width; col += WG) { store_grad(j, col, 0.0); }
    return;
  }
  for (var base = 0u; base < width; base += WG) {
    let l = lane_at(li, base, width);
    var dx = 0.0;
    var dz = 0.0;
    if (l.busy) {
      let h = l.col / P.channels;
      let c = l.col % P.channels;
      for (var e = begin + l.slice; e < end; e += l.slices) {
        let k = perm[e];
        let w = gatv2_edge_word(k * P.heads + h);
        dx += f32_at(w + 1u) * dagg[dst[k] * width + l.col];
        let q = f32_at(w) * grad_from_signs(w + 2u, c);
        dz += q;
        if (EDGE) { dedge[k * width + l.col] = att[l.col] * q; }
      }
    }
    let s = sum_slices(li, l, vec2f(dx, dz));
    if (l.busy && l.slice == 0u) {
      store_grad(j, l.col, s.x + att[l.col] * s.y);
      let o = j * width + l.col;
      scratch[o] = bitcast<u32>(f32_at(o) + left[left_at(j, l.col)] * s.y);
    }
  }
}

// GAT, with (g, ad) from the scratch:
//   dx[j, h, c] (+)= sum_k ad * dagg[i, h, c];   das[j, h] = sum_k g   (the lanes of channel 0)
//   dedge[k, h] = g                                                     (EDGE; the lanes of channel 0)
fn gat_attend_src(wid: vec3u, nwg: vec3u, li: u32) {
  let j = group_index(wid, nwg);
  if (j >= P.nodes) { return; }
  let begin = col_ptr[j];
  let end = col_ptr[j + 1u];
  let width = P.heads * P.channels;
  if (begin == end) {
    for (var col = li; col < width; col += WG) { store_grad(j, col, 0.0); }
    for (var h = li; h < P.heads; h += WG) { out2[j * P.heads + h] = 0.0; }
    return;
  }
  for (var base = 0u; base < width; base += WG) {
    let l = lane_at(li, base, width);
    var dx = 0.0;
    var das = 0.0;
    let h = l.col / P.channels;
    let first = l.col % P.channels == 0u;
    if (l.busy) {
      for (var e = begin + l.slice; e < end; e += l.slices) {
        let k = perm[e];
        let w = gat_edge_word(k * P.heads + h);
        dx += f32_at(w + 1u) * dagg[dst[k] * width + l.col];
        if (first) {
          let g = f32_at(w);
          das += g;
          if (EDGE) { dedge[k * P.heads + h] = g; }
        }
      }
    }
    let s = sum_slices(li, l, vec2f(dx, das));
    if (l.busy && l.slice == 0u) {
      store_grad(j, l.col, s.x);
      if (first) { out2[j * P.heads + h] = s.y; }
    }
  }
}

@compute @workgroup_size(WG)
fn gatv2_attend_src_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) li: u32) {
  gatv2_attend_src(wid, nwg, li);
}

@compute @workgroup_size(WG)
fn gat_attend_src_rows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) li: u32) {
  gat_attend_src(wid, nwg, li);
}
