// Shared prelude, prepended to every kernel file by src/gpu/kernel.ts.

// Threads per workgroup; every entry point uses @workgroup_size(WG).
override WG: u32 = 64;

// Index of this workgroup in a grid that the dispatcher folds into 2-D when it exceeds the
// per-dimension limit (65,535): g = wid.x + wid.y * nwg.x. Kernels bound-check with their sizes.
fn group_index(wid: vec3u, nwg: vec3u) -> u32 {
  return wid.x + wid.y * nwg.x;
}

// Index of this thread in the whole launch: group_index * WG + local index.
fn thread_index(wid: vec3u, nwg: vec3u, lid: vec3u) -> u32 {
  return group_index(wid, nwg) * WG + lid.x;
}

// Where a thread stands in its launch, taken by an entry point as one parameter instead of its builtins:
//   @compute @workgroup_size(WG)
//   fn my_kernel(inv: Invocation) {
//     let t = thread_of(inv);
//     if (t >= count) { return; }
struct Invocation {
  @builtin(workgroup_id) wid: vec3u,
  @builtin(num_workgroups) nwg: vec3u,
  @builtin(local_invocation_id) lid: vec3u,
  @builtin(local_invocation_index) index: u32,  // the thread within its workgroup (= lid.x: workgroups are 1-D)
}

fn group_of(inv: Invocation) -> u32 { return group_index(inv.wid, inv.nwg); }

fn thread_of(inv: Invocation) -> u32 { return thread_index(inv.wid, inv.nwg, inv.lid); }

// Thread t of a launch with one thread per cell of a grid `cols` wide (node and head of [N, H], graph and column
// of [B, F], ...): its row t / cols and column t % cols. Kernels bound-check t first.
struct Cell {
  row: u32,
  col: u32,
}

fn cell_of(t: u32, cols: u32) -> Cell { return Cell(t / cols, t % cols); }

// A contiguous run of positions first .. end - 1 (a node's CSR segment, a graph's nodes).
struct Segment {
  first: u32,
  end: u32,
}

// ---- 4-channel chunks, for kernels over node matrices [N, H * C]: a thread takes up to 4 channels of one head
// as a vec4, so per-edge work (index loads, alpha, the dropout hash, the loop) is shared by 4 channels. A head's
// last chunk may be narrower: lanes past `width` repeat the chunk's last channel and are never stored or summed.

const LANES = vec4u(0u, 1u, 2u, 3u);

fn chunks_per_head(channels: u32) -> u32 { return (channels + 3u) / 4u; }

// Element indices base .. base + 3, clamped to the chunk's last channel.
fn lanes(base: u32, width: u32) -> vec4u { return min(vec4u(base) + LANES, vec4u(base + width - 1u)); }

// A thread's share of a node matrix: one node, one head, up to 4 channels.
struct Chunk {
  node: u32,
  head: u32,
  col: u32,    // first column: h * C + 4 * (chunk within the head)
  width: u32,  // channels in this chunk, 1..4
}

// Thread t of a launch of nodes * heads * chunks_per_head(channels) threads.
fn chunk_of(t: u32, heads: u32, channels: u32) -> Chunk {
  let per_head = chunks_per_head(channels);
  let per_node = heads * per_head;
  let r = t % per_node;
  let head = r / per_head;
  return chunk_at(t / per_node, head, (r % per_head) * 4u, channels);
}

// The chunk of `node`, `head` that starts at channel c0 (a multiple of 4), for a thread that walks a head's chunks.
fn chunk_at(node: u32, head: u32, c0: u32, channels: u32) -> Chunk {
  return Chunk(node, head, head * channels + c0, min(4u, channels - c0));
}

// lowbias32 integer hash (Wellons): a bijection on u32 with good avalanche.
fn hash32(x: u32) -> u32 {
  var h = x;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

// Counter-based dropout. For element i of a dropout site (`seed` identifies the site, `step` the training step):
//   u = hash32(i ^ site) / 2^32 with site = hash32(seed ^ hash32(step)), keeping the top 24 bits so u is exact in f32;
//   the element is kept when u >= p and then scaled by 1 / (1 - p).
// The site hash depends on the step only, so kernels compute it once per thread (dropout_site) and call
// dropout_scale_at per element; dropout_scale does both. Kernels that drop many elements per thread take the
// per-thread constants once (dropout_with_site) and call dropout_keep per element.
fn dropout_site(seed: u32, step: u32) -> u32 {
  return hash32(seed ^ hash32(step));
}

// A dropout site's per-thread constants: the site hash; keep_from, since u >= p exactly when the top 24 bits of the
// element's hash are >= ceil(p * 2^24) (u = those bits / 2^24 is exact in f32, and so is p * 2^24); the scale of a
// kept element. p = 0 gives keep_from 0 and scale 1: everything kept, unchanged.
struct DropoutSite {
  site: u32,
  keep_from: u32,
  scale: f32,
}

fn dropout_with_site(site: u32, p: f32) -> DropoutSite {
  return DropoutSite(site, u32(ceil(p * 16777216.0)), 1.0 / (1.0 - p));
}

// 0 with probability p, else 1 / (1 - p).
fn dropout_keep(d: DropoutSite, i: u32) -> f32 {
  return select(0.0, d.scale, (hash32(i ^ d.site) >> 8u) >= d.keep_from);
}

fn dropout_scale_at(site: u32, i: u32, p: f32) -> f32 {
  return dropout_keep(dropout_with_site(site, p), i);
}

fn dropout_scale(seed: u32, step: u32, i: u32, p: f32) -> f32 {
  return dropout_scale_at(dropout_site(seed, step), i, p);
}

fn leaky_relu(x: f32, slope: f32) -> f32 {
  return select(x * slope, x, x > 0.0);
}

// d leaky_relu(x) / dx, as PyTorch takes it (slope at x <= 0).
fn leaky_relu_grad(x: f32, slope: f32) -> f32 {
  return select(slope, 1.0, x > 0.0);
}

// The same, lane by lane.
fn leaky_relu4(z: vec4f, slope: f32) -> vec4f { return select(z * slope, z, z > vec4f(0.0)); }
fn leaky_relu_grad4(z: vec4f, slope: f32) -> vec4f { return select(vec4f(slope), vec4f(1.0), z > vec4f(0.0)); }
