/**
 * `glm train` and `glm eval` as a user runs them, in child processes: kill -9 at random moments never
 * loses the checkpoint, SIGTERM writes one and exits cleanly, the checkpoint recovery handles every
 * crash point of a commit, and bad input gives a clear message and exit code 2 with nothing written.
 */
import { spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { readSafetensorsHeader } from '../lib/io/safetensors';
import { commitCheckpoint, recoverCheckpoint, stagedPath } from '../lib/train/checkpoint';
import { loadRunModel } from '../lib/train/evaluate';

const test = suite('glm train (processes)');
const root = path.join(__dirname, '..');
const cli = [process.execPath, '--import', 'tsx', path.join(root, 'lib/cli/index.ts')];
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-cli-'));
const corpus = path.join(tmp, 'corpus.txt');
fs.writeFileSync(corpus, Array.from({ length: 3000 }, (_, i) => `line ${i % 97} of a small corpus, with words ${(i * 7) % 13}.`).join('\n'));
const trainArgs = (out: string, steps: number) => ['train', corpus, '--out', out, '--steps', String(steps), '--layers', '1', '--embd', '32', '--heads', '2',
  '--block', '32', '--batch', '4', '--eval-interval', '2', '--eval-iters', '1', '--sample-tokens', '4'];

function run(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(cli[0], [...cli.slice(1), ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** Step recorded by each file of the checkpoint; they must agree. */
function checkpointSteps(dir: string): { state: number; model: number; optimizer: number } {
  const state = JSON.parse(fs.readFileSync(path.join(dir, 'state.json'), 'utf8')).step;
  const meta = (f: string) => Number(readSafetensorsHeader(path.join(dir, f)).metadata.step);
  return { state, model: meta('model.safetensors'), optimizer: meta('optimizer.safetensors') };
}

function startTraining(out: string, extra: string[] = []) {
  const child = spawn(cli[0], [...cli.slice(1), ...trainArgs(out, 100000), ...extra], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? -1 : null))));
  return { child, exited, output: () => output };
}

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > ms) assert.unreachable(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('kill -9 at random moments: the checkpoint always loads, its files agree, and --resume continues', async () => {
  const out = path.join(tmp, 'killed');
  let lastStep = 0;
  for (let round = 0; round < 3; round++) {
    const { child, exited, output } = startTraining(out, round > 0 ? ['--resume'] : []);
    // Wait for training to be under way past the last checkpoint, then kill at a random moment.
    await waitFor(() => new RegExp(`step (\\d+): val loss`).test(output()) && fs.existsSync(path.join(out, 'state.json')), 45_000, 'a first checkpoint');
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 600));
    child.kill('SIGKILL');
    await exited;
    recoverCheckpoint(out);
    const steps = checkpointSteps(out);
    assert.is(steps.model, steps.state, `round ${round}: model.safetensors is from the state's step`);
    assert.is(steps.optimizer, steps.state, `round ${round}: optimizer.safetensors is from the state's step`);
    assert.ok(steps.state >= lastStep, `round ${round}: the checkpoint never goes back (${steps.state} after ${lastStep})`);
    lastStep = steps.state;
    const { model } = loadRunModel(out, 'cpu');
    model.dispose();
    assert.is(fs.readdirSync(out).filter((f) => f.includes('.tmp-') || f.endsWith('.next')).length, 0, 'no temp or staged files after recovery');
  }
});

test('SIGTERM finishes the step, writes a checkpoint and exits 143; a second run needs --resume', async () => {
  const out = path.join(tmp, 'terminated');
  const { child, exited, output } = startTraining(out);
  await waitFor(() => /step \d+: val loss/.test(output()) && fs.existsSync(path.join(out, 'state.json')), 45_000, 'training to start');
  child.kill('SIGTERM');
  const code = await exited;
  assert.is(code, 143, output());
  const m = /stopped at step (\d+)/.exec(output());
  assert.ok(m, `says where it stopped: ${output().slice(-400)}`);
  const steps = checkpointSteps(out);
  assert.is(steps.state, Number(m![1]), 'the checkpoint is of the step it stopped at');
  assert.is(steps.model, steps.state);
  const again = run(trainArgs(out, 100000));
  assert.is(again.status, 2, again.out);
  assert.match(again.out, /already holds a run; pass --resume/);
});

test('a crash at any point of a checkpoint commit leaves exactly the old or the new checkpoint', () => {
  const dir = path.join(tmp, 'commit');
  fs.mkdirSync(dir);
  const files = ['a.bin', 'b.bin', 'state.json'];
  const write = (tag: string) => Object.fromEntries(files.map((f) => [f, (p: string) => fs.writeFileSync(p, `${tag}:${f}`)]));
  commitCheckpoint(dir, 1, write('old'));
  const contents = () => files.map((f) => fs.readFileSync(path.join(dir, f), 'utf8').split(':')[0]);
  assert.equal(contents(), ['old', 'old', 'old']);
  // Crash while staging: some .next files written, no commit record -> roll back to old.
  for (let staged = 0; staged <= files.length; staged++) {
    for (let i = 0; i < staged; i++) fs.writeFileSync(stagedPath(path.join(dir, files[i])), `new:${files[i]}`);
    assert.is(recoverCheckpoint(dir), staged > 0 ? 'rolled-back' : 'clean');
    assert.equal(contents(), ['old', 'old', 'old'], `crash after staging ${staged} file(s)`);
  }
  // Crash after the commit record, with 0..3 files already renamed -> roll forward to new.
  for (let renamed = 0; renamed <= files.length; renamed++) {
    commitCheckpoint(dir, 1, write('old'));
    for (const f of files) fs.writeFileSync(stagedPath(path.join(dir, f)), `new:${f}`);
    fs.writeFileSync(path.join(dir, 'checkpoint.commit'), JSON.stringify({ step: 2, files }));
    for (let i = 0; i < renamed; i++) fs.renameSync(stagedPath(path.join(dir, files[i])), path.join(dir, files[i]));
    assert.is(recoverCheckpoint(dir), 'rolled-forward');
    assert.equal(contents(), ['new', 'new', 'new'], `crash after renaming ${renamed} file(s)`);
    assert.not.ok(fs.existsSync(path.join(dir, 'checkpoint.commit')));
  }
});

test('bad input exits 2 with a message naming the problem, and writes nothing', () => {
  const empty = path.join(tmp, 'empty.txt');
  fs.writeFileSync(empty, '');
  const binary = path.join(tmp, 'garbage.bin');
  fs.writeFileSync(binary, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 131 + 7) % 256)));
  const cases: [string[], RegExp][] = [
    [['train', path.join(tmp, 'missing.txt'), '--out', path.join(tmp, 'o1')], /missing\.txt/],
    [['train', empty, '--out', path.join(tmp, 'o2')], /empty/],
    [['train', binary, '--out', path.join(tmp, 'o3')], /garbage\.bin/],
    [['train', corpus, '--out', path.join(tmp, 'o4'), '--preset', 'huge'], /unknown preset "huge"/],
    [['train', corpus, '--out', path.join(tmp, 'o5'), '--tokenizer', 'words'], /--tokenizer/],
  ];
  for (const [args, re] of cases) {
    const r = run(args);
    assert.is(r.status, 2, `${args.join(' ')}: exit code (output: ${r.out})`);
    assert.match(r.out, re);
    assert.not.ok(fs.existsSync(path.join(args[args.indexOf('--out') + 1], 'state.json')), 'no checkpoint written');
  }
  const r = run(['train', corpus, '--out', path.join(tmp, 'o6'), '--steps', 'ten']);
  assert.is.not(r.status, 0);
  assert.match(r.out, /expected an integer for --steps, got "ten"/);
  const e = run(['eval', path.join(tmp, 'nowhere')]);
  assert.is(e.status, 2, e.out);
  assert.match(e.out, /holds no checkpoint/);
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));
test.run();
