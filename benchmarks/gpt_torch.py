"""The PyTorch GPT that the benchmark twins (train_torch.py, generate_torch.py, gpu_train_torch.py,
gpu_generate_torch.py) run: GPT-2's block (pre-LayerNorm, tanh GELU MLP, causal attention, tied head,
learned positions), loaded from the safetensors file ours wrote (our names, [out, in]). Attention is the
matmul-softmax-matmul a PyTorch user writes, or F.scaled_dot_product_attention with GPT(c, sdpa=True)
when this torch has it (2.0 on). Two KV caches: past_key_values (per layer the keys and values so far,
torch.cat one step on, as Hugging Face's), or a static one (StaticCache: buffers of the final length
written in place at given positions, the form a CUDA graph can replay).
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


HAS_SDPA = hasattr(F, 'scaled_dot_product_attention')


def attend(q, k, v, mask, sdpa):
    """softmax(q·kᵀ/√D)·v, q [B, H, T, D], k and v [B, H, S, D]; mask bool [T, S] (True: attend), or None
    for no mask, or 'causal' (T == S)."""
    if sdpa and HAS_SDPA:
        if isinstance(mask, str):
            return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(q.shape[-1]))
    if isinstance(mask, str):
        T = q.shape[2]
        mask = torch.ones(T, T, dtype=torch.bool, device=q.device).tril()
    if mask is not None:
        att = att.masked_fill(~mask, float('-inf'))
    return att.softmax(dim=-1) @ v


class Block(nn.Module):
    def __init__(self, c, sdpa=False):
        super().__init__()
        self.sdpa = sdpa
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

    def forward(self, x, past=None, static=None):
        """x [B, T, C]; past: (k, v) [B, H, S, D] of the earlier positions, or None; static: (k_buf, v_buf,
        pos) with buffers [B, H, L, D] and pos long [T] the new tokens' positions (written in place, the
        attention reads the whole buffer masked to positions <= pos). Returns (x, (k, v))."""
        B, T, C = x.shape
        H = self.n_head
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, H, C // H).transpose(1, 2) for t in (q, k, v))
        if static is not None:
            k_buf, v_buf, pos = static
            k_buf.index_copy_(2, pos, k.to(k_buf.dtype))
            v_buf.index_copy_(2, pos, v.to(v_buf.dtype))
            k, v = k_buf, v_buf
            mask = torch.arange(k.shape[2], device=x.device)[None, :] <= pos[:, None]
        elif past is not None:
            k = torch.cat([past[0], k], dim=2)
            v = torch.cat([past[1], v], dim=2)
            S = k.shape[2]
            mask = None if T == 1 else torch.ones(T, S, dtype=torch.bool, device=x.device).tril(diagonal=S - T)
        else:
            mask = 'causal' if T > 1 else None
        y = attend(q, k, v, mask, self.sdpa).transpose(1, 2).contiguous().view(B, T, C)
        x = x + self.c_proj(y)
        x = x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate='tanh'))
        return x, (k, v)


class StaticCache:
    """Per layer key and value buffers [B, H, length, D] of `dtype` on `device`, for GPT.hidden(static=...)."""

    def __init__(self, c, B, length, dtype, device):
        shape = (B, c['nHead'], length, c['nEmbd'] // c['nHead'])
        self.k = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(c['nLayer'])]
        self.v = [torch.zeros(shape, dtype=dtype, device=device) for _ in range(c['nLayer'])]


class GPT(nn.Module):
    def __init__(self, c, sdpa=False):
        super().__init__()
        self.wte = nn.Embedding(c['vocabSize'], c['nEmbd'])
        self.wpe = nn.Embedding(c['blockSize'], c['nEmbd'])
        self.h = nn.ModuleList([Block(c, sdpa) for _ in range(c['nLayer'])])
        self.ln_f = nn.LayerNorm(c['nEmbd'], eps=1e-5)
        if not c['bias']:
            self.ln_f.bias = None

    def hidden(self, idx, past=None, static=None):
        """Final-LayerNorm activations [B, T, C] and the new past_key_values (one (k, v) per layer).
        static: (StaticCache, pos) with pos long [T] the positions of idx's tokens (see Block.forward)."""
        T = idx.shape[1]
        if static is not None:
            pos = static[1]
        else:
            start = 0 if past is None else past[0][0].shape[2]
            pos = torch.arange(start, start + T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        presents = []
        for i, b in enumerate(self.h):
            layer_static = None if static is None else (static[0].k[i], static[0].v[i], pos)
            x, kv = b(x, None if past is None else past[i], layer_static)
            presents.append(kv)
        return self.ln_f(x), presents

    def forward(self, idx, past=None, static=None):
        """Logits of the last position [B, V] and the new past_key_values (generation)."""
        h, presents = self.hidden(idx, past, static)
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
