// Prelude: a node's incoming edges, its CSR segment (edges sorted by destination). A kernel that declares it binds
// `row_ptr: array<u32>`, the CSR row pointer [N + 1]. Segment is in common.wgsl.

// CSR positions row_ptr[i] .. row_ptr[i + 1] - 1: the edges into node i.
fn in_edges(i: u32) -> Segment { return Segment(row_ptr[i], row_ptr[i + 1u]); }
