/**
 * What `glm train` shows while it runs: a progress bar (step, loss, tokens/s, ETA) on a terminal, and
 * plain log lines when the output is a file or a pipe (CI logs), where a redrawn bar would be noise.
 * Lines printed while the bar is up (eval results) go above it.
 */
import { MultiBar, Presets, SingleBar } from 'cli-progress';

export interface Progress {
  /** Moves the bar to `step` with the latest figures. */
  update(step: number, fields: { loss: number; tokensPerSec: number }): void;
  /** Prints a line without breaking the bar. */
  log(line: string): void;
  stop(): void;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(r).padStart(2, '0')}s` : `${r}s`;
}

/** A bar on a TTY; on anything else a line every `every` steps (and at the last step). */
export function createProgress(total: number, start: number, opts: { tty?: boolean; every?: number } = {}): Progress {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  if (!tty) {
    const every = opts.every ?? Math.max(1, Math.round(total / 50));
    const t0 = Date.now();
    return {
      update(step, f) {
        if (step % every !== 0 && step !== total) return;
        const eta = ((Date.now() - t0) / 1000 / Math.max(step - start, 1)) * (total - step);
        console.log(`step ${step}/${total}  loss ${f.loss.toFixed(4)}  ${Math.round(f.tokensPerSec)} tok/s  eta ${formatDuration(eta)}`);
      },
      log: (line) => console.log(line),
      stop() {},
    };
  }
  const multi = new MultiBar(
    {
      format: ' {bar} step {value}/{total} | loss {loss} | {tps} tok/s | ETA {eta_formatted}',
      hideCursor: true,
      stream: process.stderr,
      etaBuffer: 50,
      fps: 5,
    },
    Presets.shades_classic,
  );
  const bar: SingleBar = multi.create(total, start, { loss: '-', tps: '-' });
  return {
    update(step, f) {
      bar.update(step, { loss: f.loss.toFixed(4), tps: Math.round(f.tokensPerSec) });
    },
    log(line) {
      multi.log(line + '\n');
    },
    stop() {
      multi.stop();
    },
  };
}
