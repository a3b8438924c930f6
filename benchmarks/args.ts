/** Command-line options of the benchmark scripts: `--name value` pairs and bare `--flag`s. */

/** The value after `--name`, or `def` when the option is absent. */
export function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

/** True when `--name` is present. */
export function flag(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** `--name` as a number (default `def`); a value that is not a finite number is an error naming the option. */
export function numArg(name: string, def: number): number {
  const raw = arg(name, String(def));
  const v = Number(raw);
  if (!Number.isFinite(v)) throw new Error(`--${name}: expected a number, got ${JSON.stringify(raw)}`);
  return v;
}
