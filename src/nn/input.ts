// A layer's input as seen by its linear transforms: dense [N, F], or sparse CSR [N, F] (bag-of-words features)
// with dropout applied to its nonzeros. A layer only needs x W and x^T dY, so it never cares which it has.
import type { Gpu } from '../gpu/gpu.ts';
import type { Tensor } from '../gpu/tensor.ts';
import { matmul } from '../kernels/matmul.ts';
import { spmm, type SparseTensors } from '../kernels/spmm.ts';

export interface LayerInput {
  readonly rows: number;
  readonly cols: number;
  /** out[rows, P] = x W (+ bias [P]), W [cols, P] */
  times(gpu: Gpu, w: Tensor, out: Tensor, bias?: Tensor): Tensor;
  /** out[cols, P] = x^T dy, dy [rows, P]: the weight gradient */
  transposeTimes(gpu: Gpu, dy: Tensor, out: Tensor): Tensor;
  /** The dense tensor, when there is one (needed for an input gradient). */
  readonly dense: Tensor | null;
}

export interface InputDropout {
  p: number;
  seed: number;
  step: Tensor;
}

/**
 * Dense features, optionally with dropout: the products apply the mask as they read x (matmul's dropoutA), so
 * the dropped-out input is never stored.
 */
export class DenseInput implements LayerInput {
  constructor(
    readonly x: Tensor,
    readonly dropout?: InputDropout,
  ) {
    if (x.shape.length !== 2) throw new Error(`Layer input must be [nodes, features], got [${x.shape}]`);
  }
  get rows() {
    return this.x.shape[0];
  }
  get cols() {
    return this.x.shape[1];
  }
  /** The input itself; null with dropout (the dropped-out tensor is never stored). */
  get dense() {
    return this.dropout ? null : this.x;
  }
  times(gpu: Gpu, w: Tensor, out: Tensor, bias?: Tensor) {
    return matmul(gpu, this.x, w, { out, bias, dropoutA: this.dropout });
  }
  transposeTimes(gpu: Gpu, dy: Tensor, out: Tensor) {
    return matmul(gpu, this.x, dy, { transA: true, out, dropoutA: this.dropout });
  }
}

/** Sparse features with their transpose (for the weight gradient); the dropout mask hashes each nonzero's index. */
export class SparseInput implements LayerInput {
  constructor(
    readonly x: SparseTensors,
    readonly xT: SparseTensors,
    readonly dropout?: InputDropout,
  ) {}
  get rows() {
    return this.x.rows;
  }
  get cols() {
    return this.x.cols;
  }
  get dense() {
    return null;
  }
  times(gpu: Gpu, w: Tensor, out: Tensor, bias?: Tensor) {
    return spmm(gpu, this.x, w, { out, bias, dropout: this.dropout });
  }
  transposeTimes(gpu: Gpu, dy: Tensor, out: Tensor) {
    return spmm(gpu, this.xT, dy, { out, dropout: this.dropout });
  }
}
