/**
 * metrics.jsonl of a run directory: one JSON object per line, each with an integer `step`.
 *
 * Appends go to the OS with one write(2) per line (a kill -9 after it loses nothing; power loss
 * may), and `sync()` fsyncs at checkpoints. A kill -9 in the middle of an append can leave a torn
 * last line; the reader drops it, and opening the log for appending cuts it off first so the next
 * line does not glue onto it. On resume, `truncateMetrics(path, step)` drops the entries logged
 * after the checkpoint, so the resumed run does not log those steps twice.
 */
import * as fs from 'fs';
import { GlmError, argError, describe } from '../errors';
import { writeFileAtomic } from './atomic';

/** One line of the log. Other fields are free-form JSON values (loss, lr, tokens/s, ...). */
export interface MetricsEntry {
  step: number;
  [key: string]: unknown;
}

/** What readMetrics found. */
export interface MetricsRead {
  entries: MetricsEntry[];
  /** A torn last line (kill -9 mid-append) that was dropped, or null. */
  tornTail: string | null;
}

function checkEntry(op: string, entry: unknown): asserts entry is MetricsEntry {
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
    throw argError(op, 'entry', 'an object with an integer step', describe(entry));
  }
  const step = (entry as { step?: unknown }).step;
  if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) {
    throw argError(op, 'entry.step', 'a non-negative integer', describe(step));
  }
}

/**
 * A line of JSON for `entry`. Non-finite numbers (a diverged loss) are written as null, which is
 * what JSON.stringify does anyway, so a NaN loss becomes a visible gap rather than a crash.
 */
function lineOf(op: string, entry: MetricsEntry): string {
  let text: string;
  try {
    text = JSON.stringify(entry);
  } catch (err) {
    throw argError(op, 'entry', 'a JSON-serialisable object', `${describe(entry)} (${(err as Error).message})`);
  }
  return text + '\n';
}

interface Lines {
  /** Complete lines (terminated by \n), without the terminator, with their byte end offsets. */
  lines: { text: string; end: number }[];
  /** Bytes after the last \n (a torn line, or a complete last line missing only its newline). */
  tail: string;
  tailStart: number;
}

function splitLines(buf: Buffer): Lines {
  const lines: { text: string; end: number }[] = [];
  let start = 0;
  for (;;) {
    const nl = buf.indexOf(0x0a, start);
    if (nl < 0) break;
    lines.push({ text: buf.toString('utf8', start, nl), end: nl + 1 });
    start = nl + 1;
  }
  return { lines, tail: buf.toString('utf8', start), tailStart: start };
}

function parseLine(op: string, path: string, text: string, lineNo: number): MetricsEntry {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new GlmError(op, `'${path}' line ${lineNo} is not valid JSON (${(err as Error).message}): ${describe(text)}`);
  }
  const step = (v as { step?: unknown } | null)?.step;
  if (v === null || typeof v !== 'object' || Array.isArray(v) || typeof step !== 'number' || !Number.isSafeInteger(step)) {
    throw new GlmError(op, `'${path}' line ${lineNo}: expected an object with an integer step, got ${describe(text)}`);
  }
  return v as MetricsEntry;
}

function readRaw(op: string, path: string): Buffer | null {
  try {
    return fs.readFileSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new GlmError(op, `could not read '${path}': ${(err as Error).message}`);
  }
}

/** Parses the complete lines; a tail without newline counts if it parses, else it is torn. */
function parseAll(op: string, path: string, buf: Buffer): { entries: MetricsEntry[]; ends: number[]; tornTail: string | null } {
  const { lines, tail, tailStart } = splitLines(buf);
  const entries: MetricsEntry[] = [];
  const ends: number[] = [];
  lines.forEach((l, i) => {
    if (l.text.trim() === '') return; // blank lines (hand edits) carry nothing
    entries.push(parseLine(op, path, l.text, i + 1));
    ends.push(l.end);
  });
  let tornTail: string | null = null;
  if (tail.trim() !== '') {
    try {
      // One write per line means a tail missing only its \n is a whole entry; anything else is torn.
      entries.push(parseLine(op, path, tail, lines.length + 1));
      ends.push(tailStart + Buffer.byteLength(tail));
    } catch {
      tornTail = tail;
    }
  }
  return { entries, ends, tornTail };
}

/**
 * Reads a metrics log. A torn last line is dropped (and returned as `tornTail`); a bad line
 * anywhere else is corruption and throws, naming the file and line. A missing file is empty.
 */
export function readMetrics(path: string): MetricsRead {
  const op = 'readMetrics';
  if (typeof path !== 'string' || path.length === 0) throw argError(op, 'path', 'a non-empty string', describe(path));
  const buf = readRaw(op, path);
  if (buf === null) return { entries: [], tornTail: null };
  const { entries, tornTail } = parseAll(op, path, buf);
  return { entries, tornTail };
}

/**
 * Keeps only the entries with step <= `maxStep` (and drops a torn tail), rewriting the file
 * atomically with the kept lines byte for byte. Returns how many entries were kept. For resume:
 * call it with the checkpoint's step before appending. A missing file stays missing.
 */
export function truncateMetrics(path: string, maxStep: number): number {
  const op = 'truncateMetrics';
  if (typeof path !== 'string' || path.length === 0) throw argError(op, 'path', 'a non-empty string', describe(path));
  if (typeof maxStep !== 'number' || !Number.isSafeInteger(maxStep)) throw argError(op, 'maxStep', 'an integer', describe(maxStep));
  const buf = readRaw(op, path);
  if (buf === null) return 0;
  const { entries, ends } = parseAll(op, path, buf);
  const parts: Buffer[] = [];
  let kept = 0;
  let start = 0;
  let changed = false;
  for (let i = 0; i < entries.length; i++) {
    const end = ends[i];
    if (entries[i].step <= maxStep) {
      let line = buf.subarray(start, end);
      if (line[line.length - 1] !== 0x0a) line = Buffer.concat([line, Buffer.from('\n')]);
      parts.push(line);
      kept++;
    } else {
      changed = true;
    }
    start = end;
  }
  const out = Buffer.concat(parts);
  if (changed || !out.equals(buf)) writeFileAtomic(path, out);
  return kept;
}

/** Options of MetricsLog.open. */
export interface MetricsLogOptions {
  /**
   * Resume: drop entries with a step above this before appending (see truncateMetrics). Leave it
   * out for a fresh run or to keep everything.
   */
  keepUpToStep?: number;
}

/** An open metrics.jsonl for appending. */
export class MetricsLog {
  readonly path: string;
  private fd: number | null;

  private constructor(path: string, fd: number) {
    this.path = path;
    this.fd = fd;
  }

  /**
   * Opens (creating if needed) a log for appending. A torn last line is cut off first, so the
   * next entry starts on a line of its own.
   */
  static open(path: string, options: MetricsLogOptions = {}): MetricsLog {
    const op = 'MetricsLog.open';
    if (typeof path !== 'string' || path.length === 0) throw argError(op, 'path', 'a non-empty string', describe(path));
    if (options.keepUpToStep !== undefined) {
      truncateMetrics(path, options.keepUpToStep);
    } else {
      const buf = readRaw(op, path);
      if (buf !== null && buf.length > 0 && buf[buf.length - 1] !== 0x0a) {
        const { tornTail } = parseAll(op, path, buf);
        const lastNl = buf.lastIndexOf(0x0a);
        // A whole entry missing its newline gets one; a torn one is cut off.
        if (tornTail === null) fs.appendFileSync(path, '\n');
        else fs.truncateSync(path, lastNl + 1);
      }
    }
    let fd: number;
    try {
      fd = fs.openSync(path, 'a', 0o644);
    } catch (err) {
      throw new GlmError(op, `could not open '${path}' for appending: ${(err as Error).message}`);
    }
    return new MetricsLog(path, fd);
  }

  /** Appends one entry as one line (one write call, so a crash tears at most this line). */
  append(entry: MetricsEntry): void {
    const op = 'MetricsLog.append';
    if (this.fd === null) throw new GlmError(op, `the log '${this.path}' is closed`);
    checkEntry(op, entry);
    const bytes = Buffer.from(lineOf(op, entry), 'utf8');
    let off = 0;
    while (off < bytes.length) off += fs.writeSync(this.fd, bytes, off, bytes.length - off);
  }

  /** Makes everything appended so far durable (fsync). Call it when a checkpoint is written. */
  sync(): void {
    if (this.fd === null) throw new GlmError('MetricsLog.sync', `the log '${this.path}' is closed`);
    fs.fsyncSync(this.fd);
  }

  /** Syncs and closes the log (idempotent). */
  close(): void {
    if (this.fd === null) return;
    const fd = this.fd;
    this.fd = null;
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}
