/**
 * The key/value cache of incremental decoding: per layer one key and one value buffer
 * [B, H, maxLength, D], allocated once when the cache is made (decoding never grows or reallocates
 * them) and freed by dispose(). Each row b holds its own length: rows of one batch may hold prompts
 * of different lengths. New keys of row b go to [b, :, len_b : len_b + n, :], written by one native
 * op per buffer (the [.., :len, :] prefix of a [B, H, maxLength, D] buffer is not contiguous for
 * B·H > 1, and attention reads the whole buffer with per-row keyLengths instead, so nothing is
 * ever gathered for a one-token step).
 *
 * `rows(start, count)` is a cache over a contiguous range of rows sharing the buffers and lengths,
 * which is how rows with different lengths are prefilled one at a time.
 */
import { argError, describe, GlmError } from '../errors';
import { native, NativeTensor } from '../native';
import { embedding } from '../ops/embedding';
import { keep } from '../scope';
import { Tensor } from '../tensor';

/** One layer's buffers (views over this cache's rows): keys and values [B, H, maxLength, D]. */
export interface LayerKV {
  k: Tensor;
  v: Tensor;
}

/**
 * Where one cached forward pass writes and what it sees: per row the cache length before the pass
 * (`start`) and the number of new valid tokens (`count`, at most the pass's T; the rest of a row
 * is right padding). @internal
 */
export interface CacheStep {
  readonly start: readonly number[];
  readonly count: readonly number[];
  /** The common start when every row has the same one, else null. */
  readonly uniformStart: number | null;
  /** i32 [B]: start + count per row (the keys each row sees), for attention over the whole buffer. */
  readonly keyLengths: Tensor;
  /**
   * i32 [B] on the device: each row's start, for a step whose positions are device data (a
   * replayed op graph, lib/generate/stepGraph.ts): every row then writes all T new tokens there,
   * and `start`, `count` and `uniformStart` are not used for positions.
   */
  readonly positions?: Tensor;
}

interface Shared {
  keys: Tensor[];
  values: Tensor[];
  lengths: number[];
  disposed: boolean;
}

/** What {@link KVCache} is made of (GPT.createCache fills it in). */
export interface KVCacheShape {
  batchSize: number;
  maxLength: number;
  nLayer: number;
  nHead: number;
  headDim: number;
  dtype: 'f32' | 'bf16';
  device: string;
}

/** A per-layer key/value cache for a batch of sequences; see the file comment. */
export class KVCache {
  readonly batchSize: number;
  readonly maxLength: number;
  readonly nLayer: number;
  readonly nHead: number;
  readonly headDim: number;
  readonly dtype: 'f32' | 'bf16';
  readonly device: string;
  private readonly shared: Shared;
  /** The first row of the parent cache this one covers (0 for a cache made by createCache). */
  private readonly rowStart: number;
  private readonly views: LayerKV[];
  /** True for the cache createCache made (it owns the buffers); false for a rows() view. */
  private readonly owner: boolean;

  /** Allocates the buffers (use GPT.createCache, which takes the sizes from the model). */
  constructor(shape: KVCacheShape, from?: { shared: Shared; rowStart: number }) {
    const { batchSize: B, maxLength: L, nLayer, nHead: H, headDim: D, dtype, device } = shape;
    this.batchSize = B;
    this.maxLength = L;
    this.nLayer = nLayer;
    this.nHead = H;
    this.headDim = D;
    this.dtype = dtype;
    this.device = device;
    if (from) {
      this.shared = from.shared;
      this.rowStart = from.rowStart;
      this.owner = false;
      const offset = from.rowStart * H * L * D;
      const view = (t: Tensor) => keep(new Tensor(native().view(t.handle, [B, H, L, D], offset)));
      this.views = from.shared.keys.map((k, i) => ({ k: view(k), v: view(from.shared.values[i]) }));
      return;
    }
    const keys: Tensor[] = [], values: Tensor[] = [];
    try {
      for (let i = 0; i < nLayer; i++) {
        keys.push(keep(Tensor.empty([B, H, L, D], { dtype, device })));
        values.push(keep(Tensor.empty([B, H, L, D], { dtype, device })));
      }
    } catch (err) {
      for (const t of [...keys, ...values]) t.dispose();
      throw err;
    }
    this.shared = { keys, values, lengths: new Array<number>(B).fill(0), disposed: false };
    this.rowStart = 0;
    this.owner = true;
    this.views = keys.map((k, i) => ({ k, v: values[i] }));
  }

  /** The number of cached tokens of each row. */
  get lengths(): readonly number[] {
    return this.shared.lengths.slice(this.rowStart, this.rowStart + this.batchSize);
  }

  /** True once dispose() ran (on this cache or the one it is a view of). */
  get disposed(): boolean {
    return this.shared.disposed;
  }

  /** A cache over rows [start, start + count) sharing these buffers and lengths. Dispose it when done (it frees only its views). */
  rows(start: number, count: number): KVCache {
    const op = 'KVCache.rows';
    this.checkLive(op);
    if (!Number.isInteger(start) || start < 0 || start >= this.batchSize) throw argError(op, 'start', `an integer in [0, ${this.batchSize})`, describe(start));
    if (!Number.isInteger(count) || count < 1 || start + count > this.batchSize)
      throw argError(op, 'count', `an integer in [1, ${this.batchSize - start}]`, describe(count));
    return new KVCache({ ...this, batchSize: count }, { shared: this.shared, rowStart: this.rowStart + start });
  }

  /**
   * Forgets everything after the first `length` tokens of `row` (0: empties it), e.g. to rewind a
   * row or restart it with another prompt. Without a row, applies to every row.
   */
  truncate(length: number, row?: number): void {
    const op = 'KVCache.truncate';
    this.checkLive(op);
    const rows = row === undefined ? [...Array(this.batchSize).keys()] : [this.rowArg(op, row)];
    for (const r of rows) {
      const have = this.shared.lengths[this.rowStart + r];
      if (!Number.isInteger(length) || length < 0 || length > have)
        throw argError(op, 'length', `an integer in [0, ${have}] (row ${r} holds ${have} tokens)`, describe(length));
      this.shared.lengths[this.rowStart + r] = length;
    }
  }

  /** Empties every row (the buffers stay allocated). */
  reset(): void {
    this.checkLive('KVCache.reset');
    for (let r = 0; r < this.batchSize; r++) this.shared.lengths[this.rowStart + r] = 0;
  }

  /** Frees the buffers (of the whole cache, when called on a rows() view's parent; a view frees only itself). */
  dispose(): void {
    if (this.owner) {
      for (const t of [...this.shared.keys, ...this.shared.values]) t.dispose();
      this.shared.disposed = true;
      return;
    }
    for (const { k, v } of this.views) {
      k.dispose();
      v.dispose();
    }
  }

  /** Bytes held by the buffers. */
  get bytes(): number {
    return 2 * this.nLayer * this.batchSize * this.nHead * this.maxLength * this.headDim * (this.dtype === 'f32' ? 4 : 2);
  }

  /** @internal layer i's buffers over this cache's rows. */
  layer(i: number): LayerKV {
    return this.views[i];
  }

  /** @internal records that row b now holds `count[b]` more tokens. */
  advance(count: readonly number[]): void {
    for (let r = 0; r < this.batchSize; r++) this.shared.lengths[this.rowStart + r] += count[r];
  }

  /** @internal throws unless the cache is live. */
  checkLive(op: string): void {
    if (this.shared.disposed) throw new GlmError(op, 'the cache has been disposed');
  }

  private rowArg(op: string, row: unknown): number {
    if (!Number.isInteger(row) || (row as number) < 0 || (row as number) >= this.batchSize)
      throw argError(op, 'row', `an integer in [0, ${this.batchSize})`, describe(row));
    return row as number;
  }
}

interface CacheNative {
  cacheWrite(dst: NativeTensor, src: NativeTensor, start: readonly number[], count: readonly number[]): void;
  cacheWriteAt(dst: NativeTensor, src: NativeTensor, positions: NativeTensor): void;
}

/**
 * Writes src [B, H, T, D] (new keys or values) into dst [B, H, maxLength, D] at row b's positions
 * [start[b], start[b] + count[b]): one native op (native/ops/layout.h cacheWriteOp), which checks
 * the shapes and that every row's positions fit.
 */
export function writeCache(dst: Tensor, src: Tensor, start: readonly number[], count: readonly number[]): void {
  native<CacheNative>().cacheWrite(dst.handle, src.handle, start, count);
}

/**
 * Writes src [B, H, T, D] into dst [B, H, maxLength, D], row b at [positions[b], positions[b] + T)
 * with positions an i32 [B] device tensor read when the op runs (a row that would not fit is a
 * deferred error of the op, and is not written).
 */
export function writeCacheAt(dst: Tensor, src: Tensor, positions: Tensor): void {
  native<CacheNative>().cacheWriteAt(dst.handle, src.handle, positions.handle);
}

/**
 * The first `len` positions of every row of a cache buffer [B, H, maxLength, D] as a contiguous
 * [B, H, len, D] tensor: one row gather (an embedding lookup into the buffer's rows).
 */
export function cachePrefix(buf: Tensor, len: number): Tensor {
  const [B, H, L, D] = buf.shape;
  const ids = new Int32Array(B * H * len);
  for (let bh = 0; bh < B * H; bh++) for (let t = 0; t < len; t++) ids[bh * len + t] = bh * L + t;
  const rows = new Tensor(native().view(buf.handle, [B * H * L, D], 0));
  const idx = Tensor.from(ids, [B, H, len], { dtype: 'i32', device: buf.device });
  const out = embedding(rows, idx);
  rows.dispose();
  idx.dispose();
  return out;
}
