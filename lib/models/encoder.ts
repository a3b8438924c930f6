/**
 * Encoder: the bidirectional half of the GLM family, on the same pre-LayerNorm blocks as GPT.
 *  - arch 'bert': token + position + segment embeddings, attention over every real token (mask
 *    'none', right padding cut by key lengths), a masked-LM head tied to wte and an NSP head on the
 *    [CLS] position; pretrained with mlmNspLoss.
 *  - arch 'glm' (Du et al., 2022): token + 2D position embeddings (position in Part A, position
 *    inside a span), the prefix mask (Part A sees all of Part A; Part B causally after it) and the
 *    tied LM head; pretrained with glmLoss on the spans of Part B.
 * Batches come from lib/data/objectives. Classification heads live outside (classifier.ts).
 *
 * Shapes: B batch, T sequence (<= blockSize), C = nEmbd, V = vocabSize.
 */
import { argError, describe, GlmError } from '../errors';
import type { Block } from '../nn/block';
import { ForwardContext } from '../nn/context';
import { Embedding } from '../nn/embedding';
import type { LayerNorm } from '../nn/layerNorm';
import type { Linear } from '../nn/linear';
import { Module } from '../nn/module';
import { createParameters, numelOf, parameterSeed, ParamSpec } from '../nn/params';
import { loadParameters } from '../nn/stateDict';
import type { AttentionMask } from '../ops/attention';
import { softmaxCrossEntropy } from '../ops/crossEntropy';
import { add, scale } from '../ops/elementwise';
import { matmul } from '../ops/matmul';
import type { ParamGroup } from '../optim/params';
import { Random } from '../random';
import { Tensor } from '../tensor';
import { encoderConfig, EncoderConfig, EncoderPresetName, validateEncoderConfig } from './encoderConfig';
import { checkParameterNames, ModuleFactory } from './build';
import { encoderParameterSpecs } from './encoderParams';
import { gatherRows } from './rows';

export { ENCODER_PRESETS, encoderConfig, validateEncoderConfig } from './encoderConfig';
export type { EncoderArch, EncoderConfig, EncoderPresetName } from './encoderConfig';
export { encoderParameterCount, encoderParameterSpecs } from './encoderParams';

/** The inputs of one pass: token ids and, per architecture, their positions, segments and mask. */
export interface EncoderInput {
  /** i32 [B, T] token ids. */
  idx: Tensor;
  /** i32 [B, T] position ids (GLM: the position in Part A); default 0..T-1 in every row. */
  positions?: Tensor | null;
  /** i32 [B, T] segment ids in {0, 1} (bert only); default all 0. */
  segments?: Tensor | null;
  /** i32 [B, T] positions inside a span, 0 in Part A (glm only); default all 0. */
  blockPositions?: Tensor | null;
  /** Default: 'none' for bert, { prefix: T } (all bidirectional) for glm. */
  mask?: AttentionMask;
  /** i32 [B]: the real length of each right-padded row. */
  keyLengths?: Tensor | null;
}

/** Options of a pass. */
export interface EncoderPassOptions {
  /** Training mode: residual dropout with the config's probability (default false). */
  training?: boolean;
  /** Seed of this pass's dropout masks (absent: drawn from the model's own stream). */
  dropoutSeed?: number;
  /** 'bf16': matmuls and attention in bf16 from the f32 master weights. */
  autocast?: 'bf16';
}

/** A masked-LM + NSP batch (see lib/data/objectives: maskTokens, buildNspBatch). */
export interface MlmNspBatch {
  /** i32 [B, T]: [CLS] A [SEP] B [SEP] [PAD]..., with masked-LM corruption applied. */
  idx: Tensor;
  /** i32 [B, T]: 0 for [CLS] A [SEP], 1 for B [SEP]. */
  segments: Tensor;
  /** i32 [B]: real tokens per row. */
  keyLengths: Tensor;
  /** The flat positions b·T + t of the selected tokens (host side: only these rows go through the LM head). */
  mlmRows: Int32Array;
  /** i32 [mlmRows.length]: the original token at each selected position. */
  mlmTargets: Tensor;
  /** i32 [B]: 1 when B truly follows A. */
  nspLabels: Tensor;
}

/** A GLM batch (see lib/data/objectives: buildGlmBatch): Part A then Part B, one prefix length for all rows. */
export interface GlmBatch {
  /** i32 [B, L]. */
  idx: Tensor;
  /** i32 [B, L]: position in Part A (a span's tokens take its [MASK]'s position). */
  positions: Tensor;
  /** i32 [B, L]: 0 in Part A, 1.. inside each span. */
  blockPositions: Tensor;
  /** i32 [B, L - prefixLength]: for each Part B position, the span's next token (its last: the end token). */
  targets: Tensor;
  /** |Part A|, the same in every row. */
  prefixLength: number;
}

/** The losses of an MLM + NSP pass: their sum (what backward runs on) and each alone. */
export interface MlmNspLoss {
  loss: Tensor;
  mlm: Tensor;
  nsp: Tensor;
}

/** Options of the {@link Encoder} constructor. */
export interface EncoderOptions {
  seed?: number;
  device?: string;
}

const PASS_KEYS = ['training', 'dropoutSeed', 'autocast'];

/** A BERT-style or GLM encoder holding its parameters (f32 master weights) on one device. */
export class Encoder extends Module {
  readonly config: Readonly<EncoderConfig>;
  readonly device: string;
  readonly seed: number;
  readonly specs: readonly ParamSpec[];
  readonly wte: Embedding;
  readonly wpe: Embedding;
  /** bert: the segment table [2, C]; null for glm. */
  readonly wse: Embedding | null;
  /** glm: the block-position table [blockSize, C]; null for bert. */
  readonly wbe: Embedding | null;
  readonly h: readonly Block[];
  readonly ln_f: LayerNorm;
  /** bert: the next-sentence head C → 2 on [CLS]; null for glm. */
  readonly nsp: Linear | null;
  private readonly dropoutSeeds: Random;

  constructor(config: EncoderConfig, opts: EncoderOptions = {}) {
    super();
    const op = 'Encoder';
    this.config = validateEncoderConfig(config, op);
    if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
    this.seed = opts.seed ?? 0;
    this.specs = Object.freeze(encoderParameterSpecs(this.config));
    const make = new ModuleFactory(createParameters(this.specs, { seed: this.seed, device: opts.device ?? 'cpu' }));
    this.device = make.tensor('wte.weight').device;
    this.dropoutSeeds = new Random(parameterSeed(this.seed, '#dropout'));
    const { nLayer, nHead, arch } = this.config;
    this.wte = this.registerModule('wte', make.embedding('wte'));
    this.wpe = this.registerModule('wpe', make.embedding('wpe'));
    this.wse = arch === 'bert' ? this.registerModule('wse', make.embedding('wse')) : null;
    this.wbe = arch === 'glm' ? this.registerModule('wbe', make.embedding('wbe')) : null;
    this.h = Object.freeze(Array.from({ length: nLayer }, (_, i) => this.registerModule(`h.${i}`, make.block(`h.${i}`, nHead))));
    this.ln_f = this.registerModule('ln_f', make.norm('ln_f'));
    this.nsp = arch === 'bert' ? this.registerModule('nsp', make.linear('nsp')) : null;
    checkParameterNames(op, this, this.specs);
  }

  /** A model from a preset with overrides (arch, vocabSize, ...). */
  static fromPreset(name: EncoderPresetName, overrides: Partial<EncoderConfig> = {}, opts: EncoderOptions = {}): Encoder {
    return new Encoder(encoderConfig(name, overrides), opts);
  }

  numParameters(): number {
    return this.specs.reduce((n, s) => n + numelOf(s.shape), 0);
  }

  /** The final hidden states ln_f(blocks(embeddings)), [B, T, C] f32. Differentiable. */
  hidden(input: EncoderInput, opts: EncoderPassOptions = {}): Tensor {
    const op = 'Encoder.hidden';
    const [, T] = this.checkInput(op, input);
    const ctx = this.context(op, opts, input.mask ?? (this.config.arch === 'bert' ? 'none' : { prefix: T }), input.keyLengths ?? null);
    let x = this.embed(input, ctx);
    const dropped = ctx.dropout(x);
    if (dropped !== x) ctx.release([x]);
    x = dropped;
    for (const block of this.h) {
      const next = block.forward(x, ctx);
      ctx.release([x]);
      x = next;
    }
    const h = this.ln_f.forward(x);
    ctx.release([x]);
    return h;
  }

  /** The tied LM head: h [..., C] → logits [..., V] = h·wteᵀ (bf16 under autocast). */
  lmLogits(h: Tensor, opts: { autocast?: 'bf16' } = {}): Tensor {
    const ctx = new ForwardContext({ autocast: opts.autocast });
    const hc = ctx.compute(h);
    const w = ctx.compute(this.wte.weight);
    const logits = matmul(hc, w, { transB: true });
    ctx.release([hc, w], h, this.wte.weight);
    return logits;
  }

  /**
   * Masked-LM + next-sentence prediction (bert): the cross-entropy of the tied head at the selected
   * positions (only those rows go through the head: a sixth of the logits), plus that of the NSP head
   * on [CLS] (position 0); loss = mlm + nsp, as BERT's.
   */
  mlmNspLoss(batch: MlmNspBatch, opts: EncoderPassOptions = {}): MlmNspLoss {
    const op = 'Encoder.mlmNspLoss';
    if (this.config.arch !== 'bert') throw new GlmError(op, `an MLM + NSP loss needs arch 'bert'; this model is '${this.config.arch}'`);
    const [B, T] = this.checkInput(op, { idx: batch.idx, segments: batch.segments, keyLengths: batch.keyLengths });
    const rows = batch.mlmRows;
    if (!(rows instanceof Int32Array) || rows.length < 1 || rows.some((r) => !(r >= 0 && r < B * T)))
      throw argError(op, 'batch.mlmRows', `an Int32Array of one or more positions in [0, ${B * T})`, describe(rows));
    this.checkIds(op, 'batch.mlmTargets', batch.mlmTargets, [rows.length]);
    this.checkIds(op, 'batch.nspLabels', batch.nspLabels, [B]);
    const h = this.hidden({ idx: batch.idx, segments: batch.segments, keyLengths: batch.keyLengths, mask: 'none' }, opts);
    const logits = this.lmLogits(gatherRows(h, rows), opts);        // (N selected, V)
    const mlm = softmaxCrossEntropy(logits, batch.mlmTargets, { inPlace: true });
    const cls = gatherRows(h, Int32Array.from({ length: B }, (_, b) => b * T));  // (B, C)
    const nspLogits = this.nsp!.forward(cls);                       // (B, 2)
    const nsp = softmaxCrossEntropy(nspLogits, batch.nspLabels);
    return { loss: add(mlm, nsp), mlm, nsp };
  }

  /**
   * GLM blank infilling (glm): Part A attends bidirectionally, Part B causally (the prefix mask), and
   * the tied head predicts each span token and its end token; the loss is their mean cross-entropy.
   * Only Part B's rows go through the head.
   */
  glmLoss(batch: GlmBatch, opts: EncoderPassOptions = {}): Tensor {
    const op = 'Encoder.glmLoss';
    if (this.config.arch !== 'glm') throw new GlmError(op, `a GLM loss needs arch 'glm'; this model is '${this.config.arch}'`);
    const [B, L] = this.checkInput(op, { idx: batch.idx, positions: batch.positions, blockPositions: batch.blockPositions });
    const P = batch.prefixLength;
    if (!Number.isInteger(P) || P < 1 || P >= L) throw argError(op, 'batch.prefixLength', `an integer in [1, ${L - 1}] (Part A before Part B)`, describe(P));
    this.checkIds(op, 'batch.targets', batch.targets, [B, L - P]);
    const h = this.hidden({ idx: batch.idx, positions: batch.positions, blockPositions: batch.blockPositions, mask: { prefix: P } }, opts);
    const nB = L - P;
    const rows = Int32Array.from({ length: B * nB }, (_, i) => Math.floor(i / nB) * L + P + (i % nB));
    const hB = gatherRows(h, rows);                                 // (B·|B|, C)
    const logits = this.lmLogits(hB, opts);                         // (B·|B|, V)
    const targets = batch.targets.reshape([B * nB]);
    const loss = softmaxCrossEntropy(logits, targets, { inPlace: true });
    targets.dispose();
    return loss;
  }

  /** Parameter groups for AdamW from the table's decay flags (as GPT.parameterGroups). */
  parameterGroups(weightDecay?: number): ParamGroup[] {
    return decayGroups(this.namedParameters(), this.specs, weightDecay);
  }

  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  loadStateDict(stateDict: Record<string, Tensor>): void {
    loadParameters('Encoder.loadStateDict', new Map(this.namedParameters()), stateDict, this.describeConfig());
  }

  /** "Encoder (glm) 2 layers, 2 heads, 64 wide, vocab 70, block 128" */
  describeConfig(): string {
    const c = this.config;
    return `Encoder (${c.arch}) ${c.nLayer} layers, ${c.nHead} heads, ${c.nEmbd} wide, vocab ${c.vocabSize}, block ${c.blockSize}`;
  }

  /** Token + position (+ segment or block-position) embeddings, [B, T, C]. */
  private embed(input: EncoderInput, ctx: ForwardContext): Tensor {
    const [B, T] = input.idx.shape;
    const ids = (given: Tensor | null | undefined, value: (i: number) => number): [Tensor, boolean] =>
      given ? [given, false] : [Tensor.from(Int32Array.from({ length: B * T }, (_, i) => value(i)), [B, T], { dtype: 'i32', device: this.device }), true];
    const tables: [Embedding, Tensor, boolean][] = [[this.wpe, ...ids(input.positions, (i) => i % T)]];
    if (this.wse) tables.push([this.wse, ...ids(input.segments, () => 0)]);
    if (this.wbe) tables.push([this.wbe, ...ids(input.blockPositions, () => 0)]);
    let x = this.wte.forward(input.idx);
    for (const [table, at, made] of tables) {
      const rows = table.forward(at);
      if (made) at.dispose();  // the lookup's tape keeps its own view
      const sum = add(x, rows);
      ctx.release([x, rows]);
      x = sum;
    }
    return x;
  }

  private checkIds(op: string, name: string, t: unknown, shape: readonly number[]): void {
    const expected = `an i32 Tensor [${shape.join(', ')}] on ${this.device}`;
    if (!(t instanceof Tensor) || t.disposed) throw argError(op, name, expected, describe(t));
    if (t.dtype !== 'i32' || t.shape.join() !== shape.join() || t.device !== this.device) throw argError(op, name, expected, `${t.describe()} on ${t.device}`);
  }

  /** Checks an input's tensors; returns [B, T]. */
  private checkInput(op: string, input: EncoderInput): [number, number] {
    if (input === null || typeof input !== 'object') throw argError(op, 'input', 'an object { idx, ... }', describe(input));
    const idx = input.idx;
    if (!(idx instanceof Tensor) || idx.disposed || idx.dtype !== 'i32' || idx.rank !== 2 || idx.device !== this.device)
      throw argError(op, 'idx', `an i32 Tensor of token ids [B, T] on ${this.device}`, idx instanceof Tensor ? `${idx.describe()} on ${idx.device}` : describe(idx));
    const [B, T] = idx.shape;
    if (T > this.config.blockSize) throw argError(op, 'idx', `a sequence length T <= blockSize (${this.config.blockSize})`, `T = ${T}`);
    for (const key of ['positions', 'segments', 'blockPositions'] as const) {
      const t = input[key];
      if (t !== undefined && t !== null) this.checkIds(op, key, t, [B, T]);
    }
    if (input.segments && this.config.arch !== 'bert') throw argError(op, 'segments', "none (segments are for arch 'bert')", 'a tensor');
    if (input.blockPositions && this.config.arch !== 'glm') throw argError(op, 'blockPositions', "none (block positions are for arch 'glm')", 'a tensor');
    if (input.keyLengths !== undefined && input.keyLengths !== null) this.checkIds(op, 'keyLengths', input.keyLengths, [B]);
    return [B, T];
  }

  private context(op: string, opts: unknown, attentionMask: AttentionMask, keyLengths: Tensor | null): ForwardContext {
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw argError(op, 'opts', 'an options object', describe(opts));
    const o = opts as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!PASS_KEYS.includes(k)) throw argError(op, `opts.${k}`, `one of the options ${PASS_KEYS.join(', ')}`, `unknown option "${k}"`);
    if (o.training !== undefined && typeof o.training !== 'boolean') throw argError(op, 'opts.training', 'a boolean', describe(o.training));
    if (o.autocast !== undefined && o.autocast !== 'bf16') throw argError(op, 'opts.autocast', "'bf16' or undefined", describe(o.autocast));
    let seed = o.dropoutSeed;
    if (seed !== undefined && (typeof seed !== 'number' || !Number.isSafeInteger(seed) || seed < 0))
      throw argError(op, 'opts.dropoutSeed', 'a non-negative safe integer', describe(seed));
    const p = o.training === true ? this.config.dropout : 0;
    if (p > 0 && seed === undefined) seed = this.dropoutSeeds.nextU32();
    return new ForwardContext({ autocast: o.autocast as 'bf16' | undefined, dropout: p, dropoutSeed: seed as number | undefined, attentionMask, keyLengths });
  }
}

/** The AdamW groups of named parameters by their specs' decay flags: decayed matrices, then the rest at 0. */
export function decayGroups(named: [string, Tensor][], specs: readonly ParamSpec[], weightDecay?: number): ParamGroup[] {
  const decay = new Map(specs.map((s) => [s.name, s.decay]));
  const pick = (d: boolean) => named.filter(([n]) => (decay.get(n) ?? false) === d);
  const group = (list: [string, Tensor][]) => ({ params: list.map(([, t]) => t), names: list.map(([n]) => n) });
  return [
    { ...group(pick(true)), ...(weightDecay === undefined ? {} : { weightDecay }) },
    { ...group(pick(false)), weightDecay: 0 },
  ];
}

/** Scales a loss by a task weight (the tensor itself at weight 1). */
export function weighted(loss: Tensor, weight: number): Tensor {
  return weight === 1 ? loss : scale(loss, weight);
}
