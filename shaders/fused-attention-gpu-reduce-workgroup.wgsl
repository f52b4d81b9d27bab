// Workgroup reductions for the fused attention's GPU shape (forward and backward destination pass) on devices
// without subgroups: a fixed tree in workgroup memory.

var<workgroup> tree: array<f32, WG>;

// The workgroup's max (is_max) or sum of every lane's v, by a fixed tree; every lane gets the result.
fn tree_fold(li: u32, v: f32, is_max: bool) -> f32 {
  tree[li] = v;
  workgroupBarrier();
  for (var half = WG / 2u; half > 0u; half /= 2u) {
    if (li < half) {
      if (is_max) { tree[li] = max(tree[li], tree[li + half]); } else { tree[li] = tree[li] + tree[li + half]; }
    }
    workgroupBarrier();
  }
  let r = tree[0];
  workgroupBarrier();
  return r;
}

fn workgroup_max(li: u32, v: f32) -> f32 { return tree_fold(li, v, true); }

// sg_size unused.
fn workgroup_sum(li: u32, v: f32, sg_size: u32) -> f32 { return tree_fold(li, v, false); }
