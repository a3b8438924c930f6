/**
 * Float64 reference of the GPT forward, written the plain way from per-parameter arrays: token (+
 * learned or sinusoidal position) embeddings, pre-LayerNorm blocks with causal multi-head attention
 * (optionally rotary) and a GELU-tanh MLP, the final LayerNorm, the head tied to wte, cross-entropy.
 * Weights are in the model's layout, Linear [out, in]. Built from the per-op references.
 */
import { geluScalarRef } from './activation';
import { attentionRef } from './attention';
import { crossEntropyRef } from './crossEntropy';
import { layerNormRef } from './layerNorm';

/** The architecture fields the reference reads (a GPTConfig fits). */
export interface GptRefConfig {
  vocabSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  bias: boolean;
  positional: 'learned' | 'sinusoidal' | 'rope';
  ropeBase: number;
}

/** Parameters by GPT-2 name ("h.0.attn.c_attn.weight"); absent biases when bias is false. */
export type GptRefParams = Record<string, ArrayLike<number>>;

/**
 * RoPE pairing: 'half' rotates channel i with channel i + D/2 (GPT-NeoX / Hugging Face LLaMA);
 * 'interleaved' rotates 2i with 2i + 1 (RoFormer, Meta's LLaMA). Angle of pair i at position p:
 * p · base^(-2i/D).
 */
export type RopePairing = 'half' | 'interleaved';

/** x (B, H, T, D) rotated in place by RoPE. */
export function ropeRef(x: Float64Array, B: number, H: number, T: number, D: number, base: number, pairing: RopePairing): void {
  const half = D / 2;
  for (let bh = 0; bh < B * H; bh++)
    for (let t = 0; t < T; t++) {
      const row = (bh * T + t) * D;
      for (let i = 0; i < half; i++) {
        const angle = t * Math.pow(base, (-2 * i) / D);
        const c = Math.cos(angle), s = Math.sin(angle);
        const a = pairing === 'half' ? row + i : row + 2 * i;
        const b = pairing === 'half' ? row + i + half : row + 2 * i + 1;
        const xa = x[a], xb = x[b];
        x[a] = xa * c - xb * s;
        x[b] = xa * s + xb * c;
      }
    }
}

/** rows (N × in) · Wᵀ + b with W [out, in]. */
export function linearRef(x: ArrayLike<number>, N: number, W: ArrayLike<number>, b: ArrayLike<number> | undefined, inF: number, outF: number): Float64Array {
  const y = new Float64Array(N * outF);
  for (let r = 0; r < N; r++)
    for (let o = 0; o < outF; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * W[o * inF + i];
      y[r * outF + o] = s;
    }
  return y;
}

/** The final hidden states ln_f(blocks(embeddings)) of a GPT, (B·T × C). */
export function gptHiddenRef(cfg: GptRefConfig, p: GptRefParams, idx: ArrayLike<number>, B: number, T: number, ropePairing: RopePairing = 'half'): Float64Array {
  const C = cfg.nEmbd, N = B * T;
  let x: Float64Array = new Float64Array(N * C);
  for (let r = 0; r < N; r++) {
    const tok = idx[r], pos = r % T;
    for (let c = 0; c < C; c++) {
      let v = p['wte.weight'][tok * C + c];
      if (cfg.positional === 'learned') v += p['wpe.weight'][pos * C + c];
      if (cfg.positional === 'sinusoidal') {
        const i = Math.floor(c / 2);
        const angle = pos / Math.pow(10000, (2 * i) / C);
        v += c % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
      }
      x[r * C + c] = v;
    }
  }
  x = transformerBlocksRef(cfg, p, x, B, T, { mask: 'causal' }, cfg.positional === 'rope' ? ropePairing : null);
  return layerNormRef(x, p['ln_f.weight'], cfg.bias ? p['ln_f.bias'] : null, C, 1e-5).out;
}

/** The logits (B·T × V, row-major) and, with targets, the mean cross-entropy (-100 ignored). */
export function gptForwardRef(
  cfg: GptRefConfig, p: GptRefParams, idx: ArrayLike<number>, B: number, T: number,
  targets?: ArrayLike<number>, ropePairing: RopePairing = 'half',
): { logits: Float64Array; loss: number } {
  const h = gptHiddenRef(cfg, p, idx, B, T, ropePairing);
  const logits = linearRef(h, B * T, p['wte.weight'], undefined, cfg.nEmbd, cfg.vocabSize);  // tied head
  const loss = targets ? crossEntropyRef(logits, targets, cfg.vocabSize).loss : NaN;
  return { logits, loss };
}

/** What the blocks' attention sees: its mask and, per row, the real key count (right padding). */
export interface BlocksAttentionRef {
  mask: 'none' | 'causal' | { prefix: number };
  keyLengths?: ArrayLike<number>;
}

/**
 * The pre-LayerNorm blocks h.0 .. h.{L-1} over the residual stream x (B·T × C), returned as a new
 * stream (before ln_f): x + attn(ln_1(x)), then + mlp(ln_2(x)); q and k rotated when `rope` is given.
 */
export function transformerBlocksRef(
  cfg: Pick<GptRefConfig, 'nLayer' | 'nHead' | 'nEmbd' | 'bias' | 'ropeBase'>, p: GptRefParams, x: Float64Array, B: number, T: number,
  attention: BlocksAttentionRef, rope: RopePairing | null = null,
): Float64Array {
  const { nLayer: L, nHead: H, nEmbd: C } = cfg;
  const D = C / H, N = B * T, eps = 1e-5;
  const bias = (name: string) => (cfg.bias ? p[name] : undefined);
  const ln = (v: ArrayLike<number>, name: string) => layerNormRef(v, p[`${name}.weight`], cfg.bias ? p[`${name}.bias`] : null, C, eps).out;
  for (let l = 0; l < L; l++) {
    const h = `h.${l}`;
    const qkv = linearRef(ln(x, `${h}.ln_1`), N, p[`${h}.attn.c_attn.weight`], bias(`${h}.attn.c_attn.bias`), C, 3 * C);
    // (B, T, 3, H, D) -> q, k, v each (B, H, T, D)
    const q = new Float64Array(N * C), k = new Float64Array(N * C), v = new Float64Array(N * C);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let hh = 0; hh < H; hh++)
          for (let d = 0; d < D; d++) {
            const src = (b * T + t) * 3 * C + hh * D + d;
            const dst = ((b * H + hh) * T + t) * D + d;
            q[dst] = qkv[src];
            k[dst] = qkv[src + C];
            v[dst] = qkv[src + 2 * C];
          }
    if (rope) {
      ropeRef(q, B, H, T, D, cfg.ropeBase, rope);
      ropeRef(k, B, H, T, D, cfg.ropeBase, rope);
    }
    const att = attentionRef(q, k, v, { B, H, Tq: T, Tk: T, D, scale: 1 / Math.sqrt(D), ...attention }).out;
    const merged = new Float64Array(N * C);  // (B, T, H·D)
    for (let b = 0; b < B; b++)
      for (let hh = 0; hh < H; hh++)
        for (let t = 0; t < T; t++)
          for (let d = 0; d < D; d++) merged[(b * T + t) * C + hh * D + d] = att[((b * H + hh) * T + t) * D + d];
    const a = linearRef(merged, N, p[`${h}.attn.c_proj.weight`], bias(`${h}.attn.c_proj.bias`), C, C);
    x = x.map((xi, i) => xi + a[i]);
    const fc = linearRef(ln(x, `${h}.ln_2`), N, p[`${h}.mlp.c_fc.weight`], bias(`${h}.mlp.c_fc.bias`), C, 4 * C).map(geluScalarRef);
    const m = linearRef(fc, N, p[`${h}.mlp.c_proj.weight`], bias(`${h}.mlp.c_proj.bias`), 4 * C, C);
    x = x.map((xi, i) => xi + m[i]);
  }

  return x;
}

/** What a random parameter set is drawn for: a spec's name and shape. */
export interface RefParamSpec {
  name: string;
  shape: readonly number[];
}

/**
 * Random parameters far from the init (so attention patterns, LayerNorm gains and biases all
 * matter): matrices N(0, 1/in), embeddings N(0, 0.5²), LayerNorm gains 1 + N(0, 0.2²), biases
 * N(0, 0.1²). Values are f32-representable, so model and reference see the same numbers.
 */
export function randomGptParams(specs: readonly RefParamSpec[], normal: () => number): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const s of specs) {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const isEmbedding = s.name === 'wte.weight' || s.name === 'wpe.weight';
    const isNormGain = /ln_\d\.weight$|ln_f\.weight$/.test(s.name);
    const draw = s.shape.length === 2
      ? () => normal() * (isEmbedding ? 0.5 : 1 / Math.sqrt(s.shape[1]))
      : isNormGain ? () => 1 + 0.2 * normal() : () => 0.1 * normal();
    out[s.name] = Float32Array.from({ length: n }, draw);
  }
  return out;
}
