/**
 * Labeled texts for classification: the `LabeledText` record, the JSONL reader of a user's data set
 * and the label helpers (the label set of a training set; checking an eval set against it).
 *
 * The JSONL format: one JSON object per line, `{"text": string, "label": string | number, "id"?:
 * string | number}`; blank lines are skipped, labels and ids are normalised to strings (`1` and `"1"`
 * are the same label). Every problem is a GlmError naming the file and the 1-based line number.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

import { argError, describe, GlmError } from '../../errors';

/** One example: a text and its class. `id` is unique within a data set (the split hashes it). */
export interface LabeledText {
  readonly id: string;
  readonly text: string;
  readonly label: string;
  /** The 1-based line of the example in its JSONL file, when it was read from one. */
  readonly line?: number;
}

/** Options of `readClassifyJsonl`. */
export interface ReadClassifyJsonlOptions {
  /**
   * The fewest distinct labels the file may have. Default 2 (a training set); pass 1 for an eval
   * file, which may hold a single class.
   */
  readonly minClasses?: number;
}

const OP = 'readClassifyJsonl';

/** What a line must hold, for error messages. */
const LINE_SHAPE = 'a JSON object {"text": string, "label": string | number, "id"?: string | number}';

/**
 * Reads a classification JSONL file (see the file header for the format) into examples, in file
 * order. An example without an id gets the first 16 hex digits of the SHA-1 of its text; the n-th
 * copy (n >= 2) of an identical text gets that id + '#n'. Throws a GlmError naming the file and the
 * line for: a missing file, invalid JSON, a line that is not an object, a missing or non-string text,
 * a missing or empty label, a bad or duplicate id; and naming the file for an empty file or fewer
 * than `minClasses` distinct labels ("needs at least two classes, found only 'x'").
 */
export function readClassifyJsonl(file: string, options: ReadClassifyJsonlOptions = {}): LabeledText[] {
  if (typeof file !== 'string' || file === '') throw argError(OP, 'file', 'a path to a .jsonl file', describe(file));
  const minClasses = options.minClasses ?? 2;
  if (!Number.isInteger(minClasses) || minClasses < 1)
    throw argError(OP, 'options.minClasses', 'a positive integer', describe(options.minClasses));
  let content: string;
  try {
    content = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw argError(OP, 'file', 'a readable JSONL file', `${JSON.stringify(file)} (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  if (content.charCodeAt(0) === 0xfeff) content = content.slice(1);

  const examples: LabeledText[] = [];
  const idLines = new Map<string, number>(); // id -> line that took it
  const lines = content.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i].endsWith('\r') ? lines[i].slice(0, -1) : lines[i];
    if (raw.trim() === '') continue;
    const line = i + 1;
    const where = `line ${line} of ${JSON.stringify(file)}`;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (e) {
      throw argError(OP, 'file', LINE_SHAPE, `invalid JSON at ${where} (${(e as Error).message})`);
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw argError(OP, 'file', LINE_SHAPE, `${describe(value)} at ${where}`);
    const record = value as Record<string, unknown>;
    if (!('text' in record)) throw argError(OP, 'file', LINE_SHAPE, `no "text" at ${where}`);
    if (typeof record.text !== 'string') throw argError(OP, 'file', '"text" to be a string', `${describe(record.text)} at ${where}`);
    if (!('label' in record)) throw argError(OP, 'file', LINE_SHAPE, `no "label" at ${where}`);
    const label = normaliseKey(record.label);
    if (label === null) throw argError(OP, 'file', '"label" to be a non-empty string or a finite number', `${describe(record.label)} at ${where}`);

    let id: string;
    if (record.id !== undefined) {
      const given = normaliseKey(record.id);
      if (given === null) throw argError(OP, 'file', '"id" to be a non-empty string or a finite number', `${describe(record.id)} at ${where}`);
      const first = idLines.get(given);
      if (first !== undefined) throw argError(OP, 'file', 'unique ids', `id ${JSON.stringify(given)} at ${where}, already used at line ${first}`);
      id = given;
    } else {
      const base = textHash(record.text);
      id = base;
      for (let n = 2; idLines.has(id); n++) id = `${base}#${n}`;
    }
    idLines.set(id, line);
    examples.push({ id, text: record.text, label, line });
  }

  if (examples.length === 0)
    throw argError(OP, 'file', 'at least one example', `${JSON.stringify(file)} (it is empty or has only blank lines)`);
  const labels = labelSet(examples);
  if (labels.length < minClasses) {
    const found = labels.length === 1 ? `only '${labels[0]}'` : `${labels.length}: ${labels.map((l) => `'${l}'`).join(', ')}`;
    const need = minClasses === 2 ? 'two' : String(minClasses);
    throw new GlmError(OP, `${JSON.stringify(file)} needs at least ${need} classes, found ${found}`, {
      argument: 'file',
      expected: `at least ${minClasses} distinct labels`,
      actual: found,
    });
  }
  return examples;
}

/** The distinct labels of `examples`, sorted in code-unit order (so "10" sorts before "2"). */
export function labelSet(examples: readonly LabeledText[]): string[] {
  if (!Array.isArray(examples)) throw argError('labelSet', 'examples', 'an array of labeled texts', describe(examples));
  const set = new Set<string>();
  for (const e of examples) set.add(e.label);
  return [...set].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Checks that every label of an eval set is one the model was trained on, and returns each
 * example's label as its index in `labels` (the model's class ids). `file` names the source in the
 * error: "unknown label 'x' at line n; the model knows: a, b" (an example without a line number is
 * named by its index).
 */
export function checkKnownLabels(examples: readonly LabeledText[], labels: readonly string[], file: string): number[] {
  const op = 'checkKnownLabels';
  if (!Array.isArray(examples)) throw argError(op, 'examples', 'an array of labeled texts', describe(examples));
  if (!Array.isArray(labels) || labels.length === 0) throw argError(op, 'labels', 'a non-empty array of label strings', describe(labels));
  const index = new Map<string, number>();
  labels.forEach((l, i) => index.set(l, i));
  return examples.map((e, i) => {
    const k = index.get(e.label);
    if (k === undefined) {
      const at = e.line !== undefined ? `line ${e.line}` : `example ${i}`;
      throw new GlmError(op, `${file}: unknown label '${e.label}' at ${at}; the model knows: ${labels.join(', ')}`, {
        argument: 'examples',
        expected: `a label in ${labels.join(', ')}`,
        actual: `'${e.label}' at ${at}`,
      });
    }
    return k;
  });
}

/** A label or id as a string: non-empty strings as they are, finite numbers via String(); else null. */
function normaliseKey(value: unknown): string | null {
  if (typeof value === 'string') return value === '' ? null : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return null;
}

/** The default id of a text: 16 hex digits (64 bits) of its SHA-1. */
function textHash(text: string): string {
  return createHash('sha1').update(text, 'utf8').digest('hex').slice(0, 16);
}
