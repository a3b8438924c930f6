/**
 * SGD with optional momentum (heavy-ball or Nesterov) and L2 weight decay, with PyTorch's semantics.
 * Written over the native elementwise kernels, run in place on the parameters' device; each step
 * costs a few memory-bound passes per parameter, which is fine for the baselines it serves.
 */
import { argError, describe } from '../errors';
import { native, NativeTensor } from '../native';
import { Tensor } from '../tensor';
import { checkGradScale, gradOf, ParamGroup, rangeArg, ResolvedParam, resolveParams } from './params';

interface SgdNative {
  add(out: NativeTensor, a: NativeTensor, b: NativeTensor, beta: number): void;
  mul(out: NativeTensor, a: NativeTensor, b: NativeTensor): void;
  scale(out: NativeTensor, a: NativeTensor, s: number): void;
}
const nat = () => native<SgdNative>();

export interface SGDOptions {
  /** Learning rate (default 0.01). */
  lr?: number;
  /** Momentum factor in [0, 1) (default 0: plain SGD). */
  momentum?: number;
  /** Dampening of the gradient added to the momentum buffer, in [0, 1] (default 0). */
  dampening?: number;
  /** Nesterov momentum (needs momentum > 0 and dampening 0). */
  nesterov?: boolean;
  /** L2 penalty added to the gradient (coupled, unlike AdamW's), default 0. */
  weightDecay?: number;
}

interface Entry extends ResolvedParam {
  buf: Tensor | null;
}

/**
 * Stochastic gradient descent. For each parameter p with gradient g (times `gradScale` if given):
 * d = g + weightDecay·p; with momentum, buf = d at the first step, else buf = momentum·buf +
 * (1-dampening)·d, and d = nesterov ? d + momentum·buf : buf; then p -= lr·d.
 */
export class SGD {
  private readonly entries: Entry[];
  private _lr: number;
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  /** The number of step() calls so far. */
  stepCount = 0;

  constructor(params: Tensor[] | ParamGroup[], opts: SGDOptions = {}) {
    const op = 'SGD';
    if (opts === null || typeof opts !== 'object') throw argError(op, 'opts', 'an options object', describe(opts));
    this._lr = rangeArg(op, 'lr', opts.lr ?? 0.01, 0);
    this.momentum = rangeArg(op, 'momentum', opts.momentum ?? 0, 0, 1);
    this.dampening = rangeArg(op, 'dampening', opts.dampening ?? 0, 0, 1, true);
    const nesterov = opts.nesterov ?? false;
    if (typeof nesterov !== 'boolean') throw argError(op, 'nesterov', 'a boolean', describe(nesterov));
    if (nesterov && (this.momentum === 0 || this.dampening !== 0))
      throw argError(op, 'nesterov', 'momentum > 0 and dampening 0 with nesterov', `momentum ${this.momentum}, dampening ${this.dampening}`);
    this.nesterov = nesterov;
    const weightDecay = rangeArg(op, 'weightDecay', opts.weightDecay ?? 0, 0);
    this.entries = resolveParams(op, params, { weightDecay }).map((r) => ({ ...r, buf: null }));
  }

  /** The base learning rate (each group's lrScale multiplies it). */
  get lr(): number {
    return this._lr;
  }

  set lr(value: number) {
    this._lr = rangeArg('SGD', 'lr', value, 0);
  }

  /** The parameters, in the order of the groups given to the constructor. */
  get params(): Tensor[] {
    return this.entries.map((e) => e.param);
  }

  /** Updates every parameter that has a gradient; `gradScale` as in AdamW.step. */
  step(opts: { gradScale?: Tensor } = {}): void {
    const op = 'SGD.step';
    const work: [Entry, Tensor][] = [];
    for (const e of this.entries) {
      const g = gradOf(op, e);
      if (g) work.push([e, g]);
    }
    if (opts.gradScale !== undefined && opts.gradScale !== null)
      for (const [e] of work) checkGradScale(op, opts.gradScale, e.param.device);
    const n = nat();
    for (const [e, g] of work) {
      const p = e.param;
      const temps: Tensor[] = [];
      const temp = () => {
        const t = Tensor.empty(p.shape, { device: p.device });
        temps.push(t);
        return t;
      };
      // d: the f32 direction, in a temporary as soon as it differs from the gradient itself.
      let d = g;
      if (g.dtype !== 'f32') {
        d = temp();
        native().copy(d.handle, g.handle);
      }
      if (opts.gradScale) {
        const t = d === g ? temp() : d;
        n.mul(t.handle, d.handle, opts.gradScale.handle);
        d = t;
      }
      if (e.weightDecay !== 0) {
        const t = d === g ? temp() : d;
        n.add(t.handle, d.handle, p.handle, e.weightDecay);
        d = t;
      }
      if (this.momentum !== 0) {
        if (!e.buf) {
          e.buf = Tensor.empty(p.shape, { device: p.device }).keep();
          native().copy(e.buf.handle, d.handle);
        } else {
          if (this.dampening === 0) {
            n.add(e.buf.handle, d.handle, e.buf.handle, this.momentum);
          } else {
            n.scale(e.buf.handle, e.buf.handle, this.momentum);
            n.add(e.buf.handle, e.buf.handle, d.handle, 1 - this.dampening);
          }
        }
        if (this.nesterov) {
          const t = d === g ? temp() : d;
          n.add(t.handle, d.handle, e.buf.handle, this.momentum);
          d = t;
        } else {
          d = e.buf;
        }
      }
      n.add(p.handle, p.handle, d.handle, -this._lr * e.lrScale);
      for (const t of temps) t.dispose();
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

  /** The momentum buffers by name, `<param name>.momentum`; the optimizer's own tensors. */
  stateTensors(): Record<string, Tensor> {
    const out: Record<string, Tensor> = {};
    for (const e of this.entries) if (e.buf) out[`${e.name}.momentum`] = e.buf;
    return out;
  }

  /** Restores stateTensors() (copied; parameters missing from it start afresh). */
  loadState(tensors: Record<string, Tensor>, stepCount = 0): void {
    const op = 'SGD.loadState';
    if (tensors === null || typeof tensors !== 'object') throw argError(op, 'tensors', 'an object of tensors by name', describe(tensors));
    const names = new Set(this.entries.map((e) => `${e.name}.momentum`));
    for (const key of Object.keys(tensors))
      if (!names.has(key)) throw argError(op, 'tensors', 'names "<param>.momentum" of this optimizer\'s parameters', `"${key}"`);
    for (const e of this.entries) {
      const t = tensors[`${e.name}.momentum`];
      if (t !== undefined && (!(t instanceof Tensor) || t.disposed || t.dtype !== 'f32' || t.shape.join() !== e.param.shape.join()))
        throw argError(op, `tensors["${e.name}.momentum"]`, `a live f32[${e.param.shape.join(', ')}] tensor`, describe(t));
    }
    for (const e of this.entries) {
      const t = tensors[`${e.name}.momentum`];
      if (!t) {
        e.buf?.dispose();
        e.buf = null;
        continue;
      }
      e.buf ??= Tensor.empty(e.param.shape, { device: e.param.device }).keep();
      native().copy(e.buf.handle, t.handle);
    }
    this.stepCount = stepCount;
  }

  /** Frees the momentum buffers (a later step starts them afresh). */
  dispose(): void {
    for (const e of this.entries) {
      e.buf?.dispose();
      e.buf = null;
    }
  }
}
