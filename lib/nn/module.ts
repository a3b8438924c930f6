/**
 * The base of every module: an ordered registry of named parameters and child modules, from which
 * dotted names ("h.0.attn.c_attn.weight") follow by composition. Modules are plain classes holding
 * tensors they are given; creating those tensors (shapes, init) is the model's parameter table's job.
 */
import { argError, describe } from '../errors';
import { Tensor } from '../tensor';

/** A module: named parameters and children, in registration order. */
export abstract class Module {
  private readonly ownParameters: [string, Tensor][] = [];
  private readonly children: [string, Module][] = [];

  /** Registers a parameter under a local name; returns it. */
  protected registerParameter(name: string, t: Tensor): Tensor {
    const op = `${this.constructor.name}`;
    if (!(t instanceof Tensor)) throw argError(op, name, 'a Tensor', describe(t));
    if (t.disposed) throw argError(op, name, 'a live tensor', 'a disposed tensor');
    this.ownParameters.push([name, t]);
    return t;
  }

  /** Registers a child module under a local name; returns it. */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.children.push([name, m]);
    return m;
  }

  /** Every parameter with its dotted name, own parameters first, then each child's in order. */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = this.ownParameters.map(([n, t]) => [prefix + n, t]);
    for (const [n, m] of this.children) out.push(...m.namedParameters(`${prefix}${n}.`));
    return out;
  }

  /** Every parameter, in the order of namedParameters(). */
  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /** Frees every parameter (the module is unusable afterwards). */
  dispose(): void {
    for (const t of this.parameters()) {
      t.grad?.dispose();
      t.grad = null;
      t.dispose();
    }
  }
}

/**
 * Throws unless t is a live f32 tensor of the given shape (-1: any size), the check every module runs
 * on the tensors it is given.
 */
export function checkParameter(op: string, name: string, t: unknown, shape: readonly number[]): Tensor {
  const expected = `f32[${shape.map((d) => (d < 0 ? '?' : d)).join(', ')}]`;
  if (!(t instanceof Tensor)) throw argError(op, name, `an ${expected} Tensor`, describe(t));
  if (t.disposed) throw argError(op, name, 'a live tensor', 'a disposed tensor');
  if (t.dtype !== 'f32' || t.shape.length !== shape.length || t.shape.some((d, i) => shape[i] >= 0 && d !== shape[i]))
    throw argError(op, name, expected, t.describe());
  return t;
}
