// Fused attention backward shaped for GPUs, destination side (gatv2_attend_dst_rows, gat_attend_dst_rows): a
// workgroup per destination i over its incoming edges (CSR segment begin .. end). Prelude:
// fused-attention-gpu-backward.wgsl; workgroup_sum(li, v, sg_size) and the entry points come from
// fused-attention-gpu-backward-subgroups.wgsl (devices with subgroups) or -workgroup.wgsl (the TypeScript side picks).

// GATv2, head h, the lanes over i's edges k (source j = src_k), z = xl[j, h] + xr[i, h] (+ edge[k, h]):
//   dalpha_k = drop(k, h) * sum_c dagg[i, h, c] * xl[j, h, c]      (gradient of alpha before dropout)
//   t = sum_k alpha_k * dalpha_k                                   (workgroup sum)
//   de_k = alpha_k * (dalpha_k - t)                                (softmax backward)
// into the scratch with alpha_k * drop(k, h) and the sign bits of z (see the layout in the prelude).
fn gatv2_dst_head(i: u32, h: u32, li: u32, begin: u32, end: u32, dmask: DropoutSite, sg_size: u32) {
  let col = h * P.channels;
  let row = i * P.heads * P.channels + col;
  var t = 0.0;
  for (var k = begin + li; k < end; k += WG) {
    let j = src[k];
    let kh = k * P.heads + h;
    let w = gatv2_edge_word(kh);
    var d = 0.0;
    var bits = 0u;
    for (var c = 0u; c < P.channels; c++) {
      let l = left[left_at(j, col + c)];
      d += dagg[row + c] * l;
      var z = l + right[right_at(i, col + c)];
      if (EDGE) { z += edge[k * P.heads * P.channels + col + c]; }
      bits |= select(0u, 1u << (c % 32u), z > 0.0);
      if (c % 32u == 31u || c + 1u == P.channels) {
        scratch[w + 2u + c / 32u] = bits;
        bits = 0u;
      }
    }
    let dr = dropout_keep(dmask, kh);
    let a = alpha[kh];
    d *= dr;
    t += a * d;
    scratch[w] = bitcast<u32>(d);
    scratch[w + 1u] = bitcast<u32>(a * dr);
  }
  t = workgroup_sum(li, t, sg_size);
  for (var k = begin + li; k < end; k += WG) {
    let kh = k * P.heads + h;
    let w = gatv2_edge_word(kh);
    scratch[w] = bitcast<u32>(alpha[kh] * (f32_at(w) - t));
  }
}

// GATv2, the lanes over the columns (h, c) of row i, with dz = sum_k de_k * lrelu'(z_k, c):
//   dxr[i, h, c] = att[h, c] * dz                (0 without incoming edges)
//   partial[i, h, c] = xr[i, h, c] * dz (+ sum_k de_k * lrelu'(z_k, c) * edge[k, h, c])
//                                                (the destination half of datt)
fn gatv2_dst_columns(i: u32, li: u32, begin: u32, end: u32) {
  let width = P.heads * P.channels;
  for (var base = 0u; base < width; base += WG) {
    let l = lane_at(li, base, width);
    var dz = 0.0;
    var dz_edge = 0.0;
    if (l.busy) {
      let h = l.col / P.channels;
      let c = l.col % P.channels;
      for (var k = begin + l.slice; k < end; k += l.slices) {
        let w = gatv2_edge_word(k * P.heads + h);
        let q = f32_at(w) * grad_from_signs(w + 2u, c);
        dz += q;
        if (EDGE) { dz_edge += q * edge[k * width + l.col]; }
      }
    }
    let s = sum_slices(li, l, vec2f(dz, dz_edge));
    if (l.busy && l.slice == 0u) {
      out[grad_at(i, l.col)] = att[l.col] * s.x;
      var partial = right[right_at(i, l.col)] * s.x;
      if (EDGE) { partial += s.y; }
      scratch[i * width + l.col] = bitcast<u32>(partial);
    }
  }
}

fn gatv2_attend_dst(wid: vec3u, nwg: vec3u, li: u32, sg_size: u32) {
  let i = group_index(wid, nwg);
  if (i >= P.nodes) { return; }
  let begin = row_ptr[i];
  let end = row_ptr[i + 1u];
  let width = P.heads * P.channels;
  if (begin == end) {
    // No incoming edges: dxr and the partials 0, without the sums' barriers.
    for (var col = li; col < width; col += WG) {
      out[grad_at(i, col)] = 0.0;
      scratch[i * width + col] = 0u;
    }
    return;
  }
  let dmask = dropout_from(gatv2_step_word());
  for (var h = 0u; h < P.heads; h++) { gatv2_dst_head(i, h, li, begin, end, dmask, sg_size); }
  // Every lane's de and sign bits are in the scratch before any lane reads another's.
  storageBarrier();
  gatv2_dst_columns(i, li, begin, end);
}

// GAT, head h, the lanes over i's edges k (source j = src_k), s_k = a_src[j, h] + a_dst[i, h] (+ edge[k, h]):
//   dalpha_k = drop(k, h) * sum_c dagg[i, h, c] * x[j, h, c];  t = sum_k alpha_k * dalpha_k     (workgroup sum)
//   g_k = alpha_k * (dalpha_k - t) * lrelu'(s_k);  dad[i, h] = sum_k g_k                         (workgroup sum)
// (g_k, alpha_k * drop(k, h)) into the scratch; (dalpha_k, lrelu'(s_k)) park there in between.
fn gat_dst_head(i: u32, h: u32, li: u32, begin: u32, end: u32, dmask: DropoutSite, sg_size: u32) {
  let col = h * P.channels;
  let row = i * P.heads * P.channels + col;
  let ad_i = score_dst[i * P.heads + h];
  var t = 0.0;
  for (var k = begin + li; k < end; k += WG) {
    let j = src[k];
    let kh = k * P.heads + h;
    var d = 0.0;
    for (var c = 0u; c < P.channels; c++) { d += dagg[row + c] * left[left_at(j, col + c)]; }
    d *= dropout_keep(dmask, kh);
    t += alpha[kh] * d;
    var score = score_src[j * P.heads + h] + ad_i;
    if (EDGE) { score += edge[kh]; }
    let w = gat_edge_word(kh);
    scratch[w] = bitcast<u32>(d);
    scratch[w + 1u] = bitcast<u32>(leaky_relu_grad(score, P.slope));
  }
  t = workgroup_sum(li, t, sg_size);
  var dad = 0.0;
  for (var k = begin + li; k < end; k += WG) {
    let kh = k * P.heads + h;
    let w = gat_edge_word(kh);
    let a = alpha[kh];
    let g = a * (f32_at(w) - t) * f32_at(w + 1u);
    scratch[w] = bitcast<u32>(g);
    scratch[w + 1u] = bitcast<u32>(a * dropout_keep(dmask, kh));
    dad += g;
  }
  dad = workgroup_sum(li, dad, sg_size);
  if (li == 0u) { out[i * P.heads + h] = dad; }
}

fn gat_attend_dst(wid: vec3u, nwg: vec3u, li: u32, sg_size: u32) {
  let i = group_index(wid, nwg);
  if (i >= P.nodes) { return; }
  let begin = row_ptr[i];
  let end = row_ptr[i + 1u];
  if (begin == end) {
    for (var h = li; h < P.heads; h += WG) { out[i * P.heads + h] = 0.0; }
    return;
  }
  let dmask = dropout_from(0u);
  for (var h = 0u; h < P.heads; h++) { gat_dst_head(i, h, li, begin, end, dmask, sg_size); }
}
