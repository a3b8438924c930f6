/**
 * What one forward pass needs to know besides its inputs: the dtype matmuls and attention run in
 * (f32, or bf16 under autocast, with f32 master weights cast on the way in), the residual-dropout
 * settings with a counter that gives each dropout site of the pass its own mask, and whether
 * intermediates may be freed as soon as they are consumed (only when nothing records a tape).
 */
import { isGradEnabled, noGrad } from '../autograd';
import { argError, describe } from '../errors';
import { keep } from '../scope';
import { fmix32 } from '../random';
import type { AttentionMask } from '../ops/attention';
import { Tensor } from '../tensor';
import { dropoutOp } from './availableOps';

/** The dtype of the matmul/attention path: 'f32', or 'bf16' under autocast. */
export type ComputeDType = 'f32' | 'bf16';

/** Options of a {@link ForwardContext}. */
export interface ForwardContextOptions {
  /** 'bf16': matmuls and attention in bf16 (f32 master weights cast per pass); default off (f32). */
  autocast?: 'bf16';
  /** Residual-dropout probability in [0, 1); 0 (the default) applies none. */
  dropout?: number;
  /** Seed of this pass's dropout masks (a non-negative safe integer); each site mixes in its index. */
  dropoutSeed?: number;
  /**
   * Which keys self-attention lets each query see in this pass: 'causal' (the default: a decoder),
   * 'none' (an encoder) or { prefix: P } (GLM: the first P tokens bidirectionally, causal after).
   */
  attentionMask?: AttentionMask;
  /** i32 [B]: per row, keys at positions >= keyLengths[b] are right padding that no query sees. */
  keyLengths?: Tensor | null;
  /** Compute-dtype copies of the parameters to use instead of casting them (inference only). */
  casts?: CastCache | null;
}

/**
 * Compute-dtype copies of parameters, made once: under autocast every pass would otherwise cast each
 * f32 master weight again (a decode step read it as f32, wrote it as bf16 and the product read that
 * back: three times the traffic of the product alone). For inference while the parameters do not
 * change, e.g. one generation call (lib/generate makes one per call and frees it); passes that record
 * a tape ignore it, so master weights still get their gradients. dispose() frees the copies.
 */
export class CastCache {
  readonly dtype: 'bf16';
  private readonly copies = new Map<Tensor, Tensor>();
  private readonly values = new Set<Tensor>();

  /** Casts every f32 tensor of `params` to `dtype` now. */
  constructor(params: Iterable<Tensor>, dtype: 'bf16' = 'bf16') {
    const op = 'CastCache';
    if (dtype !== 'bf16') throw argError(op, 'dtype', "'bf16'", describe(dtype));
    if (params === null || typeof (params as Iterable<Tensor>)?.[Symbol.iterator] !== 'function')
      throw argError(op, 'params', 'an iterable of Tensors (e.g. model.parameters())', describe(params));
    const list = [...params];
    list.forEach((p, i) => {
      if (!(p instanceof Tensor) || p.disposed) throw argError(op, `params[${i}]`, 'a live Tensor', describe(p));
    });
    this.dtype = dtype;
    noGrad(() => {
      for (const p of list) {
        if (p.dtype !== 'f32' || this.copies.has(p)) continue;
        const copy = keep(p.cast(dtype));
        this.copies.set(p, copy);
        this.values.add(copy);
      }
    });
  }

  /** The copy of `t`, if it was one of the parameters. */
  get(t: Tensor): Tensor | undefined {
    return this.copies.get(t);
  }

  /** Whether `t` is one of the copies (which passes must not free). */
  holds(t: Tensor): boolean {
    return this.values.has(t);
  }

  dispose(): void {
    for (const t of this.values) t.dispose();
    this.values.clear();
    this.copies.clear();
  }
}


/**
 * The seed of dropout site `site` in a pass seeded with `seed`: distinct sites (and distinct steps,
 * whose seeds differ) get unrelated masks. A u32.
 */
export function dropoutSiteSeed(seed: number, site: number): number {
  const hi = Math.floor(seed / 4294967296);
  return fmix32((fmix32((seed >>> 0) ^ fmix32(hi + 0x243f6a88)) + Math.imul(site + 1, 0x9e3779b9)) >>> 0);
}

/** Per-pass state shared by the modules of one forward: compute dtype, dropout sites, freeing. */
export class ForwardContext {
  /** The dtype matmuls and attention run in. */
  readonly computeDType: ComputeDType;
  /** The residual-dropout probability (0: none). */
  readonly dropoutP: number;
  /** The self-attention mask of the pass (default 'causal'). */
  readonly attentionMask: AttentionMask;
  /** Per-row key lengths (right padding), or null when every key is real. */
  readonly keyLengths: Tensor | null;
  private readonly casts: CastCache | null;
  private readonly dropoutSeed: number;
  private site = 0;

  constructor(opts: ForwardContextOptions = {}) {
    this.computeDType = opts.autocast === 'bf16' ? 'bf16' : 'f32';
    this.attentionMask = opts.attentionMask ?? 'causal';
    this.keyLengths = opts.keyLengths ?? null;
    this.dropoutP = opts.dropout ?? 0;
    this.dropoutSeed = opts.dropoutSeed ?? 0;
    this.casts = opts.casts ?? null;
  }

  /** t in the compute dtype (t itself when it already is); differentiable, so f32 master weights get f32 grads. */
  compute(t: Tensor): Tensor {
    return t.cast(this.computeDType);
  }

  /** A parameter in the compute dtype: its cached copy when the pass has a CastCache and records no tape, else compute(t). */
  computeParam(t: Tensor): Tensor {
    if (this.casts && this.casts.dtype === this.computeDType && !isGradEnabled()) {
      const copy = this.casts.get(t);
      if (copy) return copy;
    }
    return this.compute(t);
  }

  /** Residual dropout at the next site of the pass (x itself when dropout is off). */
  dropout(x: Tensor): Tensor {
    if (this.dropoutP === 0) return x;
    const seed = dropoutSiteSeed(this.dropoutSeed, this.site++);
    return dropoutOp()(x, this.dropoutP, { seed, offset: 0 });
  }

  /** How many dropout sites this pass has used so far. */
  get dropoutSites(): number {
    return this.site;
  }

  /**
   * Frees intermediates right away when no tape is being recorded (evaluation, generation), so a
   * forward holds about one layer's activations instead of all of them until its scope ends. With
   * grad on it does nothing: the tape may read them in backward, and the step's scope frees them.
   * `keepers` are never freed (e.g. the tensor a cast returned unchanged).
   */
  release(tensors: readonly (Tensor | null | undefined)[], ...keepers: (Tensor | null | undefined)[]): void {
    if (isGradEnabled()) return;
    for (const t of tensors) if (t && !keepers.includes(t) && !this.casts?.holds(t)) t.dispose();
  }
}
