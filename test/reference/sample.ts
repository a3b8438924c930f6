/**
 * Reference for token sampling (the rules of native/cpu/sample.h), written independently of the
 * native code: the logit processing and the weights emulate the kernels' f32 operations with
 * Math.fround (so they agree to the bit, up to exp's last bit), sums and the draw are float64. The uniform comes from
 * the Philox reference of test/reference/dropout.ts with the counter layout of sample.h.
 */
import { philox4x32_10 } from './dropout';

const TWO32 = 4294967296;
const f = Math.fround;

/** The uniform in [0, 1) of row `row` for (seed, offset): 53 bits of Philox words 0 and 1. */
export function sampleUniformRef(seed: number, offset: number, row: number): number {
  const [w0, w1] = philox4x32_10([offset % TWO32, Math.floor(offset / TWO32), row, 0x73616d70],
    [seed % TWO32, Math.floor(seed / TWO32)]);
  return (w0 * 2 ** 21 + Math.floor(w1 / 2 ** 11)) / 2 ** 53;
}

/** Hyper-parameters as the kernels take them. */
export interface SampleParamsRef {
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repetitionPenalty: number;
  frequencyPenalty: number;
  presencePenalty: number;
}

export const DEFAULTS: SampleParamsRef = {
  temperature: 1, topK: 0, topP: 1, minP: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0,
};

/**
 * Steps 1-2: x = logits + bias (NaN -> -inf), then for each token seen c times in the row's history:
 * repetition (x > 0 ? x / r : x · r), then x − (freq · c + presence); every operation rounded to f32.
 */
export function processLogitsRef(logits: ArrayLike<number>, B: number, V: number, p: SampleParamsRef,
  history?: { ids: ArrayLike<number>; L: number }, bias?: { values: ArrayLike<number>; rows: number }): Float32Array {
  const x = new Float32Array(B * V);
  const rep = f(p.repetitionPenalty), freq = f(p.frequencyPenalty), pres = f(p.presencePenalty);
  for (let b = 0; b < B; b++) {
    for (let v = 0; v < V; v++) {
      let t = f(logits[b * V + v]);
      if (bias) t = f(t + bias.values[(bias.rows === 1 ? 0 : b * V) + v]);
      x[b * V + v] = Number.isNaN(t) ? -Infinity : t;
    }
    if (!history) continue;
    const counts = new Map<number, number>();
    for (let l = 0; l < history.L; l++) {
      const id = history.ids[b * history.L + l];
      if (id >= 0) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    for (const [id, c] of counts) {
      let t = x[b * V + id];
      if (rep !== 1) t = t > 0 ? f(t / rep) : f(t * rep);
      if (freq !== 0 || pres !== 0) t = f(t - f(f(freq * c) + pres));
      x[b * V + id] = Number.isNaN(t) ? -Infinity : t;
    }
  }
  return x;
}

/** argmax of one row, ties to the lowest id. */
export function argmaxRef(x: ArrayLike<number>): number {
  let best = 0;
  for (let v = 1; v < x.length; v++) if (x[v] > x[best]) best = v;
  return best;
}

/** What the filters keep of one row, and how close a decision came to going the other way. */
export interface FilteredRef {
  /** Normalized probabilities, 0 outside the kept set. */
  probs: Float64Array;
  /** Kept token ids in id order. */
  kept: number[];
  /** Relative distance of the nearest top-p / min-p decision to its threshold. */
  margin: number;
}

/** Steps 4-5 for one processed row x (temperature > 0), in float64. */
export function filterRef(x: ArrayLike<number>, p: SampleParamsRef): FilteredRef {
  const V = x.length;
  const T = f(p.temperature), topP = f(p.topP), minP = f(p.minP);
  const m = x[argmaxRef(x)];
  const w = new Float64Array(V);
  // The kernels' f32 weights: (x − m) and / T rounded to f32, exp rounded to f32 (glibc's expf is
  // within half an ulp or so; CUDA's within two), then summed in float64.
  for (let v = 0; v < V; v++) w[v] = x[v] === m ? 1 : f(Math.exp(f(f(x[v] - m) / T)));
  const order = Array.from({ length: V }, (_, v) => v).sort((a, b) => (x[b] - x[a]) || (a - b));
  let n = p.topK > 0 && p.topK < V ? p.topK : V;
  let margin = Infinity;
  if (topP < 1) {
    let mass = 0;
    for (let i = 0; i < n; i++) mass += w[order[i]];
    const target = topP * mass;
    let acc = 0, np = n;
    for (let i = 0; i < n; i++) {
      acc += w[order[i]];
      margin = Math.min(margin, Math.abs(acc - target) / mass);
      if (acc >= target) {
        np = i + 1;
        break;
      }
    }
    n = np;
  }
  const keep = new Uint8Array(V);
  for (let i = 0; i < n; i++) keep[order[i]] = 1;
  if (minP > 0) {
    for (let v = 0; v < V; v++) {
      margin = Math.min(margin, Math.abs(w[v] - minP) / minP);
      if (w[v] < minP) keep[v] = 0;
    }
  }
  const kept: number[] = [];
  let total = 0;
  for (let v = 0; v < V; v++) if (keep[v]) kept.push(v), (total += w[v]);
  const probs = new Float64Array(V);
  for (const v of kept) probs[v] = w[v] / total;
  return { probs, kept, margin };
}

/** Step 6: the token of uniform u, and the relative distance of u to the nearest cumulative boundary. */
export function drawRef(fl: FilteredRef, u: number): { id: number; margin: number } {
  let acc = 0, margin = Infinity;
  let id = fl.kept[fl.kept.length - 1];
  let found = false;
  for (const v of fl.kept) {
    const prev = acc;
    acc += fl.probs[v];
    margin = Math.min(margin, Math.abs(acc - u));
    if (!found && acc > u && fl.probs[v] > 0) {
      id = v;
      found = true;
      margin = Math.min(margin, Math.abs(prev - u));
    }
  }
  return { id, margin: Math.min(margin, fl.margin) };
}
