/**
 * Blank infilling with a GLM encoder: the text with its "[MASK]" blanks is Part A (seen
 * bidirectionally); each blank is filled in turn, left to right, by sampling tokens after a start
 * token in Part B (causal, with 2D positions: the blank's position in A and the place inside the
 * span) until the end token, a length limit, or the context is full. Earlier fills stay in Part B as
 * context for later ones, as spans before it do in training.
 */
import { noGrad } from '../autograd';
import { infillPrompt, infillStep } from '../data/objectives';
import type { InfillSpan } from '../data/objectives';
import { argError, describe, GlmError } from '../errors';
import type { Encoder } from '../models/encoder';
import { gatherRows } from '../models/rows';
import { sampleTokens } from '../ops/sample';
import { scope } from '../scope';
import { Tensor } from '../tensor';
import type { Tokenizer } from '../tokenizer';
import { glmSpecials } from '../train/objectives/specials';

/** The blank marker in an infill prompt. */
export const BLANK = '[MASK]';

/** Options of {@link infill}. */
export interface InfillOptions {
  /** The most tokens per blank (default 32). */
  maxTokens?: number;
  /** 0: greedy (default 0.8). */
  temperature?: number;
  topK?: number;
  topP?: number;
  /** Seed of the draws (default 0). */
  seed?: number;
  autocast?: 'bf16';
}

/** What {@link infill} returns. */
export interface InfillResult {
  /** One fill per blank, left to right. */
  fills: string[];
  /** The text with each blank replaced by its fill. */
  text: string;
  /** Per blank: 'end' (the model closed the span), 'length' (maxTokens) or 'context' (the block is full). */
  finish: ('end' | 'length' | 'context')[];
}

/** Fills every "[MASK]" in `text` with `model` (arch 'glm'). */
export async function infill(model: Encoder, tokenizer: Tokenizer, text: string, opts: InfillOptions = {}): Promise<InfillResult> {
  const op = 'infill';
  if (model.config.arch !== 'glm') throw new GlmError(op, `blank infilling needs a GLM encoder (glm train --objective glm); this model is arch '${model.config.arch}'`);
  if (typeof text !== 'string') throw argError(op, 'text', `a string with ${BLANK} blanks`, describe(text));
  const pieces = text.split(BLANK);
  if (pieces.length < 2) throw argError(op, 'text', `a text with at least one ${BLANK}`, `no ${BLANK} in ${JSON.stringify(text.slice(0, 60))}`);
  const maxTokens = opts.maxTokens ?? 32;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw argError(op, 'opts.maxTokens', 'a positive integer', describe(opts.maxTokens));
  const sp = glmSpecials(tokenizer);
  const ids: number[] = [];
  pieces.forEach((p, i) => {
    if (i > 0) ids.push(sp.mask);
    for (const id of tokenizer.encode(p)) ids.push(id);
  });
  const partA = Int32Array.from(ids);
  const { blanks } = infillPrompt(partA, sp.mask);
  const block = model.config.blockSize;
  if (partA.length + 2 * blanks.length > block)
    throw argError(op, 'text', `at most ${block} tokens with room for every blank (Part A plus 2 per blank)`, `${partA.length} tokens and ${blanks.length} blanks`);
  // Never generate a control token other than the span's end.
  const V = model.config.vocabSize;
  const bias = new Float32Array(V);
  for (const id of tokenizer.specialTokens.values()) if (id !== sp.end && id < V) bias[id] = -Infinity;
  const logitBias = Tensor.from(bias, [V], { device: model.device });
  const filled: InfillSpan[] = [];
  const finish: InfillResult['finish'] = [];
  let draws = 0;
  try {
    for (const blank of blanks) {
      const tokens: number[] = [];
      let why: InfillResult['finish'][number] = 'length';
      while (tokens.length < maxTokens) {
        const step = infillStep(partA, filled, { blank, tokens }, sp.start);
        // Room for the blanks still to come (a start token each), or this one stops here.
        if (step.tokens.length + (blanks.length - filled.length - 1) > block) {
          why = 'context';
          break;
        }
        const next = await scope(async () => (await noGrad(() => {
          const L = step.tokens.length;
          const i32 = (a: Int32Array) => Tensor.from(a, [1, L], { dtype: 'i32', device: model.device });
          const h = model.hidden({ idx: i32(step.tokens), positions: i32(step.pos1), blockPositions: i32(step.pos2), mask: { prefix: step.prefixLength } }, { autocast: opts.autocast });
          const logits = model.lmLogits(gatherRows(h, Int32Array.of(L - 1)), { autocast: opts.autocast });
          return sampleTokens(logits, { temperature: opts.temperature ?? 0.8, topK: opts.topK, topP: opts.topP, seed: opts.seed ?? 0, offset: draws++, logitBias });
        }).toArray()) as Int32Array);
        if (next[0] === sp.end) {
          why = 'end';
          break;
        }
        tokens.push(next[0]);
      }
      filled.push({ blank, tokens });
      finish.push(why);
    }
  } finally {
    logitBias.dispose();
  }
  const fills = filled.map((f) => tokenizer.decode(f.tokens));
  return { fills, text: pieces.map((p, i) => (i === 0 ? p : fills[i - 1] + p)).join(''), finish };
}
