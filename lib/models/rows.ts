/**
 * Picking rows out of activations: x [B, T, C] viewed as B·T rows and gathered with the embedding
 * op (a lookup into the activations), so the gradient scatters back to exactly those rows. Used by
 * heads that read one position per sequence ([CLS], the last token) or only some positions (GLM's
 * Part B).
 */
import { embedding } from '../ops/embedding';
import { Tensor } from '../tensor';

/** Rows `rows` (flat indices b·T + t) of x [B, T, C] → [N, C]. Differentiable in x. */
export function gatherRows(x: Tensor, rows: Int32Array): Tensor {
  const C = x.shape[x.rank - 1];
  const flat = x.reshape([x.numel / C, C]);
  const ids = Tensor.from(rows, [rows.length], { dtype: 'i32', device: x.device });
  const out = embedding(flat, ids);
  ids.dispose();  // the lookup's tape keeps its own view
  return out;
}
