// Workgroup reductions for the fused attention's GPU shape (forward and backward destination pass) on devices with
// subgroups: within a subgroup, subgroupMax (exact in any order) and an xor butterfly for the sum (partners add the
// same two values at every level, and float addition commutes, so every lane of the subgroup ends with the same
// bits); across subgroups, the first lane of each puts its result in workgroup memory and lane 0 combines the WG
// slots in index order. Two barriers instead of a tree's seven. The entry points set sg_lane.
enable subgroups;

var<workgroup> tree: array<f32, WG>;
var<private> sg_lane: u32;

// Lane 0's fold of the slots in index order, shared with every lane. `is_max` picks max or sum; empty slots hold
// the identity.
fn across_subgroups(li: u32, v: f32, identity: f32, is_max: bool) -> f32 {
  tree[li] = select(identity, v, sg_lane == 0u);
  workgroupBarrier();
  if (li == 0u) {
    var r = tree[0];
    for (var s = 1u; s < WG; s++) { r = select(r + tree[s], max(r, tree[s]), is_max); }
    tree[0] = r;
  }
  workgroupBarrier();
  let r = tree[0];
  workgroupBarrier();
  return r;
}

fn workgroup_max(li: u32, v: f32) -> f32 {
  return across_subgroups(li, subgroupMax(v), -0x1.fffffep+127f, true);
}

fn workgroup_sum(li: u32, v: f32, sg_size: u32) -> f32 {
  var x = v;
  for (var o = 1u; o < sg_size; o *= 2u) { x += subgroupShuffleXor(x, o); }
  return across_subgroups(li, x, 0.0, false);
}

