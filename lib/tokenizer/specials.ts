/**
 * The special tokens, declared once for every tokenizer: their names, their strings, and how a
 * tokenizer built here gives them ids.
 *
 * Convention: tiktoken/GPT-2 style `<|name|>` strings. The end-of-sequence token keeps GPT-2's
 * spelling `<|endoftext|>`, so a document separator means the same thing to our tokenizers and to
 * GPT-2's; the others are `<|bos|>`, `<|pad|>`, `<|mask|>`, `<|sep|>`, `<|cls|>`.
 *
 * Ids: a tokenizer we build (char or BPE) gives the specials it was asked for the ids 0..k-1 in the
 * order of SPECIAL_NAMES, before every other token, as Hugging Face's trainers do with
 * `special_tokens`. A tokenizer read from a tokenizer.json keeps the ids its `added_tokens` give;
 * a name maps to an id through its string, so GPT-2's `<|endoftext|>` (id 50256) is its eos.
 * A tokenizer without `<|bos|>` uses its eos as bos (GPT-2 starts documents with `<|endoftext|>`).
 *
 * Specials are never produced from plain text by default: `encode(text)` reads `<|endoftext|>` in
 * the text as ordinary characters (like tiktoken's `disallowedSpecial: []`), so user text cannot
 * inject control tokens; `encode(text, { specials: 'all' })` recognises them (as HF does).
 */
import { argError, describe } from '../errors';

/** The names of the special tokens, in the order our tokenizers give them ids. */
export const SPECIAL_NAMES = ['bos', 'eos', 'pad', 'mask', 'sep', 'cls'] as const;

/** A special token's name. */
export type SpecialName = (typeof SPECIAL_NAMES)[number];

/** The string of each special token. */
export const SPECIAL_TOKENS: Readonly<Record<SpecialName, string>> = Object.freeze({
  bos: '<|bos|>',
  eos: '<|endoftext|>',
  pad: '<|pad|>',
  mask: '<|mask|>',
  sep: '<|sep|>',
  cls: '<|cls|>',
});

/** Names that fall back to another special when a tokenizer lacks their own string. */
const FALLBACK: Partial<Record<SpecialName, SpecialName>> = { bos: 'eos' };

/** True when `name` is one of SPECIAL_NAMES. */
export function isSpecialName(name: unknown): name is SpecialName {
  return typeof name === 'string' && (SPECIAL_NAMES as readonly string[]).includes(name);
}

/**
 * Checks a list of special names (no unknown names, no repeats) and returns it in SPECIAL_NAMES
 * order, which is the order of their ids. `undefined` means all of them.
 */
export function normalizeSpecials(op: string, specials: unknown): SpecialName[] {
  if (specials === undefined) return [...SPECIAL_NAMES];
  if (!Array.isArray(specials)) throw argError(op, 'specials', `an array of special names (${SPECIAL_NAMES.join(', ')})`, describe(specials));
  const seen = new Set<string>();
  for (const s of specials) {
    if (!isSpecialName(s)) throw argError(op, 'specials', `names among ${SPECIAL_NAMES.join(', ')}`, describe(s));
    if (seen.has(s)) throw argError(op, 'specials', 'each name at most once', `${describe(s)} twice`);
    seen.add(s);
  }
  return SPECIAL_NAMES.filter((n) => seen.has(n));
}

/**
 * The special tokens of a tokenizer we build: string -> id, ids 0..k-1 in SPECIAL_NAMES order.
 * Names that share a string (none by default) share the id.
 */
export function assignSpecialIds(names: readonly SpecialName[]): Map<string, number> {
  const ids = new Map<string, number>();
  for (const name of names) {
    const content = SPECIAL_TOKENS[name];
    if (!ids.has(content)) ids.set(content, ids.size);
  }
  return ids;
}

/**
 * The id of special `name` among `specials` (string -> id), or undefined when the tokenizer has
 * none; throws for a name that is not a special name at all (a typo should not read as "absent").
 */
export function lookupSpecial(op: string, specials: ReadonlyMap<string, number>, name: unknown): number | undefined {
  if (!isSpecialName(name)) throw argError(op, 'name', `one of ${SPECIAL_NAMES.join(', ')}`, describe(name));
  const id = specials.get(SPECIAL_TOKENS[name]);
  if (id !== undefined) return id;
  const fallback = FALLBACK[name];
  return fallback === undefined ? undefined : specials.get(SPECIAL_TOKENS[fallback]);
}
