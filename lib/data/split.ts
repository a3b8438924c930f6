/**
 * The deterministic train/validation split of a token sequence.
 *
 * The validation set is `pieces` contiguous ranges spread evenly over the corpus: the sequence is cut
 * into `pieces` equal regions and the last `valFraction` of each region is validation. So a corpus in
 * chronological order (the default one runs 1790 → 2018) is validated on every era, not only on the
 * most recent tenth as a plain tail split would. Training windows never cross into a validation range
 * (the sampler draws each window inside one range), so no validation token is trained on.
 *
 * Each piece gets at least `minPieceTokens` tokens (fewer pieces on a small corpus, down to one: the
 * tail), so a validation range holds whole windows; each range wastes blockSize window starts at its
 * end, a few percent with the defaults.
 */
import { argError, describe } from '../errors';

/** Tokens [start, end) of a sequence. */
export interface TokenRange {
  readonly start: number;
  readonly end: number;
}

/** A split: disjoint ranges covering [0, length). */
export interface TokenSplit {
  readonly train: readonly TokenRange[];
  readonly val: readonly TokenRange[];
  readonly trainTokens: number;
  readonly valTokens: number;
}

/** Options of `splitTokens`. */
export interface SplitOptions {
  /** Fraction of tokens held out for validation, in [0, 1) (default 0.1). */
  readonly valFraction?: number;
  /** Most validation ranges (default 16). */
  readonly pieces?: number;
  /** Fewest tokens per validation range (default 8192). */
  readonly minPieceTokens?: number;
}

/** Fraction of tokens held out for validation when none is given. */
export const DEFAULT_VAL_FRACTION = 0.1;

/** Splits `length` tokens into train and validation ranges (see the file comment). */
export function splitTokens(length: number, options: SplitOptions = {}): TokenSplit {
  const op = 'splitTokens';
  if (!Number.isSafeInteger(length) || length < 0) throw argError(op, 'length', 'a non-negative integer (the token count)', describe(length));
  const f = options.valFraction ?? DEFAULT_VAL_FRACTION;
  if (typeof f !== 'number' || !(f >= 0 && f < 1)) throw argError(op, 'options.valFraction', 'a number in [0, 1)', describe(f));
  const maxPieces = options.pieces ?? 16;
  if (!Number.isSafeInteger(maxPieces) || maxPieces < 1) throw argError(op, 'options.pieces', 'a positive integer', describe(maxPieces));
  const minPiece = options.minPieceTokens ?? 8192;
  if (!Number.isSafeInteger(minPiece) || minPiece < 1) throw argError(op, 'options.minPieceTokens', 'a positive integer', describe(minPiece));

  const valTokens = Math.round(length * f);
  if (valTokens === 0) return { train: length > 0 ? [{ start: 0, end: length }] : [], val: [], trainTokens: length, valTokens: 0 };
  const k = Math.max(1, Math.min(maxPieces, Math.floor(valTokens / minPiece)));
  const train: TokenRange[] = [];
  const val: TokenRange[] = [];
  for (let j = 0; j < k; j++) {
    const regionStart = Math.floor((j * length) / k);
    const regionEnd = Math.floor(((j + 1) * length) / k);
    // Piece sizes are differences of one rounding, so they sum to valTokens (the clamp only bites
    // for valFraction near 1 on a tiny sequence).
    const size = Math.min(regionEnd - regionStart, Math.floor(((j + 1) * valTokens) / k) - Math.floor((j * valTokens) / k));
    const valStart = regionEnd - size;
    if (valStart > regionStart) train.push({ start: regionStart, end: valStart });
    if (size > 0) val.push({ start: valStart, end: regionEnd });
  }
  const held = val.reduce((n, r) => n + r.end - r.start, 0);
  return { train, val, trainTokens: length - held, valTokens: held };
}
