/**
 * Parameter specs: what a model's parameters are (name, shape, init, decay) as plain data, so that a
 * model declares them in one table, counts them without allocating anything, and creates them
 * reproducibly from a seed. The weight-decay rule lives here and nowhere else.
 */
import { argError, describe } from '../errors';
import { Random } from '../random';
import { keep } from '../scope';
import { Tensor } from '../tensor';

/** How a parameter starts: N(0, std²), all zeros or all ones. */
export type ParamInit = { normal: number } | 'zeros' | 'ones';

/** One parameter of a model. */
export interface ParamSpec {
  /** Dotted name, after the tensors of GPT-2 checkpoints ("h.0.attn.c_attn.weight"). */
  readonly name: string;
  readonly shape: readonly number[];
  readonly init: ParamInit;
  /** Whether AdamW's decoupled weight decay applies (see {@link decays}). */
  readonly decay: boolean;
}

/**
 * The weight-decay rule, in one place: only matrices (rank >= 2) decay, and never an embedding
 * table (token or position): biases, LayerNorm gains and embeddings keep their scale.
 */
export function decays(shape: readonly number[], isEmbedding: boolean): boolean {
  return shape.length >= 2 && !isEmbedding;
}

/** The spec of an embedding table [rows, dim], drawn from N(0, std²); never decays. */
export function embeddingSpec(name: string, rows: number, dim: number, std: number): ParamSpec {
  const shape = [rows, dim];
  return { name, shape, init: { normal: std }, decay: decays(shape, true) };
}

/**
 * The specs of a linear layer `prefix`: weight [out, in] from N(0, std²) (PyTorch's nn.Linear
 * layout, chosen over HF GPT-2's Conv1D [in, out] for speed: see lib/nn/linear.ts) and, when `bias`, bias [out]
 * at zero.
 */
export function linearSpecs(prefix: string, inFeatures: number, outFeatures: number, std: number, bias: boolean): ParamSpec[] {
  const w = [outFeatures, inFeatures];
  const specs: ParamSpec[] = [{ name: `${prefix}.weight`, shape: w, init: { normal: std }, decay: decays(w, false) }];
  if (bias) specs.push({ name: `${prefix}.bias`, shape: [outFeatures], init: 'zeros', decay: decays([outFeatures], false) });
  return specs;
}

/** The specs of a LayerNorm `prefix` over `dim` channels: weight at one, bias (when `bias`) at zero. */
export function layerNormSpecs(prefix: string, dim: number, bias: boolean): ParamSpec[] {
  const specs: ParamSpec[] = [{ name: `${prefix}.weight`, shape: [dim], init: 'ones', decay: decays([dim], false) }];
  if (bias) specs.push({ name: `${prefix}.bias`, shape: [dim], init: 'zeros', decay: decays([dim], false) });
  return specs;
}

/** The number of elements of a shape. */
export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** The total number of scalars the specs describe (nothing is allocated). */
export function parameterCount(specs: readonly ParamSpec[]): number {
  let n = 0;
  for (const s of specs) n += numelOf(s.shape);
  return n;
}

/** 32-bit FNV-1a of a string: spreads parameter names into seeds. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/**
 * The seed of one parameter's stream: the model seed with its low 32 bits mixed with the name, so
 * each tensor's values depend only on (seed, name) and not on which other parameters exist or their
 * order (a model with more layers starts its first layers exactly as a smaller one does).
 */
export function parameterSeed(seed: number, name: string): number {
  const low = seed % 4294967296;
  return seed - low + ((low ^ hashName(name)) >>> 0);
}

/** Options of {@link createParameters}. */
export interface CreateParametersOptions {
  /** A non-negative safe integer (default 0). */
  seed?: number;
  /** "cpu" (default), "cuda", "cuda:N". */
  device?: string;
}

/**
 * Allocates the parameters the specs describe: f32 leaf tensors that require grad, on `device`,
 * initialised from the seed. They are kept out of any enclosing scope (a model owns them until its
 * dispose()). Returns them by name, in spec order.
 */
export function createParameters(specs: readonly ParamSpec[], opts: CreateParametersOptions = {}): Map<string, Tensor> {
  const op = 'createParameters';
  const seed = opts.seed ?? 0;
  if (!Number.isSafeInteger(seed) || seed < 0) throw argError(op, 'seed', 'a non-negative safe integer', describe(seed));
  const device = opts.device ?? 'cpu';
  const out = new Map<string, Tensor>();
  try {
    for (const s of specs) {
      if (out.has(s.name)) throw argError(op, 'specs', 'unique parameter names', `"${s.name}" twice`);
      let t: Tensor;
      if (s.init === 'zeros' || s.init === 'ones') {
        // Not Tensor.full: that marks the tensor as a known constant, which a parameter is not.
        t = Tensor.from(new Float32Array(numelOf(s.shape)).fill(s.init === 'ones' ? 1 : 0), s.shape, { device, requiresGrad: true });
      } else {
        const values = new Random(parameterSeed(seed, s.name)).normals(numelOf(s.shape), s.init.normal);
        t = Tensor.from(values, s.shape, { device, requiresGrad: true });
      }
      out.set(s.name, keep(t));
    }
  } catch (err) {
    for (const t of out.values()) t.dispose();
    throw err;
  }
  return out;
}
