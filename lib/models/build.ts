/**
 * Building a model's modules from its created parameters: the lookups every model does (a tensor by
 * name, an optional bias, a Linear, a LayerNorm, an Embedding, a pre-LN transformer block), and the
 * check that the modules' parameter names are the spec table's, in its order (state dicts and
 * optimizer state rely on it). Shared by GPT and Encoder so both build their blocks the same way.
 */
import { GlmError } from '../errors';
import { SelfAttention, SelfAttentionOptions } from '../nn/attention';
import { Block } from '../nn/block';
import { Embedding } from '../nn/embedding';
import { LayerNorm } from '../nn/layerNorm';
import { Linear } from '../nn/linear';
import { MLP } from '../nn/mlp';
import type { Module } from '../nn/module';
import type { ParamSpec } from '../nn/params';
import type { Tensor } from '../tensor';

/** Modules over a model's parameters by name. */
export class ModuleFactory {
  constructor(private readonly params: ReadonlyMap<string, Tensor>) {}

  tensor(name: string): Tensor {
    const t = this.params.get(name);
    if (!t) throw new GlmError('model', `internal error: no parameter "${name}" in the table`);
    return t;
  }

  optional(name: string): Tensor | null {
    return this.params.get(name) ?? null;
  }

  linear(prefix: string): Linear {
    return new Linear(this.tensor(`${prefix}.weight`), this.optional(`${prefix}.bias`));
  }

  norm(prefix: string): LayerNorm {
    return new LayerNorm(this.tensor(`${prefix}.weight`), this.optional(`${prefix}.bias`));
  }

  embedding(name: string): Embedding {
    return new Embedding(this.tensor(`${name}.weight`));
  }

  /** Block `prefix` (h.i): ln_1, attn.c_attn, attn.c_proj, ln_2, mlp.c_fc, mlp.c_proj. */
  block(prefix: string, nHead: number, attention: SelfAttentionOptions = {}): Block {
    const attn = new SelfAttention(this.linear(`${prefix}.attn.c_attn`), this.linear(`${prefix}.attn.c_proj`), nHead, attention);
    const mlp = new MLP(this.linear(`${prefix}.mlp.c_fc`), this.linear(`${prefix}.mlp.c_proj`));
    return new Block(this.norm(`${prefix}.ln_1`), attn, this.norm(`${prefix}.ln_2`), mlp);
  }
}

/** Throws when `model`'s parameter names are not exactly `specs`' names in order. */
export function checkParameterNames(op: string, model: Module, specs: readonly ParamSpec[]): void {
  const names = model.namedParameters().map(([n]) => n);
  if (names.join('\n') !== specs.map((s) => s.name).join('\n'))
    throw new GlmError(op, 'internal error: module parameter names differ from the parameter table');
}
