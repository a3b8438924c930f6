/**
 * Atomic file writes for everything a user keeps (checkpoints, shards, tokenizer.json, plots).
 *
 * A write goes to a uniquely named temp file in the target's directory, is fsynced, renamed over
 * the target and the directory is fsynced. rename(2) within one file system is atomic, so after a
 * crash (kill -9, power loss after the directory fsync) the target holds either the old or the new
 * content, never a mix. A crash before the rename leaves a stale temp file named
 * `.<base>.tmp-<pid>-<n>-<random>` beside the target (never read as the target itself);
 * `removeStaleTemps(dir)` deletes those whose writer is dead, on resume.
 */
import * as fs from 'fs';
import * as path from 'path';
import { randomBytes } from 'crypto';
import { GlmError, argError, describe } from '../errors';

/** Infix that marks our temp files; `removeStaleTemps` matches on it. */
export const TEMP_INFIX = '.tmp-';

let tempCounter = 0;

/** A temp path in the same directory as `target` (same file system, so the rename is atomic). */
export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  const base = path.basename(target);
  tempCounter += 1;
  return path.join(dir, `.${base}${TEMP_INFIX}${process.pid}-${tempCounter}-${randomBytes(4).toString('hex')}`);
}

/** True when `name` (a base name) is one of our temp files. */
export function isTempName(name: string): boolean {
  return name.startsWith('.') && /\.tmp-\d+-\d+-[0-9a-f]{8}$/.test(name);
}

function checkPath(op: string, target: unknown): asserts target is string {
  if (typeof target !== 'string' || target.length === 0) throw argError(op, 'path', 'a non-empty string', describe(target));
}

function checkData(op: string, data: unknown): asserts data is Uint8Array | string {
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) {
    throw argError(op, 'data', 'a Uint8Array or a string', describe(data));
  }
}

function wrap(op: string, target: string, err: unknown): GlmError {
  const msg = err instanceof Error ? err.message : String(err);
  const e = new GlmError(op, `could not write '${target}': ${msg}`);
  (e as { cause?: unknown }).cause = err;
  return e;
}

/**
 * Fsyncs a directory so a rename inside it survives a power loss. Some platforms (Windows) or file
 * systems refuse to open or fsync a directory; durability there is the OS's business, so we ignore
 * EISDIR/EPERM/EINVAL/EBADF rather than failing a write that already happened.
 */
export function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'EACCES') throw err;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

async function fsyncDirAsync(dir: string): Promise<void> {
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(dir, 'r');
    await fh.sync();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EISDIR' && code !== 'EPERM' && code !== 'EINVAL' && code !== 'EBADF' && code !== 'EACCES') throw err;
  } finally {
    if (fh !== undefined) await fh.close();
  }
}

function writeAllSync(fd: number, data: Uint8Array | string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let off = 0;
  while (off < bytes.byteLength) off += fs.writeSync(fd, bytes, off, bytes.byteLength - off);
}

/**
 * Runs `body(fd)` against a fresh temp file next to `target`, then fsyncs, renames over `target`
 * and fsyncs the directory. On any failure the temp file is removed and a GlmError naming
 * `target` is thrown. This is the building block for streaming writers (safetensors) that write
 * piece by piece instead of building one giant buffer.
 */
export function withAtomicFile(target: string, body: (fd: number) => void, op = 'withAtomicFile'): void {
  checkPath(op, target);
  const tmp = tempPathFor(target);
  let fd: number | undefined;
  try {
    // 'wx': fail rather than clobber if the unique name somehow exists.
    fd = fs.openSync(tmp, 'wx', 0o644);
    body(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fd = undefined;
    fs.renameSync(tmp, target);
  } catch (err) {
    if (fd !== undefined) {
      try { fs.closeSync(fd); } catch { /* already failing */ }
    }
    try { fs.unlinkSync(tmp); } catch { /* may never have been created */ }
    throw wrap(op, target, err);
  }
  try {
    fsyncDir(path.dirname(target));
  } catch (err) {
    throw wrap(op, target, err);
  }
}

/** Async twin of `withAtomicFile`; `body` receives an open FileHandle. */
export async function withAtomicFileAsync(
  target: string,
  body: (fh: fs.promises.FileHandle) => Promise<void>,
  op = 'withAtomicFileAsync',
): Promise<void> {
  checkPath(op, target);
  const tmp = tempPathFor(target);
  let fh: fs.promises.FileHandle | undefined;
  try {
    fh = await fs.promises.open(tmp, 'wx', 0o644);
    await body(fh);
    await fh.sync();
    await fh.close();
    fh = undefined;
    await fs.promises.rename(tmp, target);
  } catch (err) {
    if (fh !== undefined) {
      try { await fh.close(); } catch { /* already failing */ }
    }
    try { await fs.promises.unlink(tmp); } catch { /* may never have been created */ }
    throw wrap(op, target, err);
  }
  try {
    await fsyncDirAsync(path.dirname(target));
  } catch (err) {
    throw wrap(op, target, err);
  }
}

/**
 * Writes `data` (bytes, or a string written as UTF-8) to `path` atomically: after a crash the file
 * holds either its old content or `data`, never a torn mix. Throws a GlmError naming the path.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  checkData('writeFileAtomic', data);
  withAtomicFile(path, (fd) => writeAllSync(fd, data), 'writeFileAtomic');
}

/** Async twin of `writeFileAtomic`. */
export async function writeFileAtomicAsync(path: string, data: Uint8Array | string): Promise<void> {
  checkData('writeFileAtomicAsync', data);
  await withAtomicFileAsync(path, async (fh) => {
    const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    let off = 0;
    while (off < bytes.byteLength) {
      const { bytesWritten } = await fh.write(bytes, off, bytes.byteLength - off);
      off += bytesWritten;
    }
  }, 'writeFileAtomicAsync');
}

/**
 * Writes `value` as pretty-printed JSON (2-space indent, trailing newline) atomically. Throws when
 * `value` is not JSON-serialisable (undefined, a function, a BigInt, a cycle).
 */
export function writeJsonAtomic(path: string, value: unknown): void {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (err) {
    throw argError('writeJsonAtomic', 'value', 'a JSON-serialisable value', `${describe(value)} (${(err as Error).message})`);
  }
  if (text === undefined) throw argError('writeJsonAtomic', 'value', 'a JSON-serialisable value', describe(value));
  withAtomicFile(path, (fd) => writeAllSync(fd, text + '\n'), 'writeJsonAtomic');
}

/** Async twin of `writeJsonAtomic`. */
export async function writeJsonAtomicAsync(path: string, value: unknown): Promise<void> {
  let text: string | undefined;
  try {
    text = JSON.stringify(value, null, 2);
  } catch (err) {
    throw argError('writeJsonAtomicAsync', 'value', 'a JSON-serialisable value', `${describe(value)} (${(err as Error).message})`);
  }
  if (text === undefined) throw argError('writeJsonAtomicAsync', 'value', 'a JSON-serialisable value', describe(value));
  await writeFileAtomicAsync(path, text + '\n');
}

/** Whether a process with this pid exists (EPERM: it does, owned by someone else). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Options of removeStaleTemps. */
export interface RemoveStaleTempsOptions {
  /**
   * Also remove temp files whose writer process (the pid in the name) is still alive, this one
   * included. Default false: those may be writes in flight.
   */
  includeLive?: boolean;
}

/**
 * Deletes the temp files that crashed writes left in `dir` — ours only, named
 * `.<name>.tmp-<pid>-<n>-<hex8>` — and returns their paths. A temp file whose writer pid is still
 * alive is kept (it may be a write in flight, in this or another process) unless `includeLive`.
 * Call it on resume. A missing directory gives an empty list. Temp files are never mistaken for
 * the checkpoint: they have their own names and only a completed write renames one into place.
 */
export function removeStaleTemps(dir: string, options: RemoveStaleTempsOptions = {}): string[] {
  checkPath('removeStaleTemps', dir);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new GlmError('removeStaleTemps', `could not list '${dir}': ${(err as Error).message}`);
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!isTempName(name)) continue;
    const pid = Number(/\.tmp-(\d+)-\d+-[0-9a-f]{8}$/.exec(name)![1]);
    if (!options.includeLive && processAlive(pid)) continue;
    const p = path.join(dir, name);
    try {
      fs.unlinkSync(p);
      removed.push(p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new GlmError('removeStaleTemps', `could not remove '${p}': ${(err as Error).message}`);
      }
    }
  }
  return removed;
}
