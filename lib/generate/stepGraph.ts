/**
 * The one-token decoding step of a GPT as a replayed op graph (lib/graph.ts): the first step is
 * captured (it runs as it is recorded), every later one uploads three small inputs (the rows' next
 * tokens, their cache lengths, and those plus one) and replays. The JS thread then spends a few
 * microseconds a step instead of submitting ~30 ops per layer, which on a small machine left the
 * step's matrix products a core short.
 *
 * The step reads its cache positions from device tensors (GPT.forwardStepAt), so a replay writes
 * each row's keys and values where its cache now ends and attends over its own length, whatever
 * happened to the cache between steps (a row emptied, a row restarted by a prefill): the host
 * lengths stay the truth, mirrored into the inputs before each replay (rotary angles too come from
 * them: ops.ropeAt). GLM_DECODE_GRAPH=0 takes the eager path.
 */
import { argError } from '../errors';
import { OpGraph, upload } from '../graph';
import type { GPT, KVCache } from '../models/gpt';
import type { CastCache } from '../nn/context';
import { keep, scope } from '../scope';
import { Tensor } from '../tensor';

/** Whether decoding goes through a step graph (else forwardCached one step at a time): unless GLM_DECODE_GRAPH=0. */
export function stepGraphEnabled(): boolean {
  return process.env.GLM_DECODE_GRAPH !== '0';
}

/** One-token steps of every row of `cache`, each returning the logits [B, V]; see the file comment. */
export class DecodeStepGraph {
  private readonly model: GPT;
  private readonly cache: KVCache;
  private readonly autocast: 'bf16' | undefined;
  private readonly casts: CastCache | undefined;
  private readonly ids: Tensor;
  private readonly positions: Tensor;
  private readonly keyLengths: Tensor;
  private graph: OpGraph | null = null;
  private logits: Tensor | null = null;

  /** `casts`: with autocast, the bf16 copies of the model's parameters the step reads (else it casts them every step). */
  constructor(model: GPT, cache: KVCache, autocast?: 'bf16', casts?: CastCache) {
    this.model = model;
    this.cache = cache;
    this.autocast = autocast;
    this.casts = casts;
    const B = cache.batchSize, device = model.device;
    this.ids = keep(Tensor.empty([B, 1], { dtype: 'i32', device }));
    this.positions = keep(Tensor.empty([B], { dtype: 'i32', device }));
    this.keyLengths = keep(Tensor.empty([B], { dtype: 'i32', device }));
  }

  /**
   * Feeds ids[b] to row b (at the end of its cache) and returns the logits [B, V]: a tensor this
   * object owns and overwrites at the next step (read it, or copy it, before then; do not dispose it).
   */
  step(ids: Int32Array): Tensor {
    const op = 'DecodeStepGraph.step';
    const cache = this.cache;
    cache.checkLive(op);
    const B = cache.batchSize;
    if (!(ids instanceof Int32Array) || ids.length !== B) throw argError(op, 'ids', `an Int32Array of ${B} token ids`, `${ids?.length} values`);
    const lengths = cache.lengths;
    lengths.forEach((n, b) => {
      if (n >= cache.maxLength) throw argError(op, 'ids', `room in row ${b}'s cache for one more token`, `a full cache (${n} of ${cache.maxLength})`);
    });
    upload(this.ids, ids);
    upload(this.positions, Int32Array.from(lengths));
    upload(this.keyLengths, Int32Array.from(lengths, (n) => n + 1));
    if (this.graph) this.graph.replay();
    else {
      const { graph, result } = OpGraph.capture(this.model.device, () =>
        scope(() => this.model.forwardStepAt(this.ids, cache, this.positions, this.keyLengths, this.autocast, this.casts)));
      this.graph = graph;
      this.logits = keep(result);
    }
    cache.advance(new Array<number>(B).fill(1));
    return this.logits!;
  }

  /** Ops recorded for a step (0 before the first step). */
  get opCount(): number {
    return this.graph?.opCount ?? 0;
  }

  /** Frees the graph (and the buffers it pins), its inputs and its logits. */
  dispose(): void {
    this.graph?.dispose();
    this.graph = null;
    for (const t of [this.ids, this.positions, this.keyLengths, this.logits]) t?.dispose();
    this.logits = null;
  }
}
