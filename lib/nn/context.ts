/**
 * What one forward pass needs to know besides its inputs: the dtype matmuls and attention run in
 * (f32, or bf16 under autocast, with f32 master weights cast on the way in), the residual-dropout
 * settings with a counter that gives each dropout site of the pass its own mask, and whether
 * intermediates may be freed as soon as they are consumed (only when nothing records a tape).
 */
import { isGradEnabled } from '../autograd';
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
  private readonly dropoutSeed: number;
  private site = 0;

  constructor(opts: ForwardContextOptions = {}) {
    this.computeDType = opts.autocast === 'bf16' ? 'bf16' : 'f32';
    this.attentionMask = opts.attentionMask ?? 'causal';
    this.keyLengths = opts.keyLengths ?? null;
    this.dropoutP = opts.dropout ?? 0;
    this.dropoutSeed = opts.dropoutSeed ?? 0;
  }

  /** t in the compute dtype (t itself when it already is); differentiable, so f32 master weights get f32 grads. */
  compute(t: Tensor): Tensor {
    return t.cast(this.computeDType);
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
    for (const t of tensors) if (t && !keepers.includes(t)) t.dispose();
  }
}
