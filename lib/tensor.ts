/**
 * Tensor: a typed, shaped view of a native device buffer. Data lives in native memory (CPU or GPU);
 * JS sees it only through `await toArray()`. Tensors are contiguous and row-major; `reshape` and
 * `select` make views that share memory.
 */
import { backward as runBackward, GradNode, record, recordSlot } from './autograd';
import { DType, DTYPES, normalizeDevice } from './dtype';
import { argError, describe, GlmError } from './errors';
import { native, NativeTensor } from './native';
import { Disposable, keep, track } from './scope';

export interface TensorOptions {
  /** Element type; default f32 (i32 for Int32Array data). */
  dtype?: DType;
  /** "cpu" (default), "cuda", "cuda:N". */
  device?: string;
  /** Make the tensor a leaf whose gradient backward() accumulates into `.grad`. */
  requiresGrad?: boolean;
}

type TensorData = number | ArrayLike<number> | Float32Array | Int32Array | Uint16Array;

function checkShape(op: string, shape: unknown): number[] {
  if (!Array.isArray(shape)) throw argError(op, 'shape', 'an array of non-negative integers', describe(shape));
  for (const d of shape)
    if (!Number.isInteger(d) || d < 0)
      throw argError(op, 'shape', 'an array of non-negative integers', `[${shape.map(describe).join(', ')}]`);
  return shape.slice();
}

function checkDType(op: string, dtype: unknown): DType {
  if (!DTYPES.includes(dtype as DType)) throw argError(op, 'dtype', '"f32", "bf16" or "i32"', describe(dtype));
  return dtype as DType;
}

function checkDevice(op: string, device: unknown): string {
  const d = typeof device === 'string' ? normalizeDevice(device) : null;
  if (!d) throw argError(op, 'device', '"cpu", "cuda" or "cuda:N"', describe(device));
  return d;
}

function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export class Tensor implements Disposable {
  /** @internal */ _handle: NativeTensor | null;
  /** @internal */ _scope: Set<Disposable> | null = null;
  readonly shape: readonly number[];
  readonly dtype: DType;
  readonly device: string;
  /** True for leaves created with requiresGrad and for outputs of recorded ops. */
  requiresGrad = false;
  /** The accumulated gradient of a leaf after backward(). */
  grad: Tensor | null = null;
  /** @internal the node that produced this tensor, while the tape holds it */
  gradFn: GradNode | null = null;
  /**
   * @internal every element's value when known without reading the device (set by Tensor.full), so
   * that a backward seeded with ones can skip multiplying by them.
   */
  _constant: number | undefined = undefined;

  /**
   * @internal use Tensor.from / Tensor.empty / ops. Callers that just created `handle` and know its
   * shape, dtype and device pass them (`shape` is then owned by the tensor, not copied), which saves
   * three native accessor calls; otherwise they are read from the handle.
   */
  constructor(handle: NativeTensor, shape?: number[], dtype?: DType, device?: string) {
    this._handle = handle;
    this.shape = Object.freeze(shape ?? handle.shape.slice());
    this.dtype = dtype ?? handle.dtype;
    this.device = device ?? (handle.device as string);
    track(this);
  }

  /** Creates a tensor from JS data (copied). `shape` defaults to the data's length (or [] for a number). */
  static from(data: TensorData, shape?: readonly number[], options: TensorOptions = {}): Tensor {
    const op = 'Tensor.from';
    const isNumber = typeof data === 'number';
    if (!isNumber && (data === null || typeof data !== 'object' || typeof (data as ArrayLike<number>).length !== 'number'))
      throw argError(op, 'data', 'a number, an array of numbers or a typed array', describe(data));
    const len = isNumber ? 1 : (data as ArrayLike<number>).length;
    const dims = shape === undefined ? (isNumber ? [] : [len]) : checkShape(op, shape);
    if (numelOf(dims) !== len)
      throw argError(op, 'data', `${numelOf(dims)} elements for shape [${dims}]`, `${len}`);
    const dtype = checkDType(op, options.dtype ?? (data instanceof Int32Array ? 'i32' : 'f32'));
    const device = checkDevice(op, options.device ?? 'cpu');
    let typed: Float32Array | Int32Array | Uint16Array;
    if (dtype === 'i32') {
      if (data instanceof Int32Array) typed = data;
      else {
        typed = Int32Array.from(isNumber ? [data as number] : (data as ArrayLike<number>));
        const src = isNumber ? [data as number] : (data as ArrayLike<number>);
        for (let i = 0; i < len; i++)
          if (!Number.isInteger(src[i]) || src[i] !== typed[i])
            throw argError(op, 'data', 'integers in the int32 range for dtype i32', `${describe(src[i])} at index ${i}`);
      }
    } else if (dtype === 'bf16' && data instanceof Uint16Array) {
      typed = data;
    } else {
      typed = data instanceof Float32Array ? data : Float32Array.from(isNumber ? [data as number] : (data as ArrayLike<number>));
    }
    const t = new Tensor(native().fromData(typed, dims, dtype, device), dims, dtype, device);
    if (options.requiresGrad) t.requireGrad();
    return t;
  }

  /** A tensor with undefined contents. */
  static empty(shape: readonly number[], options: TensorOptions = {}): Tensor {
    const op = 'Tensor.empty';
    const dims = checkShape(op, shape);
    const dtype = checkDType(op, options.dtype ?? 'f32'), device = checkDevice(op, options.device ?? 'cpu');
    const t = new Tensor(native().empty(dims, dtype, device), dims, dtype, device);
    if (options.requiresGrad) t.requireGrad();
    return t;
  }

  static full(shape: readonly number[], value: number, options: TensorOptions = {}): Tensor {
    if (typeof value !== 'number') throw argError('Tensor.full', 'value', 'a number', describe(value));
    const op = 'Tensor.empty';  // the shape, dtype and device are empty()'s arguments, named as before
    const dims = checkShape(op, shape);
    const dtype = checkDType(op, options.dtype ?? 'f32'), device = checkDevice(op, options.device ?? 'cpu');
    // One native call: created, and filled on the device's stream.
    const t = new Tensor(native().full(dims, dtype, device, value), dims, dtype, device);
    t._constant = value;
    if (options.requiresGrad) t.requireGrad();
    return t;
  }

  static zeros(shape: readonly number[], options: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 0, options);
  }

  static ones(shape: readonly number[], options: TensorOptions = {}): Tensor {
    return Tensor.full(shape, 1, options);
  }

  /**
   * The native handle; throws if the tensor has been disposed. Disposal is tracked here, in JS (dispose()
   * drops the handle); the native side still refuses a disposed handle before any kernel runs.
   */
  get handle(): NativeTensor {
    const h = this._handle;
    if (!h) throw new GlmError('tensor', `use of a disposed tensor (${this.dtype}[${this.shape}])`);
    return h;
  }

  get numel(): number {
    return numelOf(this.shape);
  }

  get rank(): number {
    return this.shape.length;
  }

  get disposed(): boolean {
    return !this._handle;
  }

  /** "f32[2, 3] on cpu" */
  describe(): string {
    return `${this.disposed ? 'disposed ' : ''}${this.dtype}[${this.shape.join(', ')}] on ${this.device}`;
  }

  toString(): string {
    return `Tensor(${this.describe()})`;
  }

  /** Marks a leaf as requiring grad. */
  requireGrad(on = true): this {
    if (on && this.dtype === 'i32') throw new GlmError('requireGrad', 'an i32 tensor cannot require grad');
    this.requiresGrad = on;
    return this;
  }

  /** The data, once every op that writes it has run: Float32Array for f32/bf16, Int32Array for i32. */
  async toArray(): Promise<Float32Array | Int32Array> {
    const buf = await native().read(this.handle);
    return this.dtype === 'i32' ? new Int32Array(buf) : new Float32Array(buf);
  }

  /** Blocking read, for tests and debugging: it waits for the device on the JS thread. */
  toArraySync(): Float32Array | Int32Array {
    const buf = native().readSync(this.handle);
    return this.dtype === 'i32' ? new Int32Array(buf) : new Float32Array(buf);
  }

  /** The value of a one-element tensor. */
  async item(): Promise<number> {
    if (this.numel !== 1) throw new GlmError('item', `expected a tensor with one element, got shape [${this.shape}]`);
    return (await this.toArray())[0];
  }

  itemSync(): number {
    if (this.numel !== 1) throw new GlmError('item', `expected a tensor with one element, got shape [${this.shape}]`);
    return this.toArraySync()[0];
  }

  /** A copy on another device (this tensor itself when it is already there). Differentiable. */
  to(device: string): Tensor {
    const dev = checkDevice('to', device);
    if (dev === this.device) return this;
    const out = Tensor.empty(this.shape, { dtype: this.dtype, device: dev });
    native().copy(out.handle, this.handle);
    const src = this.device;
    return record('to', out, [this], (g) => [g.to(src)]);
  }

  /** A copy converted to another dtype (this tensor itself when it already has it). Differentiable. */
  cast(dtype: DType): Tensor {
    const dt = checkDType('cast', dtype);
    if (dt === this.dtype) return this;
    const out = Tensor.empty(this.shape, { dtype: dt, device: this.device });
    native().copy(out.handle, this.handle);
    const srcType = this.dtype;
    return record('cast', out, [this], (g) => [g.cast(srcType)]);
  }

  /** A copy with the same dtype and device. */
  clone(): Tensor {
    const out = Tensor.empty(this.shape, { dtype: this.dtype, device: this.device });
    native().copy(out.handle, this.handle);
    return record('clone', out, [this], (g) => [g]);
  }

  /** A view with another shape and the same elements; one dimension may be -1. Differentiable. */
  reshape(shape: readonly number[]): Tensor {
    const op = 'reshape';
    if (!Array.isArray(shape)) throw argError(op, 'shape', 'an array of integers', describe(shape));
    const dims = shape.slice();
    const unknown = dims.indexOf(-1);
    if (unknown >= 0) {
      const known = numelOf(dims.filter((_, i) => i !== unknown));
      if (known === 0 || this.numel % known !== 0)
        throw argError(op, 'shape', `a shape with ${this.numel} elements`, `[${shape}]`);
      dims[unknown] = this.numel / known;
    }
    if (dims.some((d) => !Number.isInteger(d) || d < 0) || numelOf(dims) !== this.numel)
      throw argError(op, 'shape', `a shape with ${this.numel} elements (from [${this.shape}])`, `[${shape}]`);
    const out = new Tensor(native().view(this.handle, dims, 0), dims, this.dtype, this.device);
    const from = this.shape;
    return record(op, out, [this], (g) => [g.reshape(from)]);
  }

  /**
   * The i-th slice along the first dimension, as a view sharing memory (x.select(i) is x[i]).
   * Differentiable: its gradient is scattered into a zero tensor of x's shape.
   */
  select(index: number): Tensor {
    const op = 'select';
    if (this.rank === 0) throw new GlmError(op, 'cannot select from a scalar');
    if (!Number.isInteger(index) || index < 0 || index >= this.shape[0])
      throw argError(op, 'index', `an integer in [0, ${this.shape[0]})`, describe(index));
    const inner = this.shape.slice(1);
    const offset = index * numelOf(inner);
    const out = new Tensor(native().view(this.handle, inner, offset), inner.slice(), this.dtype, this.device);
    return recordSlot(op, out, this, offset);
  }

  /** A view of the same memory that does not record gradients. */
  detach(): Tensor {
    const dims = this.shape.slice();
    return new Tensor(native().view(this.handle, dims, 0), dims, this.dtype, this.device);
  }

  /** Back-propagates from this tensor; see autograd.backward. */
  backward(gradient?: Tensor): void {
    runBackward(this, gradient);
  }

  /** Frees the tensor's memory now (idempotent). Views keep the memory alive until they are freed too. */
  dispose(): void {
    if (this._handle) this._handle.dispose();  // idempotent natively
    this._handle = null;
    if (this._scope) {
      this._scope.delete(this);
      this._scope = null;
    }
  }

  /** Takes the tensor out of the enclosing scope, so it survives it. */
  keep(): this {
    return keep(this);
  }
}
