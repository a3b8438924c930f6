/**
 * The LM head of multi-task fine-tuning: the body's own pretraining objective on the fine-tuning
 * texts, trained beside the classification head with a weight. A GPT predicts each next token of the
 * text (from the same pass as the classifier); a BERT encoder predicts masked tokens (MLM, its own
 * pass on a corrupted copy); a GLM encoder fills blanks in windows cut from the batch's texts.
 */
import { maskTokens } from '../data/objectives';
import type { SequenceClassifier } from '../models/classifier';
import { Encoder } from '../models/encoder';
import { GPT } from '../models/gpt';
import { gatherRows } from '../models/rows';
import { softmaxCrossEntropy } from '../ops/crossEntropy';
import { Random } from '../random';
import { Tensor } from '../tensor';
import type { Tokenizer } from '../tokenizer';
import { glmBatch, glmWindow } from './objectives/glm';
import { selectedRows } from './objectives/mlmNsp';
import { encoderSpecials, glmSpecials } from './objectives/specials';

/** A padded batch of classifier inputs (host copies of the ids, for the LM targets). */
export interface LmRows {
  ids: Int32Array;
  T: number;
  lengths: readonly number[];
}

/**
 * The LM loss of the batch (a mean per predicted token), or null when the batch has nothing to
 * predict (GLM: texts shorter than one window). `hidden` is the classifier pass's [B, T, C] (used by
 * a GPT); `random` draws the MLM and GLM corruption.
 */
export function multiTaskLmLoss(model: SequenceClassifier, tokenizer: Tokenizer, rows: LmRows, hidden: Tensor, random: Random,
  opts: { training: boolean; dropoutSeed?: number; autocast?: 'bf16' }): Tensor | null {
  const body = model.body;
  const { ids, T, lengths } = rows;
  const B = lengths.length, device = body.device;
  const i32 = (a: Int32Array, shape: number[]) => Tensor.from(a, shape, { dtype: 'i32', device });
  if (body instanceof GPT) {
    const targets = new Int32Array(B * T).fill(-100);
    for (let b = 0; b < B; b++) for (let t = 0; t + 1 < lengths[b]; t++) targets[b * T + t] = ids[b * T + t + 1];
    const logits = body.lmLogits(hidden, { autocast: opts.autocast });
    return softmaxCrossEntropy(logits, i32(targets, [B, T]), { inPlace: true });
  }
  const enc = body as Encoder;
  const pass = { training: opts.training, dropoutSeed: opts.dropoutSeed, autocast: opts.autocast };
  if (enc.config.arch === 'bert') {
    const sp = encoderSpecials(tokenizer);
    const input = ids.slice(), targets = new Int32Array(B * T).fill(-100);
    for (let b = 0; b < B; b++) {
      const m = maskTokens(ids.subarray(b * T, b * T + lengths[b]), { vocabSize: enc.config.vocabSize, maskId: sp.mask, specialIds: sp.all }, random);
      input.set(m.input, b * T);
      targets.set(m.targets, b * T);
    }
    const keyLengths = i32(Int32Array.from(lengths), [B]);
    const h = enc.hidden({ idx: i32(input, [B, T]), keyLengths, mask: 'none' }, pass);
    const { rows: selected, picked } = selectedRows(targets);
    return softmaxCrossEntropy(enc.lmLogits(gatherRows(h, selected), { autocast: opts.autocast }), i32(picked, [picked.length]), { inPlace: true });
  }
  // GLM: windows of the texts (framing dropped: the trailing [MASK]) laid end to end.
  const n = glmWindow(enc.config.blockSize);
  const stream: number[] = [];
  for (let b = 0; b < B; b++) for (let t = 0; t + 1 < lengths[b]; t++) stream.push(ids[b * T + t]);
  const windows: Int32Array[] = [];
  for (let s = 0; s + n <= stream.length && windows.length < B; s += n) windows.push(Int32Array.from(stream.slice(s, s + n)));
  if (windows.length === 0) return null;
  return enc.glmLoss(glmBatch(windows, glmSpecials(tokenizer), random, device), pass);
}
