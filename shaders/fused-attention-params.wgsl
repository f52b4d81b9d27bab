// Prelude: the uniform block of the fused attention passes, CPU-shaped (fused-attention.wgsl) and the GPU-shaped
// backward (fused-attention-gpu-backward.wgsl); filled by attentionUniforms in src/kernels/attention-args.ts.

struct Params {
  nodes: u32,      // N
  edges: u32,      // E
  heads: u32,      // H
  channels: u32,   // C
  slope: f32,      // LeakyReLU negative slope
  l_stride: u32,   // left view: xl (GATv2) or x (GAT)
  l_offset: u32,
  r_stride: u32,   // right view: xr (GATv2)
  r_offset: u32,
  g_stride: u32,   // gradient output view (dxr, dxl, dx)
  g_offset: u32,
  accumulate: u32, // 1: add into the gradient output instead of overwriting it
  p: f32,          // dropout probability on alpha (0: none)
  seed: u32,       // dropout site seed
  has_bias: u32,   // 1: add bias[h * C + c] to the aggregated output
}
