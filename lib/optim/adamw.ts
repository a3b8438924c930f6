/**
 * AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"): Adam with bias correction and
 * weight decay applied to the weights directly, not through the gradient. Every parameter with a
 * gradient is updated by ONE native multi-tensor call per step (one per distinct learning-rate scale
 * and step count, which is one in the usual case), reading f32 or bf16 gradients and an optional
 * device-side gradient scale (the clipping coefficient), so clipping needs no read back to JS.
 */
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { checkGradScale, gradOf, ParamGroup, rangeArg, ResolvedParam, resolveParams } from './params';

interface AdamWNative {
  adamwStep(
    params: NativeTensor[], grads: NativeTensor[], m: NativeTensor[], v: NativeTensor[], weightDecays: number[],
    lr: number, beta1: number, beta2: number, eps: number, step: number, gradScale: NativeTensor | null,
  ): void;
}
const nat = () => native<AdamWNative>();

export interface AdamWOptions {
  /** Learning rate (default 1e-3); `lr` can be changed between steps, e.g. from a schedule. */
  lr?: number;
  /** Decay rates of the first and second moment estimates (default [0.9, 0.999]). */
  betas?: [number, number];
  /** Added to √v̂ (default 1e-8). */
  eps?: number;
  /** Decoupled weight decay for groups that do not set their own (default 0.01). */
  weightDecay?: number;
}

/** What a checkpoint needs besides the moment tensors; plain JSON. */
export interface AdamWStateInfo {
  stepCount: number;
  /** Per parameter name: how many updates it has had (its bias-correction step). */
  steps: Record<string, number>;
}

interface Entry extends ResolvedParam {
  m: Tensor | null;
  v: Tensor | null;
  step: number;
}

/**
 * AdamW over f32 master weights. For each parameter with a gradient g (times `gradScale` if given):
 * m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g², p -= lr·(m̂/(√v̂ + eps) + weightDecay·p), with
 * m̂ = m/(1-β1^t), v̂ = v/(1-β2^t) and t the parameter's update count. Parameters without a gradient
 * are skipped (their moments and t do not move). Moments are f32, created on the parameter's device
 * at its first update, and owned by the optimizer (never by a scope).
 *
 * Put biases, norms and embeddings in a group with `weightDecay: 0`.
 */
export class AdamW {
  private readonly entries: Entry[];
  private _lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  /** The number of step() calls so far. */
  stepCount = 0;

  constructor(params: Tensor[] | ParamGroup[], opts: AdamWOptions = {}) {
    const op = 'AdamW';
    if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
    this._lr = rangeArg(op, 'lr', opts.lr ?? 1e-3, 0);
    const betas = opts.betas ?? [0.9, 0.999];
    if (!Array.isArray(betas) || betas.length !== 2) throw argError(op, 'betas', 'a pair [beta1, beta2]', describe(betas));
    this.beta1 = rangeArg(op, 'betas[0]', betas[0], 0, 1);
    this.beta2 = rangeArg(op, 'betas[1]', betas[1], 0, 1);
    const eps = opts.eps ?? 1e-8;
    if (!(typeof eps === 'number' && Number.isFinite(eps) && eps > 0)) throw argError(op, 'eps', 'a finite number > 0', describe(eps));
    this.eps = eps;
    const weightDecay = rangeArg(op, 'weightDecay', opts.weightDecay ?? 0.01, 0);
    this.entries = resolveParams(op, params, { weightDecay }).map((r) => ({ ...r, m: null, v: null, step: 0 }));
  }

  /** The base learning rate (each group's lrScale multiplies it). */
  get lr(): number {
    return this._lr;
  }

  set lr(value: number) {
    this._lr = rangeArg('AdamW', 'lr', value, 0);
  }

  /** The parameters, in the order of the groups given to the constructor. */
  get params(): Tensor[] {
    return this.entries.map((e) => e.param);
  }

  /**
   * Updates every parameter that has a gradient. `gradScale`: an f32 one-element tensor on the
   * parameters' device multiplying every gradient, e.g. `clipGradNorm(params, 1).coef`.
   */
  step(opts: { gradScale?: Tensor } = {}): void {
    const op = 'AdamW.step';
    const batches = new Map<string, { lr: number; step: number; scale: Tensor | null; list: Entry[]; grads: Tensor[] }>();
    // Validate everything before touching any state, so a bad call changes nothing.
    const work: [Entry, Tensor][] = [];
    for (const e of this.entries) {
      const g = gradOf(op, e);
      if (g) work.push([e, g]);
    }
    const scales = new Map<string, Tensor>();
    if (opts.gradScale !== undefined && opts.gradScale !== null) {
      for (const [e] of work) {
        if (!scales.has(e.param.device)) scales.set(e.param.device, checkGradScale(op, opts.gradScale, e.param.device));
      }
    }
    for (const [e, g] of work) {
      if (!e.m || !e.v) {
        e.m = Tensor.zeros(e.param.shape, { device: e.param.device }).keep();
        e.v = Tensor.zeros(e.param.shape, { device: e.param.device }).keep();
      }
      e.step++;
      const lr = this._lr * e.lrScale;
      const key = `${e.param.device}|${lr}|${e.step}`;
      let b = batches.get(key);
      if (!b) batches.set(key, (b = { lr, step: e.step, scale: scales.get(e.param.device) ?? null, list: [], grads: [] }));
      b.list.push(e);
      b.grads.push(g);
    }
    for (const b of batches.values()) {
      nat().adamwStep(
        b.list.map((e) => e.param.handle), b.grads.map((g) => g.handle), b.list.map((e) => e.m!.handle),
        b.list.map((e) => e.v!.handle), b.list.map((e) => e.weightDecay),
        b.lr, this.beta1, this.beta2, this.eps, b.step, b.scale ? b.scale.handle : null);
    }
    this.stepCount++;
  }

  /** Frees every parameter's gradient (the next backward assigns fresh ones). */
  zeroGrad(): void {
    for (const e of this.entries) {
      if (e.param.grad) {
        e.param.grad.dispose();
        e.param.grad = null;
      }
    }
  }

  /**
   * The moment tensors by name, `<param name>.m` and `<param name>.v`, for parameters updated at
   * least once. These are the optimizer's own tensors: save them, do not dispose them.
   */
  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const e of this.entries) {
      if (e.m && e.v) {
        out[`${e.name}.m`] = e.m;
        out[`${e.name}.v`] = e.v;
      }
    }
    return out;
  }

  /** Step counts for a checkpoint (JSON); saved beside stateTensors(). */
  stateInfo(): AdamWStateInfo {
    const steps: Record<string, number> = {};
    for (const e of this.entries) if (e.step > 0) steps[e.name] = e.step;
    return { stepCount: this.stepCount, steps };
  }

  /**
   * Restores what stateTensors() and stateInfo() saved (tensors may be on another device: they are
   * copied). Every name must belong to a parameter of this optimizer, with its shape; parameters
   * the checkpoint has no moments for start afresh.
   */
  loadState(tensors: Record<string, Tensor>, info: AdamWStateInfo): void {
    const op = 'AdamW.loadState';
    if (tensors === null || typeof tensors !== 'object') throw argError(op, 'tensors', 'an object of tensors by name', describe(tensors));
    if (info === null || typeof info !== 'object' || !Number.isInteger(info.stepCount) || info.stepCount < 0)
      throw argError(op, 'info', 'the object stateInfo() returned', describe(info));
    const byName = new Map(this.entries.map((e) => [e.name, e]));
    const plan: [Entry, Tensor | null, Tensor | null, number][] = [];
    for (const key of Object.keys(tensors)) {
      const m = /^(.*)\.(m|v)$/.exec(key);
      if (!m || !byName.has(m[1])) throw argError(op, 'tensors', 'names "<param>.m" / "<param>.v" of this optimizer\'s parameters', `"${key}"`);
    }
    for (const e of this.entries) {
      const tm = tensors[`${e.name}.m`], tv = tensors[`${e.name}.v`];
      if (tm === undefined && tv === undefined) {
        plan.push([e, null, null, 0]);  // never updated in the checkpoint: back to no state
        continue;
      }
      for (const [k, t] of [[`${e.name}.m`, tm], [`${e.name}.v`, tv]] as const) {
        if (!(t instanceof Tensor) || t.disposed) throw argError(op, `tensors["${k}"]`, 'a live Tensor', describe(t));
        if (t.dtype !== 'f32' || t.shape.join() !== e.param.shape.join())
          throw argError(op, `tensors["${k}"]`, `f32[${e.param.shape.join(', ')}]`, t.describe());
      }
      const step = info.steps?.[e.name];
      if (!Number.isInteger(step) || step! < 1) throw argError(op, `info.steps["${e.name}"]`, 'an integer >= 1', describe(step));
      plan.push([e, tm, tv, step!]);
    }
    for (const [e, tm, tv, step] of plan) {
      if (!tm || !tv) {
        e.m?.dispose();
        e.v?.dispose();
        e.m = e.v = null;
        e.step = 0;
        continue;
      }
      e.m ??= Tensor.empty(e.param.shape, { device: e.param.device }).keep();
      e.v ??= Tensor.empty(e.param.shape, { device: e.param.device }).keep();
      native().copy(e.m.handle, tm.handle);
      native().copy(e.v.handle, tv.handle);
      e.step = step;
    }
    this.stepCount = info.stepCount;
  }

  /** Frees the moments (the optimizer can still step: they are recreated at zero). */
  dispose(): void {
    for (const e of this.entries) {
      e.m?.dispose();
      e.v?.dispose();
      e.m = e.v = null;
      e.step = 0;
    }
  }
}
