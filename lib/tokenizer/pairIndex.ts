/**
 * A hash index of token-id pairs (a, b) -> dense index 0, 1, 2, ... in insertion order, for BPE's
 * merge table and its trainer's pair counts. Open addressing over typed arrays: no boxed keys, no
 * garbage, and a lookup costs a multiply and one or two probes, which is what encoding and training
 * spend their time on. Ids must be non-negative int32; pairs are never removed.
 */
export class PairIndex {
  private slots: Int32Array; // dense index + 1 per slot, 0 = empty
  private mask: number;
  private keyA: Int32Array;
  private keyB: Int32Array;
  private count = 0;

  constructor(expected = 1024) {
    let cap = 16;
    while (cap < expected * 2) cap *= 2;
    this.slots = new Int32Array(cap);
    this.mask = cap - 1;
    this.keyA = new Int32Array(Math.max(8, expected));
    this.keyB = new Int32Array(Math.max(8, expected));
  }

  /** Number of pairs held. */
  get size(): number {
    return this.count;
  }

  /** Left id of the pair with dense index i. */
  a(i: number): number {
    return this.keyA[i];
  }

  /** Right id of the pair with dense index i. */
  b(i: number): number {
    return this.keyB[i];
  }

  /** Dense index of (a, b), or -1. */
  get(a: number, b: number): number {
    const slots = this.slots;
    const mask = this.mask;
    let h = hash(a, b) & mask;
    for (;;) {
      const s = slots[h];
      if (s === 0) return -1;
      const i = s - 1;
      if (this.keyA[i] === a && this.keyB[i] === b) return i;
      h = (h + 1) & mask;
    }
  }

  /** Dense index of (a, b), adding the pair when new. */
  add(a: number, b: number): number {
    const mask = this.mask;
    let h = hash(a, b) & mask;
    for (;;) {
      const s = this.slots[h];
      if (s === 0) break;
      const i = s - 1;
      if (this.keyA[i] === a && this.keyB[i] === b) return i;
      h = (h + 1) & mask;
    }
    const i = this.count++;
    if (i === this.keyA.length) {
      this.keyA = grow(this.keyA);
      this.keyB = grow(this.keyB);
    }
    this.keyA[i] = a;
    this.keyB[i] = b;
    this.slots[h] = i + 1;
    if (this.count * 2 > this.slots.length) this.rehash();
    return i;
  }

  private rehash(): void {
    const cap = this.slots.length * 2;
    const slots = new Int32Array(cap);
    const mask = cap - 1;
    for (let i = 0; i < this.count; i++) {
      let h = hash(this.keyA[i], this.keyB[i]) & mask;
      while (slots[h] !== 0) h = (h + 1) & mask;
      slots[h] = i + 1;
    }
    this.slots = slots;
    this.mask = mask;
  }
}

function hash(a: number, b: number): number {
  // Multiplicative mixing (golden-ratio constants); the high bits are folded down for the mask.
  const h = Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca6b);
  return (h ^ (h >>> 15)) >>> 0;
}

/** A typed array twice as long holding the same values. */
export function grow<T extends Int32Array | Float64Array | Uint32Array>(arr: T): T {
  const out = new (arr.constructor as new (n: number) => T)(arr.length * 2);
  out.set(arr);
  return out;
}
