/**
 * Sequence classification on a pretrained body: one or more heads (Linear C → classes) over one
 * pooled hidden state per sequence — the [CLS] position of a BERT-style encoder, the last real token
 * of a GPT or of a GLM encoder (whose input ends in [MASK], as a blank it fills) — plus, for
 * multi-task training, the body's own LM objective beside them. The body may be frozen (trained
 * heads only: the body runs without a tape).
 *
 * Parameters: the body's, under their own names, then head.<task>.weight / .bias.
 */
import { noGrad } from '../autograd';
import { argError, describe, GlmError } from '../errors';
import { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { createParameters, linearSpecs, ParamSpec } from '../nn/params';
import { loadParameters } from '../nn/stateDict';
import type { ParamGroup } from '../optim/params';
import { Tensor } from '../tensor';
import { decayGroups, Encoder } from './encoder';
import { GPT } from './gpt';
import { INIT_STD } from './gptParams';
import { gatherRows } from './rows';

/** The pretrained body of a classifier. */
export type ClassifierBody = GPT | Encoder;

/** One classification task: its name and its class labels (index = class id). */
export interface ClassificationTask {
  name: string;
  labels: readonly string[];
}

/** Where a head reads the sequence: the first position ([CLS]) or the last real token. */
export type Pooling = 'first' | 'last';

/** A batch of classifier inputs: token ids right-padded to a common T, and each row's real length. */
export interface ClassifierInput {
  /** i32 [B, T]. */
  idx: Tensor;
  /** Real tokens per row (1..T). */
  lengths: readonly number[];
}

/** Options of a classifier pass. */
export interface ClassifierPassOptions {
  training?: boolean;
  dropoutSeed?: number;
  autocast?: 'bf16';
}

const TASK_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/** The pooling a body's pretraining taught: [CLS] for BERT, the last token for GPT and GLM. */
export function poolingOf(body: ClassifierBody): Pooling {
  return body instanceof Encoder && body.config.arch === 'bert' ? 'first' : 'last';
}

/** The spec table of the heads (N(0, 0.02²) weights that decay, zero biases). */
export function headSpecs(tasks: readonly ClassificationTask[], width: number): ParamSpec[] {
  return tasks.flatMap((t) => linearSpecs(`head.${t.name}`, width, t.labels.length, INIT_STD, true));
}

/** The heads, a module of their own so that their parameters read head.<task>.weight. */
class HeadSet extends Module {
  add(name: string, head: Linear): Linear {
    return this.registerModule(name, head);
  }
}

/** A body with classification heads. */
export class SequenceClassifier extends Module {
  readonly body: ClassifierBody;
  readonly tasks: readonly ClassificationTask[];
  readonly heads: ReadonlyMap<string, Linear>;
  readonly pooling: Pooling;
  readonly specs: readonly ParamSpec[];
  private readonly headModule: HeadSet;

  constructor(body: ClassifierBody, tasks: readonly ClassificationTask[], opts: { seed?: number } = {}) {
    super();
    const op = 'SequenceClassifier';
    if (!(body instanceof GPT) && !(body instanceof Encoder)) throw argError(op, 'body', 'a GPT or an Encoder', describe(body));
    if (!Array.isArray(tasks) || tasks.length === 0) throw argError(op, 'tasks', 'a non-empty array of { name, labels }', describe(tasks));
    const names = new Set<string>();
    tasks.forEach((t, i) => {
      if (t === null || typeof t !== 'object' || typeof t.name !== 'string' || !TASK_NAME.test(t.name))
        throw argError(op, `tasks[${i}].name`, 'a name of letters, digits, _ and - (starting with a letter)', describe(t?.name));
      if (names.has(t.name)) throw argError(op, `tasks[${i}].name`, 'a name used once', `"${t.name}" twice`);
      names.add(t.name);
      if (!Array.isArray(t.labels) || t.labels.length < 2 || new Set(t.labels).size !== t.labels.length || (t.labels as unknown[]).some((l) => typeof l !== 'string'))
        throw argError(op, `tasks[${i}].labels`, 'at least two distinct string labels', describe(t.labels));
    });
    this.body = body;
    this.tasks = Object.freeze(tasks.map((t) => Object.freeze({ name: t.name, labels: Object.freeze([...t.labels]) })));
    this.pooling = poolingOf(body);
    const C = body.config.nEmbd;
    const specs = headSpecs(this.tasks, C);
    const params = createParameters(specs, { seed: opts.seed ?? 0, device: body.device });
    const heads = new Map<string, Linear>();
    this.headModule = new HeadSet();
    for (const t of this.tasks)
      heads.set(t.name, this.headModule.add(t.name, new Linear(params.get(`head.${t.name}.weight`)!, params.get(`head.${t.name}.bias`)!)));
    this.heads = heads;
    this.specs = Object.freeze([...body.specs, ...specs]);
  }

  override namedParameters(prefix = ''): [string, Tensor][] {
    return [...this.body.namedParameters(prefix), ...this.headModule.namedParameters(`${prefix}head.`)];
  }

  /** The heads' parameters only (what a frozen-body fine-tune trains). */
  headParameters(): [string, Tensor][] {
    return this.headModule.namedParameters('head.');
  }

  /**
   * The pooled hidden state per row, [B, C]: the body's final hidden states at position 0 ('first')
   * or at each row's last real token ('last'). With `frozen`, the body runs without a tape.
   */
  pooled(input: ClassifierInput, opts: ClassifierPassOptions & { frozen?: boolean } = {}): { pooled: Tensor; hidden: Tensor } {
    const op = 'SequenceClassifier.pooled';
    const { idx, lengths } = input;
    if (!(idx instanceof Tensor) || idx.rank !== 2) throw argError(op, 'input.idx', 'an i32 Tensor [B, T]', describe(idx));
    const [B, T] = idx.shape;
    if (!Array.isArray(lengths) || lengths.length !== B) throw argError(op, 'input.lengths', `an array of ${B} lengths`, describe(lengths));
    lengths.forEach((n, b) => {
      if (!Number.isInteger(n) || n < 1 || n > T) throw argError(op, `input.lengths[${b}]`, `an integer in [1, ${T}]`, describe(n));
    });
    const { frozen, ...pass } = opts;
    const run = (): Tensor => {
      if (this.body instanceof GPT) return this.body.hidden(idx, pass);
      const keyLengths = Tensor.from(Int32Array.from(lengths), [B], { dtype: 'i32', device: idx.device });
      const mask = this.body.config.arch === 'bert' ? 'none' as const : { prefix: T };
      const h = this.body.hidden({ idx, keyLengths, mask }, pass);
      keyLengths.dispose();
      return h;
    };
    const hidden = frozen ? noGrad(run) : run();
    const rows = Int32Array.from(lengths, (n, b) => b * T + (this.pooling === 'first' ? 0 : n - 1));
    return { pooled: gatherRows(hidden, rows), hidden };
  }

  /** The logits [B, classes] of every head, by task name. */
  logits(input: ClassifierInput, opts: ClassifierPassOptions & { frozen?: boolean } = {}): Record<string, Tensor> {
    const { pooled } = this.pooled(input, opts);
    return this.headLogits(pooled);
  }

  /** The heads over pooled states [B, C]. */
  headLogits(pooled: Tensor): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const [name, head] of this.heads) out[name] = head.forward(pooled);
    return out;
  }

  /** AdamW groups: the body's (unless frozen) and the heads', decayed by the spec table's rule. */
  parameterGroups(weightDecay?: number, frozen = false): ParamGroup[] {
    const named = frozen ? this.headParameters() : this.namedParameters();
    return decayGroups(named, this.specs, weightDecay);
  }

  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  loadStateDict(stateDict: Record<string, Tensor>): void {
    loadParameters('SequenceClassifier.loadStateDict', new Map(this.namedParameters()), stateDict,
      `${this.body.describeConfig()} with heads ${this.tasks.map((t) => t.name).join(', ')}`);
  }

  /** The class ids of `task` for label strings (an unknown label is an error naming it). */
  classIds(task: string, labels: readonly string[]): Int32Array {
    const t = this.tasks.find((x) => x.name === task);
    if (!t) throw new GlmError('SequenceClassifier', `unknown task "${task}"; the heads are ${this.tasks.map((x) => x.name).join(', ')}`);
    const index = new Map(t.labels.map((l, i) => [l, i]));
    return Int32Array.from(labels, (l) => {
      const id = index.get(l);
      if (id === undefined) throw new GlmError('SequenceClassifier', `unknown label "${l}" for task ${task}; it knows ${t.labels.join(', ')}`);
      return id;
    });
  }

  override dispose(): void {
    this.body.dispose();
    this.headModule.dispose();
  }
}
