/**
 * Embedding lookup: rows of a table gathered by integer ids, differentiable in the table (a
 * deterministic scatter-add of the output gradient).
 */
import { record } from '../autograd';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { dtypeArg, rankArg, sameDevice, tensorArg } from './check';

interface EmbeddingNative {
  embeddingForward(out: NativeTensor, table: NativeTensor, ids: NativeTensor): void;
  embeddingBackward(dtable: NativeTensor, dout: NativeTensor, ids: NativeTensor): void;
}
const nat = () => native<EmbeddingNative>();

/**
 * table[ids]: table [V, C] (f32 or bf16), ids i32 of any shape [...]; returns [..., C].
 *
 * Differentiable in `table`: its gradient is the sum of the output gradient's rows per id, added in
 * position order (the same bits whatever the thread count). An id outside [0, V) is an error of the
 * device, not of this call (the ids may still be being computed): the op returns at once and the
 * next read of any result (`await out.toArray()`) throws, naming the position and the value.
 */
export function embedding(table: Tensor, ids: Tensor): Tensor {
  const op = 'embedding';
  const tt = tensorArg(op, 'table', table);
  dtypeArg(op, 'table', tt, ['f32', 'bf16']);
  rankArg(op, 'table', tt, [2]);
  const ti = tensorArg(op, 'ids', ids);
  dtypeArg(op, 'ids', ti, ['i32']);
  sameDevice(op, 'ids', ti, 'table', tt);
  const { dtype, device } = tt;
  const tableShape = tt.shape.slice();
  const out = Tensor.empty([...ti.shape, tableShape[1]], { dtype, device });
  nat().embeddingForward(out.handle, tt.handle, ti.handle);
  // A view of the ids on the tape keeps them for the backward even if the caller frees them.
  const idsSaved = ti.detach();
  return record(op, out, [tt], (g) => {
    const dtable = Tensor.empty(tableShape, { dtype, device });
    nat().embeddingBackward(dtable.handle, g.handle, idsSaved.handle);
    return [dtable];
  }, [idsSaved]);
}
