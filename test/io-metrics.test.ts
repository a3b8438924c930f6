/**
 * lib/io/metrics.ts: appending, reading with a torn last line (every possible cut of the last
 * append), repair on open, truncation to a step for resume, and corruption in the middle.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { MetricsLog, readMetrics, truncateMetrics } from '../lib/io/metrics';
import { assertThrows } from './helpers/assert';
import { rng } from './helpers/random';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-io-m-'));
let n = 0;
const fresh = () => path.join(tmp, `m${n++}.jsonl`);

const test = suite('metrics log');

test('append then read: one JSON object per line, in order', async () => {
  const r = rng();
  const p = fresh();
  const log = MetricsLog.open(p);
  const want = Array.from({ length: 20 }, (_, i) => ({ step: i * 10, loss: r.uniform(2, 11), lr: 6e-4, note: i === 3 ? 'ünï "q"\n' : undefined }));
  for (const e of want) log.append(e);
  log.sync();
  log.close();
  log.close(); // idempotent
  const text = fs.readFileSync(p, 'utf8');
  assert.is(text.split('\n').length, 21, 'one line per entry and a final newline');
  const got = readMetrics(p);
  assert.is(got.tornTail, null);
  assert.equal(got.entries, want.map((e) => JSON.parse(JSON.stringify(e))));
  await assertThrows(() => log.append({ step: 1 }), 'closed');
});

test('NaN loss is logged as null (a visible gap), not a crash', () => {
  const p = fresh();
  const log = MetricsLog.open(p);
  log.append({ step: 1, loss: NaN });
  log.close();
  assert.equal(readMetrics(p).entries, [{ step: 1, loss: null }]);
});

test('every cut of the last append: the reader drops only the torn line; open repairs it', () => {
  const p = fresh();
  const base = [{ step: 1, loss: 3.5 }, { step: 2, loss: 3.25 }];
  const last = JSON.stringify({ step: 3, loss: 3.125, lr: 0.001 }) + '\n';
  const head = base.map((e) => JSON.stringify(e) + '\n').join('');
  for (let cut = 0; cut <= last.length; cut++) {
    fs.writeFileSync(p, head + last.slice(0, cut));
    const { entries, tornTail } = readMetrics(p);
    // Only the whole object (with or without its newline) counts as an entry.
    const whole = cut >= last.length - 1;
    assert.equal(entries.map((e) => e.step), whole ? [1, 2, 3] : [1, 2], `cut ${cut}`);
    assert.is(tornTail, whole || cut === 0 ? null : last.slice(0, cut), `cut ${cut}: torn tail`);
    // Opening for append repairs the file so the next entry is a line of its own.
    const log = MetricsLog.open(p);
    log.append({ step: 4, loss: 3 });
    log.close();
    const after = readMetrics(p);
    assert.equal(after.entries.map((e) => e.step), whole ? [1, 2, 3, 4] : [1, 2, 4], `cut ${cut}: after repair`);
    assert.is(after.tornTail, null);
  }
});

test('truncateMetrics keeps step <= N byte for byte, drops the torn tail, is atomic', () => {
  const p = fresh();
  const lines = [0, 10, 20, 30, 40].map((s) => JSON.stringify({ step: s, loss: 10 - s / 10 }) + '\n');
  fs.writeFileSync(p, lines.join('') + '{"step":50,"lo');
  assert.is(truncateMetrics(p, 20), 3);
  assert.is(fs.readFileSync(p, 'utf8'), lines.slice(0, 3).join(''));
  assert.equal(fs.readdirSync(tmp).filter((x) => x.includes('.tmp-')), []);
  // Nothing to drop: file unchanged (same inode, no rewrite).
  const ino = fs.statSync(p).ino;
  assert.is(truncateMetrics(p, 1000), 3);
  assert.is(fs.statSync(p).ino, ino);
  assert.is(truncateMetrics(p, -1), 0);
  assert.is(fs.readFileSync(p, 'utf8'), '');
  assert.is(truncateMetrics(path.join(tmp, 'none.jsonl'), 5), 0);
  assert.not.ok(fs.existsSync(path.join(tmp, 'none.jsonl')));
});

test('resume: open with keepUpToStep, then the log has each step once', () => {
  const p = fresh();
  let log = MetricsLog.open(p);
  for (let s = 1; s <= 7; s++) log.append({ step: s, loss: 1 / s });
  log.close();
  // Checkpoint was at step 5; steps 6, 7 are re-run.
  log = MetricsLog.open(p, { keepUpToStep: 5 });
  for (let s = 6; s <= 9; s++) log.append({ step: s, loss: 1 / s });
  log.close();
  assert.equal(readMetrics(p).entries.map((e) => e.step), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test('corruption in the middle is an error naming file and line; bad entries are refused', async () => {
  const p = fresh();
  fs.writeFileSync(p, '{"step":1}\nnot json\n{"step":3}\n');
  await assertThrows(() => readMetrics(p), 'readMetrics', p, 'line 2', 'not valid JSON');
  fs.writeFileSync(p, '{"step":1}\n{"loss":2}\n');
  await assertThrows(() => readMetrics(p), 'line 2', 'integer step');
  const log = MetricsLog.open(fresh());
  await assertThrows(() => log.append({ step: 1.5 }), 'MetricsLog.append', 'entry.step', '1.5');
  await assertThrows(() => log.append(null as unknown as { step: number }), 'entry', 'null');
  const cyc: { step: number; self?: unknown } = { step: 1 };
  cyc.self = cyc;
  await assertThrows(() => log.append(cyc), 'JSON-serialisable');
  log.close();
  assert.equal(readMetrics(path.join(tmp, 'missing.jsonl')), { entries: [], tornTail: null });
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
