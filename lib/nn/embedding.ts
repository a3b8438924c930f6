/** Embedding: a table [rows, dim] looked up by integer ids (token or learned position embeddings). */
import { embedding } from '../ops/embedding';
import { Tensor } from '../tensor';
import { checkParameter, Module } from './module';

/** A lookup table holding weight [rows, dim]. */
export class Embedding extends Module {
  readonly weight: Tensor;
  readonly rows: number;
  readonly dim: number;

  /** weight: f32 [rows, dim]. */
  constructor(weight: Tensor) {
    super();
    const w = checkParameter('Embedding', 'weight', weight, [-1, -1]);
    this.rows = w.shape[0];
    this.dim = w.shape[1];
    this.weight = this.registerParameter('weight', w);
  }

  /** ids i32 [...] → f32 [..., dim]. An id outside [0, rows) is reported at the next read. */
  forward(ids: Tensor): Tensor {
    return embedding(this.weight, ids);
  }
}
