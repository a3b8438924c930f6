"""The PyTorch GPT that the benchmark twins (train_torch.py, generate_torch.py) run: GPT-2's block
(pre-LayerNorm, tanh GELU MLP, causal matmul-softmax-matmul attention, tied head, learned positions) with an
optional KV cache (past_key_values), loaded from the safetensors file ours wrote (our names, [out, in]).
"""
import json
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, 'rb') as f:
        data = f.read()
    (n,) = struct.unpack('<Q', data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == '__metadata__':
            continue
        assert info['dtype'] == 'F32', (name, info['dtype'])
        a, b = info['data_offsets']
        out[name] = torch.from_numpy(np.frombuffer(data[base + a:base + b], dtype='<f4').copy()).reshape(info['shape'])
    return out


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, bias = c['nEmbd'], c['bias']
        self.n_head = c['nHead']
        self.ln_1 = nn.LayerNorm(d, eps=1e-5)
        self.c_attn = nn.Linear(d, 3 * d, bias=bias)
        self.c_proj = nn.Linear(d, d, bias=bias)
        self.ln_2 = nn.LayerNorm(d, eps=1e-5)
        self.c_fc = nn.Linear(d, 4 * d, bias=bias)
        self.mlp_proj = nn.Linear(4 * d, d, bias=bias)
        if not bias:
            self.ln_1.bias = None
            self.ln_2.bias = None

    def forward(self, x, past=None):
        """x [B, T, C]; past: (k, v) [B, H, S, D] of the earlier positions, or None. Returns (x, (k, v))."""
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        if past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
        # torch 1.13 has no scaled_dot_product_attention: the matmul-softmax-matmul PyTorch users write.
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(C // H))
        if T > 1:
            S = k.shape[2]
            mask = torch.ones(T, S, dtype=torch.bool).tril(diagonal=S - T)
            att = att.masked_fill(~mask, float('-inf'))
        y = (att.softmax(dim=-1) @ v).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))
        return x, (k, v)


class GPT(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.wte = nn.Embedding(c['vocabSize'], c['nEmbd'])
        self.wpe = nn.Embedding(c['blockSize'], c['nEmbd'])
        self.h = nn.ModuleList([Block(c) for _ in range(c['nLayer'])])
        self.ln_f = nn.LayerNorm(c['nEmbd'], eps=1e-5)
        if not c['bias']:
            self.ln_f.bias = None

    def hidden(self, idx, past=None):
        """Final-LayerNorm activations [B, T, C] and the new past_key_values (one (k, v) per layer)."""
        T = idx.shape[1]
        start = 0 if past is None else past[0][0].shape[2]
        x = self.wte(idx) + self.wpe(torch.arange(start, start + T))
        presents = []
        for i, b in enumerate(self.h):
            x, kv = b(x, None if past is None else past[i])
            presents.append(kv)
        return self.ln_f(x), presents

    def forward(self, idx, past=None):
        """Logits of the last position [B, V] and the new past_key_values (generation)."""
        h, presents = self.hidden(idx, past)
        return h[:, -1, :] @ self.wte.weight.t(), presents

    def loss(self, idx, targets):
        """Mean cross-entropy of the tied-head logits against targets (training)."""
        logits = self.hidden(idx)[0] @ self.wte.weight.t()
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.reshape(-1))

    def load_ours(self, sd):
        """Maps our tensor names (GPT-2's, without the 'transformer.' prefix) onto this module."""
        own = dict(self.named_parameters())
        rename = lambda n: n.replace('.attn.c_attn.', '.c_attn.').replace('.attn.c_proj.', '.c_proj.') \
            .replace('.mlp.c_fc.', '.c_fc.').replace('.mlp.c_proj.', '.mlp_proj.')
        mapped = {rename(k): v for k, v in sd.items()}
        missing = set(own) - set(mapped)
        extra = set(mapped) - set(own)
        assert not missing and not extra, (sorted(missing), sorted(extra))
        with torch.no_grad():
            for k, p in own.items():
                assert tuple(p.shape) == tuple(mapped[k].shape), (k, p.shape, mapped[k].shape)
                p.copy_(mapped[k])
