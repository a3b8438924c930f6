/**
 * BERT's masked-language-model corruption (Devlin et al. 2019, section 3.1): each non-special position
 * is selected with probability `rate`; of the selected, 80% become [MASK], 10% a random non-special
 * token and 10% stay as they are. The model sees `input` and is scored on the selected positions only:
 * `targets` holds the original id there and -100 (the ignore index of our cross-entropy) elsewhere.
 *
 * Every sequence that has a non-special token gets at least one selected position, so every example
 * carries an MLM loss: when the Bernoulli draws select nothing, one non-special position is selected
 * uniformly at random. This raises the selected fraction of a sequence of n candidates from rate to
 * rate + (1 - rate)^n / n — nothing for BERT's lengths (0.85^128 ≈ 1e-9), noticeable below ~20 tokens.
 */
import { argError, describe } from '../../errors';
import { Random } from '../../random';

/** The target id of positions that carry no loss. */
export const IGNORE_INDEX = -100;

/** Options of `maskTokens`. */
export interface MlmOptions {
  /** Ids are in [0, vocabSize). */
  readonly vocabSize: number;
  /** The [MASK] id; must be one of `specialIds`. */
  readonly maskId: number;
  /** Ids never selected and never drawn as random replacements ([CLS], [SEP], [PAD], [MASK], ...). */
  readonly specialIds: readonly number[];
  /** Probability of selecting a non-special position, in (0, 1); default 0.15. */
  readonly rate?: number;
}

/** A corrupted sequence and its MLM targets, both of the input's length. */
export interface MlmExample {
  /** The model input: ids with the selected positions corrupted. */
  readonly input: Int32Array;
  /** The original id at selected positions, IGNORE_INDEX (-100) elsewhere. */
  readonly targets: Int32Array;
}

const OP = 'maskTokens';
/** Shares of the selected positions: [MASK] below 0.8, a random token in [0.8, 0.9), unchanged above. */
const MASK_SHARE = 0.8;
const RANDOM_SHARE = 0.1;

/**
 * Applies BERT's MLM corruption to `ids` (see the file comment), drawing from `random`. Returns new
 * arrays; `ids` is not modified. Throws a GlmError naming the argument when an option or id is invalid.
 */
export function maskTokens(ids: Int32Array, opts: MlmOptions, random: Random): MlmExample {
  const { vocabSize, maskId, specials, rate } = checkOptions(opts);
  if (!(ids instanceof Int32Array)) throw argError(OP, 'ids', 'an Int32Array of token ids', describe(ids));
  if (!(random instanceof Random)) throw argError(OP, 'random', 'a Random', describe(random));
  const special = new Set(specials);
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (id < 0 || id >= vocabSize) throw argError(OP, `ids[${i}]`, `a token id in [0, ${vocabSize}) (opts.vocabSize)`, describe(id));
  }

  // Pass 1: which positions are selected (one Bernoulli draw per candidate), at least one if any.
  const selected = new Uint8Array(ids.length);
  let candidates = 0;
  let chosen = 0;
  for (let i = 0; i < ids.length; i++) {
    if (special.has(ids[i])) continue;
    candidates++;
    if (random.uniform() < rate) {
      selected[i] = 1;
      chosen++;
    }
  }
  if (chosen === 0 && candidates > 0) {
    let r = random.int(candidates);
    for (let i = 0; i < ids.length; i++) {
      if (special.has(ids[i])) continue;
      if (r-- === 0) {
        selected[i] = 1;
        break;
      }
    }
  }

  // Pass 2: corrupt the selected positions 80/10/10.
  const input = Int32Array.from(ids);
  const targets = new Int32Array(ids.length).fill(IGNORE_INDEX);
  const nonSpecialCount = vocabSize - specials.length;
  for (let i = 0; i < ids.length; i++) {
    if (!selected[i]) continue;
    targets[i] = ids[i];
    const u = random.uniform();
    if (u < MASK_SHARE) input[i] = maskId;
    else if (u < MASK_SHARE + RANDOM_SHARE) input[i] = nthNonSpecial(random.int(nonSpecialCount), specials);
  }
  return { input, targets };
}

/** The r-th (0-based) id that is not in `sortedSpecials` (distinct, ascending). */
function nthNonSpecial(r: number, sortedSpecials: readonly number[]): number {
  for (const s of sortedSpecials) {
    if (s <= r) r++;
    else break;
  }
  return r;
}

/** Validated options, with the specials deduplicated and sorted ascending. */
function checkOptions(opts: MlmOptions): { vocabSize: number; maskId: number; specials: number[]; rate: number } {
  if (opts === null || typeof opts !== 'object') throw argError(OP, 'opts', 'an object {vocabSize, maskId, specialIds, rate?}', describe(opts));
  const { vocabSize, maskId, specialIds } = opts;
  const rate = opts.rate ?? 0.15;
  if (!Number.isSafeInteger(vocabSize) || vocabSize < 2 || vocabSize > 2 ** 31)
    throw argError(OP, 'opts.vocabSize', 'an integer in [2, 2^31]', describe(vocabSize));
  if (!Array.isArray(specialIds)) throw argError(OP, 'opts.specialIds', 'an array of token ids', describe(specialIds));
  specialIds.forEach((s, i) => {
    if (!Number.isInteger(s) || s < 0 || s >= vocabSize)
      throw argError(OP, `opts.specialIds[${i}]`, `a token id in [0, ${vocabSize}) (opts.vocabSize)`, describe(s));
  });
  const specials = [...new Set(specialIds)].sort((a, b) => a - b);
  if (specials.length >= vocabSize)
    throw argError(OP, 'opts.specialIds', `fewer distinct ids than vocabSize ${vocabSize}, so a random replacement exists`, `${specials.length} distinct ids`);
  if (!Number.isInteger(maskId) || !specials.includes(maskId))
    throw argError(OP, 'opts.maskId', `one of opts.specialIds (${specials.slice(0, 8).join(', ')}${specials.length > 8 ? ', …' : ''})`, describe(maskId));
  if (typeof rate !== 'number' || !(rate > 0 && rate < 1)) throw argError(OP, 'opts.rate', 'a number in (0, 1)', describe(rate));
  return { vocabSize, maskId, specials, rate };
}
