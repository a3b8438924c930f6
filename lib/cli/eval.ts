/** `glm eval DIR [files...]`: loss and perplexity of a trained run on its validation split or on given text. */
import { GlmError } from '../errors';
import { evaluateRun } from '../train/evaluate';
import { evaluateClassifierRun, isClassifierRun } from '../train/evaluateClassifier';
import { formatEval } from '../train/finetune';

export async function evalCommand(dir: string, files: string[], o: { device?: string; batch?: number; json?: boolean }): Promise<void> {
  if (isClassifierRun(dir)) {
    // A fine-tuned run: every head, on its held-out split or on one JSONL file.
    if (files.length > 1) throw new GlmError('eval', `a classifier run is evaluated on one JSONL file of {"text", "label"} lines, got ${files.length} files`);
    const r = await evaluateClassifierRun(dir, { file: files[0], device: o.device, batchSize: o.batch });
    console.log(o.json ? JSON.stringify(r) : `${dir} on the ${r.source}:\n${formatEval(r)}`);
    return;
  }
  const r = await evaluateRun(dir, { files, device: o.device, batchSize: o.batch });
  if (o.json) {
    console.log(JSON.stringify(r));
    return;
  }
  const parts = r.parts && Object.keys(r.parts).length ? ` (${Object.entries(r.parts).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ')})` : '';
  console.log(`${dir} (step ${r.step}) on the ${r.source}: loss ${r.loss.toFixed(4)}${parts}, perplexity ${r.perplexity.toFixed(3)} over ${r.tokens.toLocaleString('en-US')} tokens`);
}
