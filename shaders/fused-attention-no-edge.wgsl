// Prelude of the fused attention pipelines without edge features: fused-attention-edge.wgsl's functions, binding
// nothing (EDGE is false, so the kernels never call the first six; put_dad writes dad to `out`).

const EDGE = false;

fn edge4(k: u32, col: u32, width: u32) -> vec4f { return vec4f(0.0); }
fn edge_at(kh: u32) -> f32 { return 0.0; }
fn scratch_edge4(k: u32, col: u32, width: u32) -> vec4f { return vec4f(0.0); }
fn put_dedge4(k: u32, col: u32, width: u32, v: vec4f) {}
fn gat_edge_io(kh: u32) -> f32 { return 0.0; }
fn put_gat_dedge(kh: u32, g: f32) {}
fn put_dad(o: u32, v: f32) { out[o] = v; }
