/**
 * GPT: a decoder-only transformer after GPT-2 (pre-LayerNorm blocks, GELU MLP, causal fused
 * attention, tied output head logits = ln_f(x)·wteᵀ), with learned, sinusoidal or rotary positions,
 * residual dropout and bf16 autocast. Parameters come from the one table in gptParams.ts; their
 * names are GPT-2's, their layout PyTorch's nn.Linear [out, in] (gptHf.ts converts to and from HF's
 * Conv1D [in, out]). Decoding goes through a KV cache: createCache, then forwardCached (prefill a
 * prompt in one pass, then one token per step; see lib/nn/kvCache.ts).
 *
 * Shapes: B batch, T sequence (<= blockSize), C = nEmbd, V = vocabSize, H heads of D = C / H.
 */
import { noGrad } from '../autograd';
import { argError, describe, GlmError } from '../errors';
import { native } from '../native';
import { Block } from '../nn/block';
import { CastCache, ForwardContext } from '../nn/context';
import { Embedding } from '../nn/embedding';
import { CacheStep, KVCache } from '../nn/kvCache';
import { LayerNorm } from '../nn/layerNorm';
import { Module } from '../nn/module';
import { createParameters, numelOf, parameterSeed, ParamSpec } from '../nn/params';
import { loadParameters } from '../nn/stateDict';
import { add } from '../ops/elementwise';
import { embedding } from '../ops/embedding';
import { matmul } from '../ops/matmul';
import { softmaxCrossEntropy } from '../ops/crossEntropy';
import type { ParamGroup } from '../optim/params';
import { Random } from '../random';
import { keep } from '../scope';
import { Tensor } from '../tensor';
import { gptConfig, GPTConfig, GPTPresetName, validateGptConfig } from './gptConfig';
import { gptParameterSpecs } from './gptParams';
import { checkParameterNames, ModuleFactory } from './build';
import { sinusoidalTable } from './positional';

export { GPT_PRESETS, gptConfig, validateGptConfig } from './gptConfig';
export type { GPTConfig, GPTPresetName, PositionalKind } from './gptConfig';
export { gptParameterCount, gptParameterSpecs } from './gptParams';
export { KVCache } from '../nn/kvCache';

/** Options of the {@link GPT} constructor. */
export interface GPTOptions {
  /** Seed of the initial weights (a non-negative safe integer; default 0). */
  seed?: number;
  /** "cpu" (default), "cuda", "cuda:N". */
  device?: string;
}

/** Options of {@link GPT.forward}. */
export interface GPTForwardOptions {
  /** Training mode: residual dropout with the config's probability. Default false (no dropout). */
  training?: boolean;
  /**
   * Seed of this pass's dropout masks (a non-negative safe integer), e.g. derived from the step and
   * micro-batch, so a resumed run draws the same masks. Absent: the model draws one from its own
   * seeded stream, a new one per training pass.
   */
  dropoutSeed?: number;
  /** 'bf16': matmuls and attention in bf16 from the f32 master weights; LayerNorm, residual stream and loss stay f32. */
  autocast?: 'bf16';
  /** Also return the logits when targets are given (costs a [B, T, V] tensor; default false). */
  logits?: boolean;
}

/** What {@link GPT.forward} returns. */
export interface GPTOutput {
  /** [B, T, V] (bf16 under autocast): when no targets are given, or when asked for. */
  logits?: Tensor;
  /** f32 scalar: the mean cross-entropy over targets that are not -100; when targets are given. */
  loss?: Tensor;
}

const FORWARD_KEYS = ['training', 'dropoutSeed', 'autocast', 'logits'];
const CACHED_KEYS = ['autocast', 'counts', 'last', 'casts'];

/** Options of {@link GPT.createCache}. */
export interface CreateCacheOptions {
  /** 'bf16': the cache holds bf16 keys and values, for forwardCached with autocast 'bf16'. */
  autocast?: 'bf16';
}

/** Options of {@link GPT.forwardCached}. */
export interface ForwardCachedOptions {
  /** Must match the cache: 'bf16' for a cache created with autocast 'bf16'. */
  autocast?: 'bf16';
  /**
   * Per row, how many of the T new tokens are real (1..T; default T): the rest are right padding,
   * neither cached nor counted, so rows of different lengths are prefilled in one pass.
   */
  counts?: readonly number[];
  /** Return only the logits of each row's last real token, [B, V] (default false: [B, T, V]). */
  last?: boolean;
  /**
   * With autocast: bf16 copies of this model's parameters made once (new nn.CastCache(model.parameters())),
   * used instead of casting every weight in every call. Valid while the weights do not change.
   */
  casts?: CastCache;
}

/** A GPT language model holding its parameters (f32 master weights) on one device. */
export class GPT extends Module {
  readonly config: Readonly<GPTConfig>;
  readonly device: string;
  /** The seed the weights were initialised from. */
  readonly seed: number;
  /** The parameter table this model was built from (gptParameterSpecs(config)). */
  readonly specs: readonly ParamSpec[];
  readonly wte: Embedding;
  /** The learned position table; null unless positional is 'learned'. */
  readonly wpe: Embedding | null;
  readonly h: readonly Block[];
  readonly ln_f: LayerNorm;
  /** i32 [blockSize]: 0, 1, 2, ... (views of its start are the position ids of a sequence). */
  private positionIds: Tensor | null = null;
  /** f32 [blockSize, C]: the sinusoidal table, when positional is 'sinusoidal'. */
  private sinusoid: Tensor | null = null;
  private readonly dropoutSeeds: Random;

  /** Builds a model with freshly initialised weights (GPT-2's init, seeded). */
  constructor(config: GPTConfig, opts: GPTOptions = {}) {
    super();
    const op = 'GPT';
    this.config = validateGptConfig(config, op);
    if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
    this.seed = opts.seed ?? 0;
    this.specs = Object.freeze(gptParameterSpecs(this.config));
    const make = new ModuleFactory(createParameters(this.specs, { seed: this.seed, device: opts.device ?? 'cpu' }));
    this.device = make.tensor('wte.weight').device;
    this.dropoutSeeds = new Random(parameterSeed(this.seed, '#dropout'));

    const { nLayer, nHead, positional, ropeBase } = this.config;
    this.wte = this.registerModule('wte', make.embedding('wte'));
    this.wpe = positional === 'learned' ? this.registerModule('wpe', make.embedding('wpe')) : null;
    this.h = Object.freeze(Array.from({ length: nLayer }, (_, i) =>
      this.registerModule(`h.${i}`, make.block(`h.${i}`, nHead, positional === 'rope' ? { ropeBase } : {}))));
    this.ln_f = this.registerModule('ln_f', make.norm('ln_f'));
    checkParameterNames(op, this, this.specs);
  }

  /** A model from a preset (with overrides, e.g. the tokenizer's vocabSize). */
  static fromPreset(name: GPTPresetName, overrides: Partial<GPTConfig> = {}, opts: GPTOptions = {}): GPT {
    return new GPT(gptConfig(name, overrides), opts);
  }

  /** The number of parameters (the tied head counted once). */
  numParameters(): number {
    return this.specs.reduce((n, s) => n + numelOf(s.shape), 0);
  }

  /**
   * Language-model forward. idx: i32 [B, T] token ids with 1 <= T <= blockSize, on the model's
   * device; targets (optional): i32 [B, T], -100 where no loss is wanted. Returns the loss (when
   * targets are given) and the logits [B, T, V] (when no targets are given, or with `logits: true`).
   * Differentiable: `loss.backward()` fills every parameter's .grad (accumulating).
   */
  forward(idx: Tensor, targets?: Tensor | null, opts: GPTForwardOptions = {}): GPTOutput {
    const op = 'GPT.forward';
    this.checkIds(op, 'idx', idx);
    if (targets !== undefined && targets !== null) {
      if (!(targets instanceof Tensor) || targets.disposed) throw argError(op, 'targets', 'an i32 Tensor [B, T]', describe(targets));
      if (targets.dtype !== 'i32' || targets.shape.join() !== idx.shape.join())
        throw argError(op, 'targets', `i32[${idx.shape.join(', ')}] (the shape of idx)`, targets.describe());
      if (targets.device !== this.device) throw argError(op, 'targets', `a tensor on ${this.device}`, `one on ${targets.device}`);
    }
    const ctx = this.context(op, opts);
    const x = this.trunk(idx, ctx);                 // (B, T, C)
    const h = this.ln_f.forward(x);
    ctx.release([x]);
    const logits = this.head(h, ctx);               // (B, T, V)
    ctx.release([h]);
    if (targets === undefined || targets === null) return { logits };
    const wantLogits = opts.logits === true;
    // Without logits to return, the loss writes its gradient over them (saving a [B, T, V] tensor).
    const loss = softmaxCrossEntropy(logits, targets, { inPlace: !wantLogits });
    if (wantLogits) return { logits, loss };
    logits.dispose();  // the loss's tape keeps a view of the memory it needs
    return { loss };
  }

  /**
   * The final hidden states ln_f(blocks(embeddings)) [B, T, C] (f32), for heads other than the tied
   * LM head (a classifier reads the last real token). idx as forward's; differentiable.
   */
  hidden(idx: Tensor, opts: Omit<GPTForwardOptions, 'logits'> = {}): Tensor {
    const op = 'GPT.hidden';
    this.checkIds(op, 'idx', idx);
    const ctx = this.context(op, opts);
    const x = this.trunk(idx, ctx);
    const h = this.ln_f.forward(x);
    ctx.release([x]);
    return h;
  }

  /** The tied LM head over hidden states: h [..., C] → logits [..., V] (bf16 under autocast). */
  lmLogits(h: Tensor, opts: { autocast?: 'bf16' } = {}): Tensor {
    return this.head(h, new ForwardContext({ autocast: opts.autocast }));
  }

  /**
   * The logits of the last position only, [B, V], for generation: the blocks run over the whole
   * sequence, but the final LayerNorm and the head over one row per batch item. idx as forward's.
   */
  logitsLast(idx: Tensor, opts: { autocast?: 'bf16' } = {}): Tensor {
    const op = 'GPT.logitsLast';
    const [B, T] = this.checkIds(op, 'idx', idx);
    const ctx = this.context(op, { autocast: opts?.autocast });
    const x = this.trunk(idx, ctx);                 // (B, T, C)
    const rows = x.reshape([B * T, this.config.nEmbd]);
    // Gathering row b·T + T-1 of each sequence is an embedding lookup into the activations.
    const lastIds = Tensor.from(Int32Array.from({ length: B }, (_, b) => b * T + T - 1), [B], { dtype: 'i32', device: this.device });
    const last = embedding(rows, lastIds);          // (B, C)
    lastIds.dispose();
    ctx.release([x, rows]);
    const h = this.ln_f.forward(last);
    ctx.release([last]);
    const logits = this.head(h, ctx);               // (B, V)
    ctx.release([h]);
    return logits;
  }

  /**
   * A KV cache for decoding `batchSize` sequences of at most `maxLength` tokens (default and at most
   * blockSize): per layer, key and value buffers [batchSize, nHead, maxLength, D] allocated here
   * once. Free it with cache.dispose().
   */
  createCache(batchSize: number, maxLength: number = this.config.blockSize, opts: CreateCacheOptions = {}): KVCache {
    const op = 'GPT.createCache';
    if (!Number.isInteger(batchSize) || batchSize < 1) throw argError(op, 'batchSize', 'a positive integer', describe(batchSize));
    if (!Number.isInteger(maxLength) || maxLength < 1 || maxLength > this.config.blockSize)
      throw argError(op, 'maxLength', `an integer in [1, ${this.config.blockSize}] (the block size)`, describe(maxLength));
    if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
    if (opts.autocast !== undefined && opts.autocast !== 'bf16') throw argError(op, 'opts.autocast', "'bf16' or undefined", describe(opts.autocast));
    const { nLayer, nHead, nEmbd } = this.config;
    return new KVCache({ batchSize, maxLength, nLayer, nHead, headDim: nEmbd / nHead, dtype: opts.autocast ?? 'f32', device: this.device });
  }

  /**
   * Incremental forward without gradients: idx i32 [B, T] are each row's next tokens, at positions
   * cache.lengths[b] + t (learned and sinusoidal rows, rope angles at those offsets). Their keys and
   * values are appended to `cache` (B rows) and the logits of the new positions are returned:
   * [B, T, V], or [B, V] of each row's last real token with `last`. Prefill a prompt in one call,
   * then call once per token with T = 1. Rows whose lengths differ take T = 1 in one pass; with
   * T > 1 they run one row at a time (as do partly padded rows after a non-empty prefix).
   */
  forwardCached(idx: Tensor, cache: KVCache, opts: ForwardCachedOptions = {}): Tensor {
    const op = 'GPT.forwardCached';
    const [B, T] = this.checkIds(op, 'idx', idx);
    if (!(cache instanceof KVCache)) throw argError(op, 'cache', 'a KVCache from model.createCache', describe(cache));
    cache.checkLive(op);
    const { nLayer, nHead, nEmbd } = this.config;
    if (cache.nLayer !== nLayer || cache.nHead !== nHead || cache.headDim !== nEmbd / nHead || cache.device !== this.device)
      throw argError(op, 'cache', `a cache of this model (${nLayer} layers, ${nHead} heads on ${this.device})`, `${cache.nLayer} layers, ${cache.nHead} heads of ${cache.headDim} on ${cache.device}`);
    if (cache.batchSize !== B) throw argError(op, 'cache', `a cache of ${B} rows (idx's batch)`, `${cache.batchSize} rows`);
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw argError(op, 'opts', 'an options object', describe(opts));
    for (const k of Object.keys(opts))
      if (!CACHED_KEYS.includes(k)) throw argError(op, `opts.${k}`, `one of the options ${CACHED_KEYS.join(', ')}`, `unknown option "${k}"`);
    if (opts.autocast !== undefined && opts.autocast !== 'bf16') throw argError(op, 'opts.autocast', "'bf16' or undefined", describe(opts.autocast));
    const dtype = opts.autocast ?? 'f32';
    if (cache.dtype !== dtype) throw argError(op, 'opts.autocast', `${cache.dtype === 'bf16' ? "'bf16'" : 'none'} (the cache holds ${cache.dtype})`, describe(opts.autocast));
    if (opts.last !== undefined && typeof opts.last !== 'boolean') throw argError(op, 'opts.last', 'a boolean', describe(opts.last));
    if (opts.casts !== undefined && (!(opts.casts instanceof CastCache) || opts.casts.dtype !== opts.autocast))
      throw argError(op, 'opts.casts', `a CastCache of this autocast dtype (${opts.autocast ?? 'none: no casts'})`, opts.casts instanceof CastCache ? `one of ${opts.casts.dtype}` : describe(opts.casts));
    let counts: number[];
    if (opts.counts === undefined) counts = new Array<number>(B).fill(T);
    else {
      if (!Array.isArray(opts.counts) || opts.counts.length !== B) throw argError(op, 'opts.counts', `an array of ${B} integers in [1, ${T}]`, describe(opts.counts));
      counts = opts.counts.slice();
      counts.forEach((n, b) => {
        if (!Number.isInteger(n) || n < 1 || n > T) throw argError(op, `opts.counts[${b}]`, `an integer in [1, ${T}]`, describe(n));
      });
    }
    const start = cache.lengths;
    start.forEach((s, b) => {
      if (s + counts[b] > cache.maxLength)
        throw argError(op, 'idx', `at most ${cache.maxLength - s} new tokens for row ${b} (its cache holds ${s} of ${cache.maxLength})`, `${counts[b]}`);
    });
    const last = opts.last ?? false;
    return noGrad(() => {
      const uniform = start.every((s) => s === start[0]) ? start[0] : null;
      // Several tokens after different (or non-empty, partly padded) prefixes would need per-row query
      // alignments: such rows run one at a time, each with exactly its real tokens.
      if (T > 1 && (uniform === null || (uniform > 0 && counts.some((n) => n < T))))
        return this.forwardCachedByRow(idx, cache, counts, last, opts.autocast, opts.casts);
      const keyLengths = Tensor.from(Int32Array.from(start, (s, b) => s + counts[b]), [B], { dtype: 'i32', device: this.device });
      const logits = this.cachedPass(idx, cache, { start, count: counts, uniformStart: uniform, keyLengths }, last, opts.autocast, opts.casts);
      keyLengths.dispose();
      cache.advance(counts);
      return logits;
    });
  }

  /**
   * @internal One decoding step whose cache positions are device data, for an op graph
   * (lib/generate/stepGraph.ts): idx i32 [B, 1] holds each row's next token, positions i32 [B] its
   * cache length (where the token goes and its position), keyLengths i32 [B] positions + 1. Returns
   * the logits [B, V]. Nothing here reads a host number that changes between steps, so a capture of
   * this call replays as any later step once the inputs are uploaded; the cache's host lengths are
   * the caller's to advance.
   */
  forwardStepAt(idx: Tensor, cache: KVCache, positions: Tensor, keyLengths: Tensor, autocast?: 'bf16', casts?: CastCache): Tensor {
    const B = idx.shape[0];
    const none = new Array<number>(B).fill(0);
    return noGrad(() => this.cachedPass(idx, cache, { start: none, count: none.map(() => 1), uniformStart: null, keyLengths, positions }, true, autocast, casts));
  }

  /** The blocks over a cached step, then ln_f and the head: logits [B, T, V], or [B, V] of each row's last real token. */
  private cachedPass(idx: Tensor, cache: KVCache, step: CacheStep, last: boolean, autocast: 'bf16' | undefined, casts?: CastCache): Tensor {
    const [B, T] = idx.shape;
    const nEmbd = this.config.nEmbd;
    const ctx = new ForwardContext({ autocast, casts });
    let x = this.embed(idx, step, ctx);
    for (let i = 0; i < this.h.length; i++) {
      const next = this.h[i].forwardCached(x, cache.layer(i), step, ctx);
      x.dispose();
      x = next;
    }
    let rows = x;
    if (last && T === 1) rows = x.reshape([B, nEmbd]);
    else if (last) {
      const flat = x.reshape([B * T, nEmbd]);
      const lastIds = Tensor.from(Int32Array.from(step.count, (n, b) => b * T + n - 1), [B], { dtype: 'i32', device: this.device });
      rows = embedding(flat, lastIds);            // (B, C)
      lastIds.dispose();
      flat.dispose();
    }
    if (rows !== x) x.dispose();
    const h = this.ln_f.forward(rows);
    rows.dispose();
    const logits = this.head(h, ctx);
    h.dispose();
    return logits;
  }

  /** forwardCached of rows with different cache lengths and T > 1: one row at a time, logits reassembled. */
  private forwardCachedByRow(idx: Tensor, cache: KVCache, counts: number[], last: boolean, autocast: 'bf16' | undefined, casts?: CastCache): Tensor {
    const [B, T] = idx.shape;
    const V = this.config.vocabSize;
    const per = last ? V : T * V;
    let out: Tensor | null = null;
    const nat = native();
    for (let b = 0; b < B; b++) {
      const n = counts[b];
      const row = new Tensor(nat.view(idx.handle, [1, n], b * T));
      const sub = cache.rows(b, 1);
      const logits = this.forwardCached(row, sub, { autocast, last, casts });
      sub.dispose();
      row.dispose();
      out ??= Tensor.empty(last ? [B, V] : [B, T, V], { dtype: logits.dtype, device: this.device });
      const slot = nat.view(out.handle, [logits.numel], b * per);
      const flat = nat.view(logits.handle, [logits.numel], 0);
      nat.copy(slot, flat);
      slot.dispose();
      flat.dispose();
      logits.dispose();
    }
    return out!;
  }

  /** Token embeddings plus the positions of a cached step: [B, T, C]. */
  private embed(idx: Tensor, step: CacheStep, ctx: ForwardContext): Tensor {
    const tok = this.wte.forward(idx);
    if (this.config.positional === 'rope') return tok;
    let pe: Tensor;
    if (step.uniformStart !== null && !step.positions) pe = this.positionRows(idx.shape[1], step.uniformStart)!;
    else {
      // One token per row at its own position: gather each row's position embedding.
      const ids = step.positions ? step.positions.reshape([idx.shape[0], 1])
        : Tensor.from(Int32Array.from(step.start), [idx.shape[0], 1], { dtype: 'i32', device: this.device });
      pe = this.wpe ? this.wpe.forward(ids) : embedding(this.sinusoidTable(), ids);
      ids.dispose();
    }
    const x = add(tok, pe);
    ctx.release([tok, pe]);
    return x;
  }

  /**
   * Parameter groups for lib/optim's AdamW, from the table's decay flags: matrices that decay
   * (with `weightDecay`, or the optimizer's default when absent), then everything else with
   * weightDecay 0. Names are the parameters' (for optimizer checkpoints).
   */
  parameterGroups(weightDecay?: number): ParamGroup[] {
    const named = this.namedParameters();
    const pick = (decay: boolean) => named.filter((_, i) => this.specs[i].decay === decay);
    const decayed = pick(true), rest = pick(false);
    const group = (list: [string, Tensor][]) => ({ params: list.map(([, t]) => t), names: list.map(([n]) => n) });
    return [
      { ...group(decayed), ...(weightDecay === undefined ? {} : { weightDecay }) },
      { ...group(rest), weightDecay: 0 },
    ];
  }

  /** The parameters by name: the model's own tensors (save them; do not dispose them). */
  stateDict(): Record<string, Tensor> {
    return Object.fromEntries(this.namedParameters());
  }

  /**
   * Copies every tensor of `stateDict` into the parameter of the same name (f32 or bf16 sources, any
   * device). The names must be exactly the model's: a missing, unexpected or wrongly shaped tensor
   * is an error naming it, raised before anything is copied.
   */
  loadStateDict(stateDict: Record<string, Tensor>): void {
    loadParameters('GPT.loadStateDict', new Map(this.namedParameters()), stateDict, this.describeConfig());
  }

  /** Frees the parameters (with their gradients) and the model's buffers. */
  override dispose(): void {
    super.dispose();
    this.positionIds?.dispose();
    this.sinusoid?.dispose();
    this.positionIds = this.sinusoid = null;
  }

  /** "GPT 2 layers, 2 heads, 64 wide, vocab 65, block 64, learned positions" */
  describeConfig(): string {
    const c = this.config;
    return `GPT ${c.nLayer} layers, ${c.nHead} heads, ${c.nEmbd} wide, vocab ${c.vocabSize}, block ${c.blockSize}, ${c.positional} positions${c.bias ? '' : ', no bias'}`;
  }

  /** Checks token ids [B, T] for this model; returns [B, T]. */
  private checkIds(op: string, name: string, idx: unknown): [number, number] {
    const expected = `an i32 Tensor of token ids [B, T] on ${this.device}`;
    if (!(idx instanceof Tensor)) throw argError(op, name, expected, describe(idx));
    if (idx.disposed) throw argError(op, name, 'a live tensor', 'a disposed tensor');
    if (idx.dtype !== 'i32') throw argError(op, name, expected, idx.describe());
    if (idx.rank !== 2 || idx.shape[0] < 1 || idx.shape[1] < 1)
      throw argError(op, name, `${expected} with B, T >= 1`, `shape [${idx.shape.join(', ')}]`);
    if (idx.device !== this.device) throw argError(op, name, `a tensor on ${this.device} (the model's device)`, `one on ${idx.device}`);
    const T = idx.shape[1];
    if (T > this.config.blockSize)
      throw argError(op, name, `a sequence length T <= blockSize (${this.config.blockSize})`, `T = ${T} (shape [${idx.shape.join(', ')}])`);
    return [idx.shape[0], T];
  }

  /** Validates forward options and makes the pass's context. */
  private context(op: string, opts: unknown): ForwardContext {
    if (opts === null || typeof opts !== 'object' || Array.isArray(opts)) throw argError(op, 'opts', 'an options object', describe(opts));
    const o = opts as Record<string, unknown>;
    for (const k of Object.keys(o))
      if (!FORWARD_KEYS.includes(k)) throw argError(op, `opts.${k}`, `one of the options ${FORWARD_KEYS.join(', ')}`, `unknown option "${k}"`);
    const training = o.training ?? false;
    if (typeof training !== 'boolean') throw argError(op, 'opts.training', 'a boolean', describe(training));
    if (o.autocast !== undefined && o.autocast !== 'bf16') throw argError(op, 'opts.autocast', "'bf16' or undefined", describe(o.autocast));
    if (o.logits !== undefined && typeof o.logits !== 'boolean') throw argError(op, 'opts.logits', 'a boolean', describe(o.logits));
    let dropoutSeed = o.dropoutSeed;
    if (dropoutSeed !== undefined && (typeof dropoutSeed !== 'number' || !Number.isSafeInteger(dropoutSeed) || dropoutSeed < 0))
      throw argError(op, 'opts.dropoutSeed', 'a non-negative safe integer', describe(dropoutSeed));
    const p = training ? this.config.dropout : 0;
    if (p > 0 && dropoutSeed === undefined) dropoutSeed = this.dropoutSeeds.nextU32();
    return new ForwardContext({ autocast: o.autocast as 'bf16' | undefined, dropout: p, dropoutSeed: dropoutSeed as number | undefined });
  }

  /** Embeddings (+ positions), dropout, then the blocks: the residual stream [B, T, C] before ln_f. */
  private trunk(idx: Tensor, ctx: ForwardContext): Tensor {
    const T = idx.shape[1];
    let x = this.wte.forward(idx);                  // (B, T, C)
    const pe = this.positionRows(T);                // (T, C) or null (rope)
    if (pe) {
      const tok = x;
      x = add(tok, pe);
      ctx.release([tok, pe]);
    }
    const dropped = ctx.dropout(x);
    if (dropped !== x) ctx.release([x]);
    x = dropped;
    for (const block of this.h) {
      const next = block.forward(x, ctx);
      ctx.release([x]);
      x = next;
    }
    return x;
  }

  /** The additive position embedding of positions offset..offset+T-1, [T, C]; null for rope (applied in attention). */
  private positionRows(T: number, offset = 0): Tensor | null {
    const { positional, blockSize, nEmbd } = this.config;
    if (positional === 'rope') return null;
    if (positional === 'learned') {
      this.positionIds ??= keep(Tensor.from(Int32Array.from({ length: blockSize }, (_, i) => i), [blockSize], { dtype: 'i32', device: this.device }));
      const ids = new Tensor(native().view(this.positionIds.handle, [T], offset));
      const rows = this.wpe!.forward(ids);
      ids.dispose();  // the lookup's tape keeps its own view
      return rows;
    }
    return new Tensor(native().view(this.sinusoidTable().handle, [T, nEmbd], offset * nEmbd));
  }

  /** The sinusoidal table [blockSize, C], made on first use. */
  private sinusoidTable(): Tensor {
    const { blockSize, nEmbd } = this.config;
    this.sinusoid ??= keep(Tensor.from(sinusoidalTable(blockSize, nEmbd), [blockSize, nEmbd], { device: this.device }));
    return this.sinusoid;
  }

  /** The tied head: h [..., C] → logits [..., V] = h·wteᵀ, in the compute dtype. */
  private head(h: Tensor, ctx: ForwardContext): Tensor {
    const hc = ctx.compute(h);
    const w = ctx.computeParam(this.wte.weight);
    const logits = matmul(hc, w, { transB: true });
    ctx.release([hc, w], h, this.wte.weight);
    return logits;
  }
}
