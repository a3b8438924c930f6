/**
 * The merge table of a byte-level BPE and the algorithm that applies it to one pre-token.
 *
 * Rule (tiktoken's and HF's BPE alike): among the adjacent token pairs of the word that the table
 * knows, merge the one of lowest rank, leftmost on ties; repeat until no pair merges. Short words
 * use the quadratic scan (tiktoken's: cache each pair's rank, re-rank only the two neighbours of a
 * merge); words longer than HEAP_MIN use a heap over (rank, position) with a linked list, so a
 * 100 000-byte run of one character costs n log n, not n². Both give identical results (tested).
 */
import { PairIndex, grow } from './pairIndex';

/** Words at least this long (in initial tokens) are merged with the heap. */
export const HEAP_MIN = 64;

/** Pair -> (rank, merged id). */
export class MergeTable {
  private readonly pairs: PairIndex;
  private ranks: Int32Array;
  private mergedIds: Int32Array;

  constructor(expected = 1024) {
    this.pairs = new PairIndex(expected);
    this.ranks = new Int32Array(Math.max(8, expected));
    this.mergedIds = new Int32Array(Math.max(8, expected));
  }

  /** Number of pairs. */
  get size(): number {
    return this.pairs.size;
  }

  /** Adds pair (a, b) -> merged at `rank`; a pair already present keeps its lower rank. */
  set(a: number, b: number, rank: number, merged: number): void {
    const before = this.pairs.size;
    const i = this.pairs.add(a, b);
    if (i === this.ranks.length) {
      this.ranks = grow(this.ranks);
      this.mergedIds = grow(this.mergedIds);
    }
    if (i < before && this.ranks[i] <= rank) return;
    this.ranks[i] = rank;
    this.mergedIds[i] = merged;
  }

  /** The dense index of pair (a, b), or -1 when it does not merge. */
  find(a: number, b: number): number {
    return this.pairs.get(a, b);
  }

  /** Rank of the pair with dense index i. */
  rank(i: number): number {
    return this.ranks[i];
  }

  /** Merged id of the pair with dense index i. */
  merged(i: number): number {
    return this.mergedIds[i];
  }

  /** Rank of pair (a, b), or -1. */
  rankOf(a: number, b: number): number {
    const i = this.pairs.get(a, b);
    return i < 0 ? -1 : this.ranks[i];
  }
}

/** Merges ids[0, n) in place by `table`; returns the new length. */
export function mergeWord(ids: Int32Array, n: number, table: MergeTable): number {
  return n >= HEAP_MIN ? mergeWordHeap(ids, n, table) : mergeWordScan(ids, n, table);
}

let scanRanks = new Int32Array(HEAP_MIN + 1);

/** The quadratic scan; exported so tests can compare it with the heap on any length. */
export function mergeWordScan(ids: Int32Array, n: number, table: MergeTable): number {
  if (n < 2) return n;
  if (scanRanks.length < n) scanRanks = new Int32Array(n * 2);
  // ranks[i] = rank of (ids[i], ids[i+1]); never-merging pairs get the largest int so min ignores them.
  const NONE = 0x7fffffff;
  const ranks = scanRanks;
  for (let i = 0; i + 1 < n; i++) {
    const r = table.rankOf(ids[i], ids[i + 1]);
    ranks[i] = r < 0 ? NONE : r;
  }
  while (n > 1) {
    let best = NONE;
    let at = -1;
    for (let i = 0; i + 1 < n; i++) {
      if (ranks[i] < best) {
        best = ranks[i];
        at = i;
      }
    }
    if (at < 0) break;
    ids[at] = table.merged(table.find(ids[at], ids[at + 1]));
    for (let i = at + 1; i + 1 < n; i++) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
    }
    n--;
    if (at > 0) {
      const r = table.rankOf(ids[at - 1], ids[at]);
      ranks[at - 1] = r < 0 ? NONE : r;
    }
    if (at + 1 < n) {
      const r = table.rankOf(ids[at], ids[at + 1]);
      ranks[at] = r < 0 ? NONE : r;
    }
  }
  return n;
}

// Heap keys pack (rank, position) in one float64: rank * 2^32 + position, so the smallest key is
// the lowest rank and, among equal ranks, the leftmost. Exact while rank < 2^21.
const POS = 4294967296;

/** The heap algorithm; exported so tests can compare it with the scan on any length. */
export function mergeWordHeap(ids: Int32Array, n: number, table: MergeTable): number {
  if (n < 2) return n;
  const next = new Int32Array(n);
  const prev = new Int32Array(n);
  const alive = new Uint8Array(n).fill(1);
  for (let i = 0; i < n; i++) {
    next[i] = i + 1;
    prev[i] = i - 1;
  }
  const heap = new MinHeap(n);
  for (let i = 0; i + 1 < n; i++) {
    const r = table.rankOf(ids[i], ids[i + 1]);
    if (r >= 0) heap.push(r * POS + i);
  }
  while (heap.length > 0) {
    const key = heap.pop();
    const rank = Math.floor(key / POS);
    const i = key - rank * POS;
    if (!alive[i]) continue;
    const j = next[i];
    if (j >= n) continue;
    // Stale when the pair at i changed since this entry was pushed: its rank now differs.
    const p = table.find(ids[i], ids[j]);
    if (p < 0 || table.rank(p) !== rank) continue;
    ids[i] = table.merged(p);
    alive[j] = 0;
    const k = next[j];
    next[i] = k;
    if (k < n) prev[k] = i;
    const h = prev[i];
    if (h >= 0) {
      const r = table.rankOf(ids[h], ids[i]);
      if (r >= 0) heap.push(r * POS + h);
    }
    if (k < n) {
      const r = table.rankOf(ids[i], ids[k]);
      if (r >= 0) heap.push(r * POS + i);
    }
  }
  let m = 0;
  for (let i = 0; i < n; i = next[i]) ids[m++] = ids[i];
  return m;
}

/** A binary min-heap of numbers. */
class MinHeap {
  private data: Float64Array;
  length = 0;

  constructor(capacity: number) {
    this.data = new Float64Array(Math.max(4, capacity));
  }

  push(v: number): void {
    if (this.length === this.data.length) this.data = grow(this.data);
    const d = this.data;
    let i = this.length++;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (d[parent] <= v) break;
      d[i] = d[parent];
      i = parent;
    }
    d[i] = v;
  }

  pop(): number {
    const d = this.data;
    const top = d[0];
    const last = d[--this.length];
    let i = 0;
    const n = this.length;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && d[c + 1] < d[c]) c++;
      if (d[c] >= last) break;
      d[i] = d[c];
      i = c;
    }
    d[i] = last;
    return top;
  }
}
