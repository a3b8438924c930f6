/**
 * Reverse-mode autograd: ops on tensors that require grad record a node on their output; backward()
 * walks the nodes from the loss in reverse topological order, accumulates gradients into the leaves'
 * `.grad`, then releases the tape: the nodes' saved tensors (log-sum-exp, layernorm statistics, ...)
 * are disposed at once and the graph links dropped, so activations do not outlive the step.
 *
 * Convention (as in llm.c): parameters' grads accumulate (+=) across backward calls until zeroed;
 * intermediate grads are assigned and freed as soon as they have been propagated.
 */
import { GlmError } from './errors';
import { native, NativeTensor } from './native';
import { keep } from './scope';
import type { Tensor } from './tensor';

export interface GradNode {
  op: string;
  /** The tensors gradients flow to, in the order backward() returns them. */
  inputs: (Tensor | null)[];
  /** Given dL/d(output), returns dL/d(input) for each input (null where none is needed). */
  backward(gradOutput: Tensor): (Tensor | null)[];
  /** Tensors the tape owns (saved for backward only); disposed when the tape is released. */
  saved: Tensor[];
  /**
   * Set by a view that is one contiguous run of inputs[0] starting at this element offset (select):
   * its gradient is the incoming one in that run and zero elsewhere. backward() then adds it straight
   * into that run of the input's gradient rather than calling `backward`, which builds a tensor of
   * the input's size per view to be added up (q, k and v are three such views of one projection: one
   * buffer written once instead of three base-sized ones and two full-size adds). See recordSlot.
   */
  slotOffset?: number;
}

let gradEnabled = true;

/** In-place gradient accumulation: dst += src. */
function addInto(dst: Tensor, src: Tensor): void {
  dst._constant = undefined;
  native<{ add(out: NativeTensor, a: NativeTensor, b: NativeTensor, beta: number): void }>().add(
    dst.handle, dst.handle, src.handle, 1);
}

/** True when grad mode is on and any of the tensors requires grad. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Runs fn with recording off (evaluation, optimizer updates). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    const r = fn();
    if (r instanceof Promise) {
      // Recording stays off until the promise settles only for code that awaits nothing else
      // meanwhile; prefer synchronous bodies.
      return r.finally(() => {
        gradEnabled = prev;
      }) as T;
    }
    gradEnabled = prev;
    return r;
  } catch (err) {
    gradEnabled = prev;
    throw err;
  }
}

/** Whether ops record for autograd right now. */
export function isGradEnabled(): boolean {
  return gradEnabled;
}

/**
 * Records a node for `output` when any input requires grad; otherwise disposes `saved` (nothing
 * will ever read it). Returns output.
 */
export function record(
  op: string,
  output: Tensor,
  inputs: (Tensor | null)[],
  backward: (gradOutput: Tensor) => (Tensor | null)[],
  saved: Tensor[] = [],
): Tensor {
  if (!needsGrad(...inputs)) {
    for (const s of saved) s.dispose();
    return output;
  }
  for (const s of saved) keep(s);  // the tape, not a scope, owns these
  output.requiresGrad = true;
  output.gradFn = { op, inputs, backward, saved };
  return output;
}

let tensorModule: typeof import('./tensor') | null = null;

/**
 * The Tensor class, loaded on first use (tensor.ts imports this module, so a static import would be
 * circular) and then kept: a require() per backward costs a module resolution each time, tens of
 * microseconds under a loader such as tsx.
 */
function tensorClass(): typeof import('./tensor').Tensor {
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  if (!tensorModule) tensorModule = require('./tensor') as typeof import('./tensor');
  return tensorModule.Tensor;
}

function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: deep graphs (long sequences of ops) must not overflow the JS stack.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length) {
    const top = stack[stack.length - 1];
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1]++;
      const next = inputs[i];
      if (next && next.gradFn && !seen.has(next)) {
        seen.add(next);
        stack.push([next, 0]);
      }
    } else {
      order.push(t);
      stack.pop();
    }
  }
  return order;  // inputs before outputs
}

/** The native calls the slot helpers below use. */
interface SlotNative {
  view(t: NativeTensor, shape: number[], offset: number): NativeTensor;
  copy(dst: NativeTensor, src: NativeTensor): void;
  fill(dst: NativeTensor, value: number): void;
  add(out: NativeTensor, a: NativeTensor, b: NativeTensor, beta: number): void;
}

/**
 * Records `output`, a view of the contiguous run of `base` starting at element `offset` (select), for
 * autograd: its node carries slotOffset, so backward() adds the gradient straight into that run of
 * base's gradient; the node's `backward` builds the same gradient on its own (scatterSlot).
 */
export function recordSlot(op: string, output: Tensor, base: Tensor, offset: number): Tensor {
  record(op, output, [base], (g) => [scatterSlot(base, g, offset)]);
  if (output.gradFn) output.gradFn.slotOffset = offset;
  return output;
}

/** A new gradient for `like`: g in the run at `offset`, zeros elsewhere (each element written once). */
function scatterSlot(like: Tensor, g: Tensor, offset: number): Tensor {
  const nat = native<SlotNative>();
  const out = tensorClass().empty(like.shape, { dtype: like.dtype, device: like.device });
  const total = out.numel, end = offset + g.numel;
  const region = (start: number, shape: number[], write: (v: NativeTensor) => void) => {
    const v = nat.view(out.handle, shape, start);
    write(v);
    v.dispose();
  };
  if (offset > 0) region(0, [offset], (v) => nat.fill(v, 0));
  region(offset, g.shape.slice(), (v) => nat.copy(v, g.handle));
  if (end < total) region(end, [total - end], (v) => nat.fill(v, 0));
  return out;
}

/** dst[offset, offset + g.numel) += g. */
function addIntoSlot(dst: Tensor, g: Tensor, offset: number): void {
  const nat = native<SlotNative>();
  dst._constant = undefined;
  const v = nat.view(dst.handle, g.shape.slice(), offset);
  nat.add(v, v, g.handle, 1);
  v.dispose();
}

/** Propagates a slot view's gradient g (see GradNode.slotOffset) into its base tensor's gradient. */
function propagateSlot(base: Tensor, g: Tensor, offset: number, grads: Map<Tensor, Tensor>): void {
  if (base.gradFn) {
    const prev = grads.get(base);
    if (prev) addIntoSlot(prev, g, offset);
    else grads.set(base, keep(scatterSlot(base, g, offset)));
  } else if (base.grad) {
    addIntoSlot(base.grad, g, offset);
  } else {
    base.grad = keep(scatterSlot(base, g, offset));
  }
}

function accumulate(target: Tensor, grad: Tensor): void {
  if (target.grad === null) {
    target.grad = keep(grad);
  } else {
    const g = target.grad;
    addInto(g, grad);
    grad.dispose();
  }
}

/**
 * Back-propagates from `root` (a scalar, or any shape when `gradient` is given), accumulating into
 * the `.grad` of every leaf that requires grad, then frees the tape.
 */
export function backward(root: Tensor, gradient?: Tensor): void {
  const op = 'backward';
  if (!root.requiresGrad) throw new GlmError(op, 'the tensor does not require grad: nothing recorded a graph to it');
  const T = tensorClass();
  let seed: Tensor;
  if (gradient) {
    if (gradient.shape.join() !== root.shape.join() || gradient.dtype !== root.dtype)
      throw new GlmError(op, `argument 'gradient': expected ${root.dtype}[${root.shape}], got ${gradient.describe()}`);
    seed = gradient;
  } else {
    if (root.numel !== 1)
      throw new GlmError(op, `backward() without a gradient needs a scalar, got shape [${root.shape}]`);
    seed = T.full(root.shape, 1, { dtype: root.dtype, device: root.device });
  }
  if (!root.gradFn) {
    accumulate(root, gradient ? seed.clone() : seed);
    return;
  }
  const order = topoOrder(root);
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, gradient ? seed.clone() : seed);
  try {
    for (let k = order.length - 1; k >= 0; k--) {
      const t = order[k];
      const node = t.gradFn!;
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (node.slotOffset !== undefined) {
        const base = node.inputs[0];
        if (base && base.requiresGrad) propagateSlot(base, g, node.slotOffset, grads);
        g.dispose();
        continue;
      }
      // A backward may hand its incoming grad straight on (add, reshape); the same tensor handed to
      // two inputs is cloned for the second, and g is freed only if nobody took it.
      const owned = new Set<Tensor>();
      const inGrads = node.backward(g).map((gi) => {
        if (!gi) return gi;
        if (owned.has(gi)) return gi.clone();
        owned.add(gi);
        return gi;
      });
      if (!owned.has(g)) g.dispose();
      node.inputs.forEach((input, i) => {
        const gi = inGrads[i];
        if (!gi) return;
        if (!input || !input.requiresGrad) {
          gi.dispose();
          return;
        }
        if (input.gradFn) {
          const prev = grads.get(input);
          if (prev) {
            addInto(prev, gi);
            gi.dispose();
          } else {
            grads.set(input, keep(gi));
          }
        } else {
          accumulate(input, gi);
        }
      });
    }
  } finally {
    for (const g of grads.values()) g.dispose();
    releaseTape(order);
  }
}

/** Frees what the tape holds: saved tensors and graph links. */
function releaseTape(order: Tensor[]): void {
  for (const t of order) {
    const node = t.gradFn;
    if (!node) continue;
    for (const s of node.saved) s.dispose();
    node.saved = [];
    node.inputs = [];
    t.gradFn = null;
  }
}
