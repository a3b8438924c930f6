/**
 * Streams a corpus's text in bounded chunks, each safe to tokenize on its own, so tokenizing a corpus
 * of any size holds only a few megabytes of it at a time.
 *
 * Files are read `chunkBytes` at a time and decoded as UTF-8 (a sequence split by a read boundary is
 * completed by the next read; a leading byte-order mark is dropped; invalid sequences become U+FFFD,
 * and a chunk that is not text by lib/data/text.ts's rule is an error naming the file and offset).
 * Text is handed out cut at the last safe point (lib/data/text.ts: between a letter and " letter"),
 * which tokenizes exactly as the uncut text would. Only when `maxChunkChars` of text pass without
 * any safe point (no prose: one giant token-like run) is it cut hard there, which may change a few ids
 * at that cut versus encoding the whole text; `ReadStats.hardCuts` counts them.
 * A document never shares a chunk with another: document boundaries are always cuts.
 */
import { promises as fsp } from 'node:fs';

import { argError, describe, GlmError } from '../errors';
import type { Corpus } from './corpus';
import { binaryReason, countReplacements, hardCut, lastSafeCut } from './text';

/** A piece of one document's text. */
export interface CorpusChunk {
  readonly text: string;
  /** Index of the document (file) in `corpus.files`. */
  readonly document: number;
  /** The file it comes from. */
  readonly path: string;
}

/** Options of `readCorpus`. */
export interface ReadCorpusOptions {
  /** Bytes read per file read (default 1 MiB). */
  readonly chunkBytes?: number;
  /** Longest text held back while looking for a safe cut before cutting hard (default 4 × chunkBytes). */
  readonly maxChunkChars?: number;
  /** Called after every read with the total bytes read so far (for progress bars). */
  readonly onBytes?: (bytesRead: number) => void;
  /** Filled in as reading goes. */
  readonly stats?: ReadStats;
}

/** Counters a reader fills in. */
export interface ReadStats {
  bytesRead: number;
  /** Invalid UTF-8 sequences replaced by U+FFFD (tolerated under the 1% rule). */
  replacements: number;
  /** Cuts made where no safe point was found (see the file comment). */
  hardCuts: number;
}

/** A fresh zeroed `ReadStats`. */
export function newReadStats(): ReadStats {
  return { bytesRead: 0, replacements: 0, hardCuts: 0 };
}

const OP = 'readCorpus';
/** Bytes read from a file at a time: big enough that per-read overhead vanishes, small enough to stay bounded. */
export const DEFAULT_CHUNK_BYTES = 1 << 20;

/**
 * Yields the corpus's text, document by document, in chunks of at most about
 * `maxChunkChars + chunkBytes` characters, each cut where tokenizing it separately is exact.
 * Throws a GlmError naming the file when one turns out not to be text, or changed size since the
 * corpus was resolved (the shard fingerprint would be wrong).
 */
export async function* readCorpus(corpus: Corpus, options: ReadCorpusOptions = {}): AsyncGenerator<CorpusChunk> {
  const chunkBytes = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
  if (!Number.isSafeInteger(chunkBytes) || chunkBytes < 16)
    throw argError(OP, 'options.chunkBytes', 'an integer >= 16', describe(chunkBytes));
  const maxChunkChars = options.maxChunkChars ?? 4 * chunkBytes;
  if (!Number.isSafeInteger(maxChunkChars) || maxChunkChars < 2)
    throw argError(OP, 'options.maxChunkChars', 'an integer >= 2', describe(maxChunkChars));
  const stats = options.stats ?? newReadStats();
  const buf = Buffer.alloc(chunkBytes);

  for (let document = 0; document < corpus.files.length; document++) {
    const file = corpus.files[document];
    const decoder = new TextDecoder('utf-8');
    let pending = '';
    // Text before this index has already been searched for a safe cut and had none.
    let searched = 0;
    let offset = 0;
    const fh = await fsp.open(file.path, 'r').catch((e: unknown) => {
      throw new GlmError(OP, `cannot open ${file.path}: ${(e as Error).message}`, { argument: 'corpus', actual: file.path });
    });
    try {
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, chunkBytes, offset);
        if (bytesRead === 0) break;
        const bytes = buf.subarray(0, bytesRead);
        const decoded = decoder.decode(bytes, { stream: true });
        const bad = binaryReason(bytes, decoded, offset);
        if (bad) throw new GlmError(OP, `${file.path} is not usable text: ${bad}`, { argument: 'corpus', expected: 'UTF-8 text', actual: file.path });
        stats.replacements += countReplacements(decoded);
        offset += bytesRead;
        stats.bytesRead += bytesRead;
        options.onBytes?.(stats.bytesRead);
        if (offset > file.bytes) break; // it grew: reported below rather than read without end

        pending += decoded;
        // At the end of the file the rest goes out whole below: no cut needed.
        const cut = offset < file.bytes ? lastSafeCut(pending, searched) : -1;
        if (cut > 0) {
          yield { text: pending.slice(0, cut), document, path: file.path };
          pending = pending.slice(cut);
          searched = 0;
        } else {
          searched = Math.max(0, pending.length - 1);
        }
        while (pending.length > maxChunkChars) {
          const at = hardCut(pending, maxChunkChars);
          stats.hardCuts++;
          yield { text: pending.slice(0, at), document, path: file.path };
          pending = pending.slice(at);
          searched = 0;
        }
      }
      const tail = decoder.decode(); // a sequence cut off by the end of the file becomes U+FFFD
      stats.replacements += countReplacements(tail);
      pending += tail;
      if (pending.length > 0) yield { text: pending, document, path: file.path };
    } finally {
      await fh.close();
    }
    if (offset !== file.bytes)
      throw new GlmError(OP, `${file.path} changed while it was read: it had ${file.bytes} bytes when the corpus was resolved, ${offset} now; resolve the corpus again`, {
        argument: 'corpus',
        expected: `${file.bytes} bytes`,
        actual: `${offset} bytes`,
      });
  }
}
