/**
 * lib/io/atomic.ts: atomic writes (content, replacement, cleanup on failure, JSON, async twins),
 * stale temp removal, and the crash test: a child process rewrites a 42 MB safetensors checkpoint
 * in a loop and is killed with SIGKILL at random moments; after every kill the checkpoint must load
 * and equal the last version written or the one being written, exactly, and the only other files
 * may be our temp files, which removeStaleTemps deletes (what a resume does).
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import {
  isTempName,
  removeStaleTemps,
  tempPathFor,
  withAtomicFile,
  writeFileAtomic,
  writeFileAtomicAsync,
  writeJsonAtomic,
  writeJsonAtomicAsync,
} from '../lib/io/atomic';
import { readSafetensors, writeSafetensors } from '../lib/io/safetensors';
import { crashContent } from './fixtures/ioCrashContent';
import { assertThrows } from './helpers/assert';
import { rng, seedNote } from './helpers/random';

const root = path.resolve(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-io-a-'));

const atomic = suite('atomic writes');

atomic('writeFileAtomic writes bytes and strings, replaces, leaves no temp', () => {
  const p = path.join(tmp, 'a.bin');
  writeFileAtomic(p, new Uint8Array([1, 2, 3]));
  assert.equal(Array.from(fs.readFileSync(p)), [1, 2, 3]);
  writeFileAtomic(p, 'héllo');
  assert.is(fs.readFileSync(p, 'utf8'), 'héllo');
  const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3);
  writeFileAtomic(p, view);
  assert.equal(Array.from(fs.readFileSync(p)), [8, 7], 'a subarray writes only its bytes');
  writeFileAtomic(p, '');
  assert.is(fs.statSync(p).size, 0);
  assert.equal(fs.readdirSync(tmp).filter(isTempName), []);
});

atomic('a failing body removes its temp file, keeps the target and names the path', async () => {
  const p = path.join(tmp, 'keep.txt');
  writeFileAtomic(p, 'old');
  await assertThrows(() => withAtomicFile(p, (fd) => {
    fs.writeSync(fd, 'partial new content');
    throw new Error('disk on fire');
  }), 'withAtomicFile', p, 'disk on fire');
  assert.is(fs.readFileSync(p, 'utf8'), 'old');
  assert.equal(fs.readdirSync(tmp).filter(isTempName), []);
  const missing = path.join(tmp, 'no-such-dir', 'x.txt');
  await assertThrows(() => writeFileAtomic(missing, 'x'), 'writeFileAtomic', missing, 'ENOENT');
  await assertThrows(() => writeFileAtomic(p, 5 as unknown as string), 'writeFileAtomic', "'data'", 'a Uint8Array or a string', '5');
  await assertThrows(() => writeFileAtomic('', 'x'), "'path'", 'non-empty string');
  // A directory in the way of the rename.
  const dir = path.join(tmp, 'isdir');
  fs.mkdirSync(dir);
  await assertThrows(() => writeFileAtomic(dir, 'x'), 'writeFileAtomic', dir);
  assert.equal(fs.readdirSync(tmp).filter(isTempName), []);
});

atomic('writeJsonAtomic: pretty JSON with a final newline; unserialisable values refused', async () => {
  const p = path.join(tmp, 'state.json');
  const v = { step: 10, lr: 6e-4, nested: { a: [1, 2] }, s: 'ü' };
  writeJsonAtomic(p, v);
  const text = fs.readFileSync(p, 'utf8');
  assert.is(text, JSON.stringify(v, null, 2) + '\n');
  await assertThrows(() => writeJsonAtomic(p, undefined), 'writeJsonAtomic', "'value'", 'JSON-serialisable', 'undefined');
  await assertThrows(() => writeJsonAtomic(p, { n: 1n }), 'writeJsonAtomic', 'BigInt');
  const cyc: Record<string, unknown> = {};
  cyc.self = cyc;
  await assertThrows(() => writeJsonAtomic(p, cyc), 'writeJsonAtomic', 'circular');
  assert.is(fs.readFileSync(p, 'utf8'), text, 'unchanged');
});

atomic('async twins', async () => {
  const p = path.join(tmp, 'async.json');
  await writeJsonAtomicAsync(p, { a: 1 });
  assert.equal(JSON.parse(fs.readFileSync(p, 'utf8')), { a: 1 });
  await writeFileAtomicAsync(p, new Uint8Array([5]));
  assert.equal(Array.from(fs.readFileSync(p)), [5]);
  const missing = path.join(tmp, 'nope', 'x');
  await assertThrows(() => writeFileAtomicAsync(missing, 'x'), 'writeFileAtomicAsync', missing);
  assert.equal(fs.readdirSync(tmp).filter(isTempName), []);
});

atomic('removeStaleTemps removes only our temp files, and only those of dead writers', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'stale-'));
  const keep = ['model.safetensors', '.hidden', 'x.tmp', '.a.tmp-12', 'notes.tmp-1-2-abcdef12'];
  for (const k of keep) fs.writeFileSync(path.join(dir, k), 'k');
  // Above Linux's largest pid_max (2^22): no such process.
  const deadPid = 4194304 + 7;
  const dead = ['.model.safetensors', '.state.json'].map((b, i) => path.join(dir, `${b}.tmp-${deadPid}-${i + 1}-0123abcd`));
  for (const t of dead) fs.writeFileSync(t, 'partial');
  // Ours (this process is alive): possibly a write in flight, so kept by default.
  const live = tempPathFor(path.join(dir, 'model.safetensors'));
  fs.writeFileSync(live, 'in flight');
  assert.ok([...dead, live].every((t) => isTempName(path.basename(t))));
  assert.equal(removeStaleTemps(dir).sort(), dead.sort());
  assert.equal(fs.readdirSync(dir).sort(), [...keep, path.basename(live)].sort());
  assert.equal(removeStaleTemps(dir, { includeLive: true }), [live]);
  assert.equal(fs.readdirSync(dir).sort(), keep.sort());
  assert.equal(removeStaleTemps(path.join(tmp, 'missing-dir')), []);
});

const crash = suite('atomic writes under kill -9');

interface Round {
  lines: string[];
  exited: Promise<void>;
  child: ChildProcess;
  stderr: () => string;
}

function startWriter(target: string): Round {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'test/fixtures/ioCrashWriter.ts'), target], {
    cwd: root,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let buf = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    const parts = buf.split('\n');
    buf = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin!.on('error', () => {}); // killed before reading: nothing to report
  const exited = new Promise<void>((resolve, reject) => {
    // 'close' comes after stdout has drained, so every line the child wrote is in `lines`.
    child.on('close', (code, signal) => {
      if (signal === 'SIGKILL') resolve();
      else reject(new Error(`writer exited by itself (code ${code}, signal ${signal}): ${err}`));
    });
  });
  exited.catch(() => {}); // reported by waitForLine or by awaiting `exited`
  return { lines, exited, child, stderr: () => err };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitForLine(round: Round, pattern: RegExp, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  while (!round.lines.some((l) => pattern.test(l))) {
    if (round.child.exitCode !== null) throw new Error(`writer exited (code ${round.child.exitCode}) before ${pattern}: ${round.stderr()}`);
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${pattern}; got ${round.lines.join(' | ')}`);
    await sleep(5);
  }
}

crash('checkpoint survives SIGKILL at random moments: old or new, exactly; temps cleaned up', async () => {
  const r = rng();
  const dir = fs.mkdtempSync(path.join(tmp, 'crash-'));
  const target = path.join(dir, 'model.safetensors');
  writeSafetensors(target, crashContent(0), { version: '0' });
  let onDisk = 0;
  let midWrite = 0;
  let newer = 0;
  let rounds = 0;
  const t0 = Date.now();
  let next = startWriter(target);
  let current: Round | null = null;
  try {
    // At least 5 rounds; more (up to 10, within ~8 s) until one kill has hit a write in progress.
    while (rounds < 5 || (midWrite === 0 && rounds < 10 && Date.now() - t0 < 8000)) {
      rounds++;
      const first = onDisk + 1;
      const round = next;
      current = round;
      await waitForLine(round, /^ready$/, 15000);
      round.child.stdin!.write(`go ${first}\n`);
      // Kill at a random moment from the start of its first write (over the existing checkpoint)
      // to about 1.5 writes later (a 42 MB write takes ~150-250 ms here).
      await waitForLine(round, new RegExp(`^writing ${first}$`), 15000);
      await sleep(r.uniform(0, 350));
      round.child.kill('SIGKILL');
      // The next writer boots while this round is checked.
      next = startWriter(target);
      await round.exited;
      const wrote = round.lines.filter((l) => l.startsWith('wrote ')).map((l) => Number(l.slice(6)));
      const writing = round.lines.filter((l) => l.startsWith('writing ')).map((l) => Number(l.slice(8)));
      const lastAck = Math.max(onDisk, ...wrote);
      const inFlight = Math.max(...writing);

      // The checkpoint loads, and is the last acknowledged version or the one in flight.
      const file = readSafetensors(target);
      const v = (file.tensors.version.data as Int32Array)[0];
      assert.ok(v === lastAck || (v === lastAck + 1 && inFlight === lastAck + 1), `round ${rounds}: version ${v}, last acked ${lastAck}, in flight ${inFlight} ${seedNote()}`);
      assert.is(file.metadata.version, String(v));
      const want = crashContent(v);
      for (const [name, t] of Object.entries(want)) {
        const got = file.tensors[name];
        assert.equal(got.shape, t.shape, `${name} shape`);
        const a = Buffer.from(got.data.buffer, got.data.byteOffset, got.data.byteLength);
        const b = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
        assert.ok(a.equals(b), `round ${rounds}: ${name} of version ${v} differs from what was written`);
      }
      if (v > lastAck) newer++;

      // Everything else in the directory is a temp file of the interrupted write; resume removes it.
      const others = fs.readdirSync(dir).filter((n) => n !== 'model.safetensors');
      assert.ok(others.every(isTempName), `unexpected files: ${others.join(', ')}`);
      if (others.length > 0) midWrite++;
      assert.equal(removeStaleTemps(dir).map((p) => path.basename(p)).sort(), others.sort());
      assert.equal(fs.readdirSync(dir), ['model.safetensors']);
      onDisk = v;
    }
  } finally {
    // A failed check must not leave writers behind (they would keep the test process alive).
    for (const w of [current, next]) if (w && w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  }
  await next.exited;
  console.log(`  [crash] ${rounds} kills: ${midWrite} mid-write (temp file left), ${newer} after the rename but before the ack; checkpoint intact every time`);
});

crash.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

atomic.run();
crash.run();
