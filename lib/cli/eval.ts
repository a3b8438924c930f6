/** `glm eval DIR [files...]`: loss and perplexity of a trained run on its validation split or on given text. */
import { evaluateRun } from '../train/evaluate';

export async function evalCommand(dir: string, files: string[], o: { device?: string; batch?: number; json?: boolean }): Promise<void> {
  const r = await evaluateRun(dir, { files, device: o.device, batchSize: o.batch });
  if (o.json) {
    console.log(JSON.stringify(r));
    return;
  }
  console.log(`${dir} (step ${r.step}) on the ${r.source}: loss ${r.loss.toFixed(4)}, perplexity ${r.perplexity.toFixed(3)} over ${r.tokens.toLocaleString('en-US')} tokens`);
}
