/**
 * A plain, slow reference BPE trainer: after every merge it recounts every adjacent pair of every
 * distinct piece from scratch (no incremental updates), so it checks lib/tokenizer/train.ts's
 * bookkeeping. Same rules as ours: GPT-2 regex pieces, UTF-8 bytes (valid text only), pick the
 * most frequent pair, ties to the smaller (left id, right id), merge left to right without overlap,
 * a merge spelling an existing token reuses its id. Ids: k specials, then byte b at k + b.
 */

const PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The merges (as id pairs) a byte-level BPE trained on `texts` to `vocabSize` ids makes. */
export function referenceTrain(texts: string[], vocabSize: number, specials: number): [number, number][] {
  const counts = new Map<string, number>();
  for (const t of texts) for (const p of t.match(PATTERN) ?? []) counts.set(p, (counts.get(p) ?? 0) + 1);
  const words: { ids: number[]; count: number }[] = [];
  for (const [p, count] of counts) words.push({ ids: [...new TextEncoder().encode(p)].map((b) => specials + b), count });
  const bytesOf: string[] = [];
  for (let i = 0; i < specials; i++) bytesOf.push(`special${i}`);
  for (let b = 0; b < 256; b++) bytesOf.push(String.fromCharCode(b));
  const idOf = new Map(bytesOf.map((s, i) => [s, i]));
  const merges: [number, number][] = [];
  while (bytesOf.length < vocabSize) {
    const pairCounts = new Map<string, number>();
    for (const w of words) {
      for (let i = 0; i + 1 < w.ids.length; i++) {
        const key = `${w.ids[i]},${w.ids[i + 1]}`;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + w.count);
      }
    }
    let best: [number, number] | null = null;
    let bestCount = 0;
    for (const [key, c] of pairCounts) {
      const [a, b] = key.split(',').map(Number);
      if (c > bestCount || (c === bestCount && best !== null && (a < best[0] || (a === best[0] && b < best[1])))) {
        best = [a, b];
        bestCount = c;
      }
    }
    if (best === null) break;
    const [a, b] = best;
    const s = bytesOf[a] + bytesOf[b];
    let c = idOf.get(s);
    if (c === undefined) {
      c = bytesOf.length;
      bytesOf.push(s);
      idOf.set(s, c);
    }
    merges.push([a, b]);
    for (const w of words) {
      const out: number[] = [];
      for (let i = 0; i < w.ids.length; i++) {
        if (i + 1 < w.ids.length && w.ids[i] === a && w.ids[i + 1] === b) {
          out.push(c);
          i++;
        } else out.push(w.ids[i]);
      }
      w.ids = out;
    }
  }
  return merges;
}
