/**
 * A training checkpoint is several files of a run directory (model.safetensors, optimizer.safetensors,
 * state.json) that must change together: a run killed while writing one of them must not resume with
 * a model from step N and an optimizer from step N - k. Each file is first written whole beside its
 * target as `<name>.next` (atomically), then a commit record `checkpoint.commit` is written
 * (atomically): that is the commit point. Then every `.next` is renamed over its target and the
 * record removed. `recoverCheckpoint` runs before any read of a run: with a commit record present it
 * finishes the renames (roll forward: all `.next` files are complete); without one it deletes stray
 * `.next` files (roll back: the targets were never touched). So at any kill -9 the directory holds one
 * complete checkpoint, the previous or the new one.
 */
import * as fs from 'fs';
import * as path from 'path';

import { GlmError } from '../errors';
import { fsyncDir, removeStaleTemps, writeJsonAtomic } from '../io/atomic';

const COMMIT = 'checkpoint.commit';
const NEXT = '.next';

/** Where the next version of `target` is written before the commit. */
export function stagedPath(target: string): string {
  return target + NEXT;
}

/**
 * Writes a checkpoint made of several files as one unit. `writers` maps each file's base name (in
 * `dir`) to a function that writes the given path completely and atomically.
 */
export function commitCheckpoint(dir: string, step: number, writers: Record<string, (path: string) => void>): void {
  const names = Object.keys(writers);
  for (const name of names) writers[name](stagedPath(path.join(dir, name)));
  writeJsonAtomic(path.join(dir, COMMIT), { step, files: names });
  finishCommit(dir, names);
}

function finishCommit(dir: string, names: string[]): void {
  for (const name of names) {
    const target = path.join(dir, name);
    try {
      fs.renameSync(stagedPath(target), target);
    } catch (err) {
      // Already renamed by an earlier, interrupted recovery: nothing left to do for this file.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
  fsyncDir(dir);
  fs.rmSync(path.join(dir, COMMIT), { force: true });
  fsyncDir(dir);
}

/**
 * Brings a run directory to a consistent checkpoint after a crash (see the file comment) and removes
 * temp files of interrupted atomic writes. Returns what it did, for logging; safe to call any time
 * no other process is writing the directory.
 */
export function recoverCheckpoint(dir: string): 'clean' | 'rolled-forward' | 'rolled-back' {
  if (!fs.existsSync(dir)) return 'clean';
  removeStaleTemps(dir);
  const commitPath = path.join(dir, COMMIT);
  if (fs.existsSync(commitPath)) {
    let record: { files?: unknown };
    try {
      record = JSON.parse(fs.readFileSync(commitPath, 'utf8'));
    } catch (err) {
      throw new GlmError('checkpoint', `'${commitPath}' is unreadable (${(err as Error).message}); the run directory needs manual repair`);
    }
    const files = Array.isArray(record.files) ? record.files.filter((f): f is string => typeof f === 'string') : [];
    finishCommit(dir, files);
    return 'rolled-forward';
  }
  let rolledBack = false;
  for (const name of fs.readdirSync(dir)) {
    if (name.endsWith(NEXT)) {
      fs.rmSync(path.join(dir, name), { force: true });
      rolledBack = true;
    }
  }
  return rolledBack ? 'rolled-back' : 'clean';
}
