/**
 * The error type of the library: every message names the op, the argument, what was expected and
 * what came, so a user can fix the call without reading our source.
 */
export class GlmError extends Error {
  readonly op: string;
  readonly argument: string | undefined;
  readonly expected: string | undefined;
  readonly actual: string | undefined;

  constructor(op: string, message: string, details: { argument?: string; expected?: string; actual?: string } = {}) {
    super(`${op}: ${message}`);
    this.name = 'GlmError';
    this.op = op;
    this.argument = details.argument;
    this.expected = details.expected;
    this.actual = details.actual;
  }
}

/** Builds the standard "argument 'x': expected E, got A" error. */
export function argError(op: string, argument: string, expected: string, actual: string): GlmError {
  return new GlmError(op, `argument '${argument}': expected ${expected}, got ${actual}`, { argument, expected, actual });
}

/** Describes any JS value briefly for an error message. */
export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Number.isNaN(value) ? 'NaN' : String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name} of length ${(value as unknown as { length: number }).length}`;
  if (typeof value === 'object') {
    const desc = (value as { describe?: () => string }).describe;
    if (typeof desc === 'function') return desc.call(value);
    return `an object (${(value as object).constructor?.name ?? 'Object'})`;
  }
  return typeof value;
}
