// Prelude of the fused attention pipelines with edge features (fused-attention.ts picks it, or
// fused-attention-no-edge.wgsl, which defines the same functions without bindings): the per-edge term that the
// layer's lin_edge (and, for GAT, att_edge) makes of edge_attr, in CSR order.
//   GATv2  z[k, h, c] = xl[src_k, h, c] + xr[dst_k, h, c] + edge[k, h * C + c]      edge [E, H * C]
//   GAT    s[k, h]    = a_src[src_k, h] + a_dst[dst_k, h] + edge[k, h]             edge [E, H]
// The backward writes dedge = d loss / d edge: de * att * lrelu'(z) (GATv2), de * lrelu'(s) (GAT).
// Where each pass finds the edge term, without binding an eleventh storage buffer:
//   forward           `edge`, read
//   GATv2 backward    a region of the scratch after the pairs (edge_word), which fused-attention.ts fills with a copy
//                     of edge; the source kernel reads it there and overwrites it with dedge (copied out after)
//   GAT backward      `edge_io` [E * H + N * H], whose first E * H words fused-attention.ts fills with a copy of
//                     edge; the destination kernel reads them in its first pass and overwrites them with dedge in its
//                     second. That kernel binds no `out`: dad goes after them (put_dad). Both are copied out after.

const EDGE = true;

@group(0) @binding(21) var<storage, read> edge: array<f32>;
@group(0) @binding(22) var<storage, read_write> edge_io: array<f32>;

// Forward, GATv2: edge[k, col ..], lanes past `width` repeating its last column (as left4).
fn edge4(k: u32, col: u32, width: u32) -> vec4f {
  let i = lanes(k * P.heads * P.channels + col, width);
  return vec4f(edge[i.x], edge[i.y], edge[i.z], edge[i.w]);
}

// Forward, GAT: edge[k, h] at kh = k * H + h.
fn edge_at(kh: u32) -> f32 { return edge[kh]; }

// GATv2 backward: word of edge (k, col) in the scratch, after the datt partials, the header and the pairs.
fn edge_word(k: u32, col: u32) -> u32 {
  let hc = P.heads * P.channels;
  return P.nodes * hc + 1u + select(2u, 1u, WIDE) * P.edges * P.heads + k * hc + col;
}

fn scratch_edge4(k: u32, col: u32, width: u32) -> vec4f {
  let i = lanes(edge_word(k, col), width);
  return bitcast<vec4f>(vec4u(scratch[i.x], scratch[i.y], scratch[i.z], scratch[i.w]));
}

// GATv2 backward: dedge (k, col ..), the first `width` lanes of v, over the edge term in the scratch.
fn put_dedge4(k: u32, col: u32, width: u32, v: vec4f) { store4_scratch(edge_word(k, col), width, v); }

// GAT backward: the edge term (first pass), then dedge over it (second pass).
fn gat_edge_io(kh: u32) -> f32 { return edge_io[kh]; }
fn put_gat_dedge(kh: u32, g: f32) { edge_io[kh] = g; }

// GAT backward: dad[i, h] (o = i * H + h) after dedge [E, H].
fn put_dad(o: u32, v: f32) { edge_io[P.edges * P.heads + o] = v; }
