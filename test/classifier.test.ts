/**
 * Sequence classification heads on every body (BERT encoder at [CLS], GLM encoder and GPT at the
 * last real token): logits against the float64 reference, gradients of the head and of the body
 * against central differences, a frozen body, the multi-task parameter set, how texts are framed,
 * and bad input (a text longer than the context, an unknown label, bad tasks).
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { noGrad, scope, Tensor } from '../lib/index';
import { SequenceClassifier } from '../lib/models/classifier';
import { Encoder } from '../lib/models/encoder';
import { GPT } from '../lib/models/gpt';
import { softmaxCrossEntropy } from '../lib/ops/crossEntropy';
import { CharTokenizer } from '../lib/tokenizer';
import { encodeExamples, padRows } from '../lib/train/classifyInputs';
import { assertClose, assertThrows } from './helpers/assert';
import { deviceSuites } from './helpers/devices';
import { centralDifferences } from './helpers/gradcheck';
import { rng, Rng } from './helpers/random';
import { crossEntropyRef } from './reference/crossEntropy';
import { encoderHiddenRef, pickRowsRef } from './reference/encoder';
import { gptHiddenRef, GptRefParams, linearRef, randomGptParams } from './reference/gpt';

const V = 19, C = 16, H = 2, BLOCK = 10;
const LABELS = ['a', 'b', 'c'];
type Kind = 'bert' | 'glm' | 'gpt';

function bodyOf(kind: Kind, device: string, seed: number) {
  if (kind === 'gpt') return new GPT({ vocabSize: V, nLayer: 2, nHead: H, nEmbd: C, blockSize: BLOCK, dropout: 0, bias: true, positional: 'learned', ropeBase: 10000 }, { seed, device });
  return new Encoder({ arch: kind, vocabSize: V, nLayer: 2, nHead: H, nEmbd: C, blockSize: BLOCK, dropout: 0, bias: true }, { seed, device });
}

/** A classifier with random weights everywhere (heads included) and the same weights in float64. */
function randomClassifier(kind: Kind, r: Rng, device: string): { model: SequenceClassifier; ref: GptRefParams } {
  const model = new SequenceClassifier(bodyOf(kind, device, r.int(0, 1000)), [{ name: 'classify', labels: LABELS }], { seed: 3 });
  const values = randomGptParams(model.specs, () => r.normal() * 0.5);
  scope(() => model.loadStateDict(Object.fromEntries(model.specs.map((s) => [s.name, Tensor.from(values[s.name], s.shape, { device })]))));
  return { model, ref: values };
}

/** The reference logits [B, K] of the classifier on right-padded ids. */
function logitsRef(kind: Kind, p: GptRefParams, ids: ArrayLike<number>, B: number, T: number, lengths: number[]): Float64Array {
  const h = kind === 'gpt'
    ? gptHiddenRef({ vocabSize: V, nLayer: 2, nHead: H, nEmbd: C, bias: true, positional: 'learned', ropeBase: 10000 }, p, ids, B, T)
    : encoderHiddenRef({ arch: kind, vocabSize: V, nLayer: 2, nHead: H, nEmbd: C, bias: true }, p, { idx: ids }, B, T,
      { mask: kind === 'bert' ? 'none' : { prefix: T }, keyLengths: lengths });
  const rows = lengths.map((n, b) => b * T + (kind === 'bert' ? 0 : n - 1));
  return linearRef(pickRowsRef(h, rows, C), B, p['head.classify.weight'], p['head.classify.bias'], C, LABELS.length);
}

function inputs(r: Rng, device: string) {
  const B = 3, T = 9, lengths = [9, 4, 1];
  const ids = r.ints(B * T, 0, V);
  const labels = Int32Array.from({ length: B }, () => r.int(0, LABELS.length));
  return { B, T, lengths, ids, labels, idx: Tensor.from(ids, [B, T], { dtype: 'i32', device }) };
}

deviceSuites('classifier heads vs float64 reference', (test, device) => {
  for (const kind of ['bert', 'glm', 'gpt'] as Kind[]) {
    test(`${kind}: logits, and gradients of head and body`, async () => {
      const r = rng();
      const { model, ref } = randomClassifier(kind, r, device);
      assert.is(model.pooling, kind === 'bert' ? 'first' : 'last');
      const { B, T, lengths, ids, labels, idx } = inputs(r, device);
      const logits = noGrad(() => model.logits({ idx, lengths })).classify;
      assert.equal(logits.shape, [B, LABELS.length]);
      assertClose(await logits.toArray(), logitsRef(kind, ref, ids, B, T, lengths), 1e-4, 'logits');

      softmaxCrossEntropy(model.logits({ idx, lengths }).classify, Tensor.from(labels, [B], { dtype: 'i32', device })).backward();
      const p64: GptRefParams = Object.fromEntries(Object.entries(ref).map(([n, v]) => [n, Float64Array.from(v)]));
      const lossAt = () => crossEntropyRef(logitsRef(kind, p64, ids, B, T, lengths), labels, LABELS.length).loss;
      const grads = new Map<string, Float32Array>();
      for (const [n, t] of model.namedParameters()) if (t.grad) grads.set(n, (await t.grad.toArray()) as Float32Array);  // bert's NSP head takes no part
      const names = ['head.classify.weight', 'head.classify.bias', 'h.0.attn.c_attn.weight', 'h.1.mlp.c_fc.weight', 'ln_f.weight', 'wpe.weight'];
      const { got, want } = centralDifferences({ params: p64 as Record<string, Float64Array>, grads, names, lossAt, r });
      assertClose(got, want, 1e-4, 'gradients');  // f32 forward and backward: the kernels' f32 budget
      model.dispose();
    });
  }

  test('a frozen body: only the head gets gradients, and the groups hold only the head', async () => {
    const r = rng();
    const { model } = randomClassifier('bert', r, device);
    const { B, lengths, labels, idx } = inputs(r, device);
    softmaxCrossEntropy(model.logits({ idx, lengths }, { frozen: true }).classify, Tensor.from(labels, [B], { dtype: 'i32', device })).backward();
    for (const [n, t] of model.namedParameters()) {
      if (n.startsWith('head.')) assert.ok(t.grad, `${n} has a gradient`);
      else assert.is(t.grad, null, `${n} has no gradient`);
    }
    const groups = model.parameterGroups(0.01, true);
    assert.equal(groups.flatMap((g) => g.names ?? []).sort(), ['head.classify.bias', 'head.classify.weight']);
    assert.equal(groups[0].names, ['head.classify.weight'], 'the head matrix decays');
    assert.is(model.parameterGroups(0.01, false).reduce((n, g) => n + g.params.length, 0), model.namedParameters().length);
    model.dispose();
  });
});

const inputsSuite = suite('classifier inputs');
const tok = CharTokenizer.fromCorpus('abcdefgh ');

inputsSuite('each body frames a text as it was pretrained; rows pad to the longest', () => {
  const ex = [{ id: '1', text: 'abc', label: 'b' }];
  const enc = (body: Encoder | GPT) => Array.from(encodeExamples(ex, LABELS, body, tok, { maxLength: 8, truncate: false, source: 't' })[0].ids);
  const text = Array.from(tok.encode('abc'));
  const bert = new Encoder({ arch: 'bert', vocabSize: tok.vocabSize, nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 8, dropout: 0, bias: true });
  const glm = new Encoder({ arch: 'glm', vocabSize: tok.vocabSize, nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 8, dropout: 0, bias: true });
  const gpt = new GPT({ vocabSize: tok.vocabSize, nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 8, dropout: 0, bias: true, positional: 'learned', ropeBase: 10000 });
  assert.equal(enc(bert), [tok.specialId('cls')!, ...text, tok.specialId('sep')!]);
  assert.equal(enc(glm), [...text, tok.specialId('mask')!]);
  assert.equal(enc(gpt), [...text, tok.specialId('eos')!]);
  assert.is(encodeExamples(ex, LABELS, bert, tok, { maxLength: 8, truncate: false, source: 't' })[0].label, 1);
  const padded = padRows([Int32Array.of(5, 6, 7), Int32Array.of(8)], 0);
  assert.equal([...padded.ids], [5, 6, 7, 8, 0, 0]);
  assert.equal(padded.lengths, [3, 1]);
  for (const m of [bert, glm, gpt]) m.dispose();
});

inputsSuite('a text longer than the context, an unknown label, bad tasks: clear errors', async () => {
  const bert = new Encoder({ arch: 'bert', vocabSize: tok.vocabSize, nLayer: 1, nHead: 1, nEmbd: 8, blockSize: 8, dropout: 0, bias: true });
  const long = [{ id: 'x', text: 'abcdefghabcdefgh', label: 'a', line: 7 }];
  await assertThrows(() => encodeExamples(long, LABELS, bert, tok, { maxLength: 8, truncate: false, source: 'mail.jsonl' }),
    'at line 7 of mail.jsonl', 'has 16 tokens', 'more than the 6 that fit', '--truncate');
  const cut = encodeExamples(long, LABELS, bert, tok, { maxLength: 8, truncate: true, source: 'mail.jsonl' })[0];
  assert.is(cut.ids.length, 8);
  assert.ok(cut.truncated);
  await assertThrows(() => encodeExamples([{ id: 'y', text: 'ab', label: 'zebra', line: 3 }], LABELS, bert, tok, { maxLength: 8, truncate: false, source: 'eval.jsonl' }),
    "unknown label 'zebra' at line 3 of eval.jsonl", 'the model knows: a, b, c');
  await assertThrows(() => new SequenceClassifier(bert, []), "argument 'tasks'", 'non-empty');
  await assertThrows(() => new SequenceClassifier(bert, [{ name: 'classify', labels: ['only'] }]), "argument 'tasks[0].labels'", 'at least two distinct');
  await assertThrows(() => new SequenceClassifier(bert, [{ name: 'a', labels: ['x', 'y'] }, { name: 'a', labels: ['x', 'y'] }]), "argument 'tasks[1].name'", 'used once');
  const model = new SequenceClassifier(bert, [{ name: 'classify', labels: LABELS }]);
  await assertThrows(() => model.logits({ idx: Tensor.from(new Int32Array(4), [2, 2], { dtype: 'i32' }), lengths: [2, 3] }), "argument 'input.lengths[1]'", 'in [1, 2]');
  model.dispose();
});

inputsSuite.run();
