/**
 * `glm generate` and `glm chat` in child processes against a tiny run trained here (20 steps): the
 * streamed output equals the library's greedy generateText on the same run, chat answers each line
 * of stdin, --logit-bias / --ban give what the library gives with that logitBias, and bad input
 * exits non-zero with a message. Flag parsing (--logit-bias, --ban) is also checked in-process. Until lib/cli/index.ts registers the commands,
 * the child builds a glm program with registerGenerateCommands itself.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

import { suite } from 'uvu';
import * as assert from 'uvu/assert';

import { Command } from 'commander';

import { addSamplingOptions, banIds, GenerateCliOptions, logitBiasOption, toGenerateOptions, withBans } from '../lib/cli/generate';
import { buildCli } from '../lib/cli/index';
import { CharTokenizer } from '../lib/tokenizer';
import { assertThrows } from './helpers/assert';
import { generateText } from '../lib/generate';
import { loadRunModel } from '../lib/train/evaluate';
import { train } from '../lib/train/run';
import { runPath } from '../lib/train/runDir';
import { loadRunTokenizer } from '../lib/train/tokenizerSetup';

const test = suite('glm generate / chat (processes)');
const root = path.join(__dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'glm-generate-'));
const corpus = path.join(tmp, 'corpus.txt');
const dir = path.join(tmp, 'run');
fs.writeFileSync(corpus, Array.from({ length: 400 }, (_, i) => `line ${i % 17} of a small corpus, with words ${(i * 7) % 13}.`).join('\n'));

const integrated = buildCli().commands.some((c) => c.name() === 'generate');
const entry = integrated
  ? [path.join(root, 'lib/cli/index.ts')]
  : ['-e', `const { Command } = require('commander');
const { registerGenerateCommands } = require(${JSON.stringify(path.join(root, 'lib/cli/generate.ts'))});
const { GlmError } = require(${JSON.stringify(path.join(root, 'lib/errors.ts'))});
const p = new Command().name('glm');
registerGenerateCommands(p);
p.parseAsync(process.argv.slice(1), { from: 'user' }).catch((e) => { console.error('glm: ' + e.message); process.exit(e instanceof GlmError ? 2 : 1); });`];

function glm(args: string[], input?: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...entry, ...args], { cwd: root, encoding: 'utf8', timeout: 30_000, input });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test.before(async () => {
  await train({
    out: dir, files: [corpus], model: { nLayer: 1, nEmbd: 32, nHead: 2, blockSize: 32 },
    train: { steps: 20, batchSize: 4, evalInterval: 20, evalIters: 1, sampleTokens: 0, warmupSteps: 2 },
  });
});

test.after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** What the library gives for `prompt` on the trained run, greedy. */
async function expected(prompt: string, maxTokens: number, extra: Record<string, unknown> = {}): Promise<string> {
  const { model } = loadRunModel(dir, 'cpu');
  try {
    return await generateText(model, loadRunTokenizer(runPath(dir, 'tokenizer')), prompt, { temperature: 0, maxTokens, ...extra });
  } finally {
    model.dispose();
  }
}

test(`glm generate streams the greedy continuation (${integrated ? 'lib/cli/index.ts' : 'registerGenerateCommands'})`, async () => {
  const r = glm(['generate', dir, '--prompt', 'line 3 of', '--max-tokens', '24', '--temperature', '0']);
  assert.is(r.status, 0, r.stderr);
  const want = await expected('line 3 of', 24);
  assert.ok(want.length > 0);
  assert.is(r.stdout, want + '\n');
  const stopped = glm(['generate', dir, '--prompt', 'line 3 of', '--max-tokens', '24', '--temperature', '0', '--stop', want.slice(5, 7), '--stop', '@@']);
  assert.is(stopped.status, 0, stopped.stderr);
  assert.is(stopped.stdout, (await expected('line 3 of', 24, { stop: [want.slice(5, 7), '@@'] })) + '\n');
  assert.ok(stopped.stdout.length < r.stdout.length, '--stop cuts the output');
});

test('glm chat answers each line of stdin', async () => {
  const r = glm(['chat', dir, '--max-tokens', '12', '--temperature', '0'], 'line 1\n\nwith words\n');
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout, `${await expected('line 1', 12)}\n${await expected('with words', 12)}\n`);
});

test('bad input exits 2 with a message', () => {
  const topP = glm(['generate', dir, '--prompt', 'x', '--top-p', '2']);
  assert.is(topP.status, 2);
  assert.match(topP.stderr, /opts\.topP.*\(0, 1\].*2/);
  const missing = glm(['generate', path.join(tmp, 'nothing'), '--prompt', 'x']);
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /holds no checkpoint/);
  const noPrompt = glm(['generate', dir]);
  assert.is(noPrompt.status, 2);
  assert.match(noPrompt.stderr, /--prompt/);
});

test('--logit-bias and --ban give what the library gives with that logitBias', async () => {
  const want = await expected('line 3 of', 24);
  const tokenizer = loadRunTokenizer(runPath(dir, 'tokenizer'));
  // Ban the first two characters' tokens of the greedy output, and push one other token down.
  const ban = want.slice(0, 2);
  const ids = banIds(tokenizer, [ban]);
  const other = (tokenizer.encode(want.slice(2))[0] + 1) % tokenizer.vocabSize;
  const r = glm(['generate', dir, '--prompt', 'line 3 of', '--max-tokens', '24', '--temperature', '0', '--ban', ban, '--logit-bias', `${other}=-3.5`]);
  assert.is(r.status, 0, r.stderr);
  const logitBias = new Map<number, number>([[other, -3.5], ...ids.map((id) => [id, -Infinity] as [number, number])]);
  assert.is(r.stdout, (await expected('line 3 of', 24, { logitBias })) + '\n');
  assert.is.not(r.stdout, want + '\n', 'the ban changed the output');
  const bad = glm(['generate', dir, '--prompt', 'x', '--logit-bias', '5:1']);
  assert.ok(bad.status !== 0);
  assert.match(bad.stderr, /--logit-bias.*ID=VALUE.*"5:1"/);
  const far = glm(['generate', dir, '--prompt', 'x', '--logit-bias', '99999=1']);
  assert.is(far.status, 2);
  assert.match(far.stderr, /opts\.logitBias\[99999\].*token id/);
});

test('flag parsing: --logit-bias ID=VALUE (repeatable, -inf bans), --ban TEXT', async () => {
  const cmd = addSamplingOptions(new Command('generate').exitOverride().configureOutput({ writeErr: () => {} }));
  cmd.parse(['--logit-bias', '5=2.5', '--logit-bias', ' 7 = -inf', '--logit-bias', '5=-100', '--logit-bias', '9=-Infinity', '--ban', 'ab', '--ban', '<|endoftext|>'], { from: 'user' });
  const o = cmd.opts<GenerateCliOptions>();
  assert.equal(o.logitBias, [[5, 2.5], [7, -Infinity], [5, -100], [9, -Infinity]]);
  assert.equal(o.ban, ['ab', '<|endoftext|>']);
  const g = toGenerateOptions(o);
  assert.equal([...(g.logitBias as Map<number, number>)], [[5, -100], [7, -Infinity], [9, -Infinity]], 'a later value of an id wins');
  assert.is(toGenerateOptions({}).logitBias, undefined);
  for (const v of ['5', '=1', 'a=1', '5=x', '5=', '-1=2', '5=inf', '5=1=2'])
    assert.throws(() => logitBiasOption(v), (e: Error) => /ID=VALUE/.test(e.message), v);
  const tok = CharTokenizer.fromCorpus('abc');
  const eos = tok.specialId('eos')!;
  const ids = banIds(tok, ['ab', 'ba', '<|endoftext|>']);
  assert.equal(ids, [...tok.encode('ab'), eos], 'each id once; a special-token string gives its id');
  const banned = withBans({ temperature: 0, logitBias: new Map([[ids[0], 4], [42, 1]]) }, tok, ['a']);
  assert.equal([...(banned.logitBias as Map<number, number>)], [[ids[0], -Infinity], [42, 1]], '--ban wins over --logit-bias');
  assert.is(banned.temperature, 0);
  const plain = { temperature: 1 };
  assert.is(withBans(plain, tok, undefined), plain);
  await assertThrows(() => banIds(tok, ['']), "'--ban'", 'non-empty');
});

test.run();
