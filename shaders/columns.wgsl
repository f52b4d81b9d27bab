// Column blocks of row-major matrices: dst[r, dst_offset + c] = src[r, src_offset + c] for c < cols.
// Concatenating node features along the feature axis is one such copy per input; its backward, the copy back.

struct Params {
  rows: u32,
  cols: u32,        // columns copied
  src_stride: u32,  // row length of x
  src_offset: u32,  // first column read
  dst_stride: u32,  // row length of out
  dst_offset: u32,  // first column written
}

@group(0) @binding(0) var<storage, read> src: array<f32>;
@group(0) @binding(1) var<storage, read_write> dst: array<f32>;
@group(0) @binding(2) var<uniform> P: Params;

@compute @workgroup_size(WG)
fn copy_columns(inv: Invocation) {
  let i = thread_of(inv);
  if (i >= P.rows * P.cols) { return; }
  let r = i / P.cols;
  let c = i % P.cols;
  dst[r * P.dst_stride + P.dst_offset + c] = src[r * P.src_stride + P.src_offset + c];
}
