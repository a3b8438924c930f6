/**
 * The deterministic train/test split of a classification data set, by a hash of each example's id.
 *
 * An example goes to test when u(salt, id) < testFraction, where u is the first 53 bits of
 * SHA-1(salt + "\0" + id) read as a number in [0, 1) (the NUL keeps salt "ab" + id "c" apart from
 * salt "a" + id "bc"). So the split depends only on the ids and the salt: the same on every machine,
 * for any input order, and an example keeps its side when others are added or removed. Each part is
 * ordered by u, a fixed pseudo-random order (not grouped by class, whatever the input's order).
 * The split is not stratified: each class's test share is close to testFraction, not equal to it;
 * `classCounts` reports it.
 */
import { createHash } from 'node:crypto';

import { argError, describe, GlmError } from '../../errors';
import { labelSet, type LabeledText } from './jsonl';

/** Options of `splitByIdHash`. */
export interface SplitByIdHashOptions {
  /** The expected share of examples in test, in (0, 1). Default 0.2. */
  readonly testFraction?: number;
  /** Mixed into the hash; another salt gives another split. Default 'glm-split-v1'. */
  readonly salt?: string;
}

/** How many examples of one class each part holds. */
export interface ClassCount {
  readonly label: string;
  readonly train: number;
  readonly test: number;
}

/** The result of `splitByIdHash`. */
export interface ClassifySplit<T extends LabeledText = LabeledText> {
  readonly train: T[];
  readonly test: T[];
  /** Per class, sorted by label. */
  readonly classCounts: readonly ClassCount[];
}

/** The default salt of `splitByIdHash`. */
export const DEFAULT_SPLIT_SALT = 'glm-split-v1';

const OP = 'splitByIdHash';

/**
 * Splits `examples` into train and test by the hash of (salt, id); see the file header. Throws a
 * GlmError for a testFraction outside (0, 1), an example without a string id and label, a duplicate
 * id (naming it and both positions), a class whose examples all land in test, or an empty test set
 * (too few examples for this fraction).
 */
export function splitByIdHash<T extends LabeledText>(examples: readonly T[], options: SplitByIdHashOptions = {}): ClassifySplit<T> {
  if (!Array.isArray(examples) || examples.length === 0) throw argError(OP, 'examples', 'a non-empty array of labeled texts', describe(examples));
  const testFraction = options.testFraction ?? 0.2;
  if (typeof testFraction !== 'number' || !(testFraction > 0 && testFraction < 1))
    throw argError(OP, 'options.testFraction', 'a number in (0, 1)', describe(options.testFraction));
  const salt = options.salt ?? DEFAULT_SPLIT_SALT;
  if (typeof salt !== 'string') throw argError(OP, 'options.salt', 'a string', describe(options.salt));

  const seen = new Map<string, number>();
  const keyed: { u: number; example: T }[] = [];
  examples.forEach((e, i) => {
    if (e === null || typeof e !== 'object' || typeof e.id !== 'string' || typeof e.label !== 'string')
      throw argError(OP, `examples[${i}]`, 'an object with string id and label', describe(e));
    const first = seen.get(e.id);
    if (first !== undefined) throw argError(OP, 'examples', 'unique ids', `id ${JSON.stringify(e.id)} at examples[${first}] and examples[${i}]`);
    seen.set(e.id, i);
    keyed.push({ u: idHashUniform(salt, e.id), example: e });
  });
  // u ties need equal 53-bit SHA-1 prefixes; the id breaks them anyway so the order is total.
  keyed.sort((a, b) => a.u - b.u || (a.example.id < b.example.id ? -1 : 1));

  const train: T[] = [];
  const test: T[] = [];
  for (const k of keyed) (k.u < testFraction ? test : train).push(k.example);

  const trainCounts = countLabels(train);
  const testCounts = countLabels(test);
  const classCounts = labelSet(examples as readonly LabeledText[]).map((label) => ({
    label,
    train: trainCounts.get(label) ?? 0,
    test: testCounts.get(label) ?? 0,
  }));
  for (const c of classCounts)
    if (c.train === 0)
      throw new GlmError(OP, `class '${c.label}' has no training example: all ${c.test} of its examples fell in test; use a smaller testFraction or another salt, or add examples`, {
        argument: 'examples',
        expected: 'every class present in train',
        actual: `class '${c.label}': 0 train, ${c.test} test`,
      });
  if (test.length === 0)
    throw new GlmError(OP, `the test set is empty (${examples.length} examples, testFraction ${testFraction}); use a larger testFraction or more examples`, {
      argument: 'options.testFraction',
      expected: 'a fraction that leaves at least one test example',
      actual: String(testFraction),
    });
  return { train, test, classCounts };
}

/** u in [0, 1): the first 53 bits of SHA-1(salt + "\0" + id). */
export function idHashUniform(salt: string, id: string): number {
  const h = createHash('sha1').update(salt + '\0' + id, 'utf8').digest();
  return (h.readUInt32BE(0) * 2 ** 21 + (h.readUInt32BE(4) >>> 11)) / 2 ** 53;
}

function countLabels(examples: readonly LabeledText[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of examples) counts.set(e.label, (counts.get(e.label) ?? 0) + 1);
  return counts;
}
