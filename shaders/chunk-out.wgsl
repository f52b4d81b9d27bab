// Prelude: stores of 4-channel chunks (see common.wgsl) into the kernel's `out` binding. A kernel that declares it
// binds `out: array<f32>` read_write.

fn put(i: u32, v: f32, accumulate: bool) {
  if (accumulate) {
    out[i] += v;
  } else {
    out[i] = v;
  }
}

// Writes the first `width` lanes of v to out[o ..], adding to what is there when `accumulate`.
fn store4(o: u32, width: u32, v: vec4f, accumulate: bool) {
  put(o, v.x, accumulate);
  if (width > 1u) { put(o + 1u, v.y, accumulate); }
  if (width > 2u) { put(o + 2u, v.z, accumulate); }
  if (width > 3u) { put(o + 3u, v.w, accumulate); }
}
