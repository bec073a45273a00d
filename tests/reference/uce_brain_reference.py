"""A float64 reference of the UCE-brain forward pass (uce-models.md §2, uce-brain-notes.md §2),
written from the spec, in two independent ways:

  * forward_manual(): plain tensor algebra, every intermediate stage returned by name;
  * forward_modules(): torch.nn modules as UCEModel builds them (nn.Embedding, nn.LayerNorm,
    nn.Sequential projector, nn.TransformerEncoderLayer(batch_first=True, norm_first=...),
    boolean src_key_padding_mask, output projector, readout, F.normalize).

Both take a state dict of numpy float64 arrays (keys WITHOUT the "uce." prefix) and a config dict
(config.json's keys). Inputs: tokens [B, P] int64 padded to pad_length P, lengths [B].

pad_rows: "computed" = padded rows go through every layer (PyTorch's slow path);
          "zeroed"   = the encoder's output is zero at padded positions (PyTorch's eval fast path
                       with nested tensors, which a post-norm encoder takes under no_grad).
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-5


def _t(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float64))


def _ln(x, w, b):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + EPS) * w + b


def _gelu(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def _act(cfg):
    return _gelu if cfg.get("activation", "gelu") == "gelu" else torch.relu


def forward_manual(sd, cfg, tokens, lengths, pad_rows):
    """Returns (embeddings [B, out], stages {name: tensor [B, P, ...]})."""
    S = {k: _t(v) for k, v in sd.items()}
    tokens = torch.as_tensor(tokens, dtype=torch.long)
    B, P = tokens.shape
    d = cfg["d_model"]
    heads = cfg["nhead"]
    hd = d // heads
    st = {}
    x = S["embedding_layer.embedding.weight"][tokens]
    if cfg.get("use_embedding_layer_norm", True):
        x = _ln(x, S["embedding_layer.layer_norm.weight"], S["embedding_layer.layer_norm.bias"])
        st["step1_embed_norm"] = x
    p = "input_gene_embedding_projector."
    if cfg.get("input_projection_type", "linear") == "linear":
        x = x @ S[p + "0.weight"].T + S[p + "0.bias"]
        st["step2_proj0"] = x
        x = _gelu(_ln(x, S[p + "1.weight"], S[p + "1.bias"]))
    else:
        x = _gelu(x @ S[p + "0.weight"].T + S[p + "0.bias"])
        st["step2_proj0"] = x
        x = _gelu(x @ S[p + "2.weight"].T + S[p + "2.bias"])
        x = x @ S[p + "4.weight"].T + S[p + "4.bias"]
        x = _ln(x, S[p + "5.weight"], S[p + "5.bias"])
    st["step2_projected"] = x
    pe = S["pos_encoder.pe"]
    pe = pe[:, 0, :] if pe.dim() == 3 else pe
    x = x + pe[:P][None]
    st["step3_pos"] = x
    pad = torch.arange(P)[None, :] >= torch.as_tensor(lengths)[:, None]  # True = pad
    act = _act(cfg)
    norm_first = cfg.get("norm_first", False)
    for l in range(cfg["num_layers"]):
        k = f"transformer_encoder.layers.{l}."

        def attention(inp):
            qkv = inp @ S[k + "self_attn.in_proj_weight"].T + S[k + "self_attn.in_proj_bias"]
            st[f"layer{l}_qkv"] = qkv
            q, kk, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
            q = q.reshape(B, P, heads, hd).transpose(1, 2)
            kk = kk.reshape(B, P, heads, hd).transpose(1, 2)
            v = v.reshape(B, P, heads, hd).transpose(1, 2)
            logits = q @ kk.transpose(-1, -2) / math.sqrt(hd)
            logits = logits.masked_fill(pad[:, None, None, :], float("-inf"))
            a = torch.softmax(logits, -1) @ v
            a = a.transpose(1, 2).reshape(B, P, d)
            st[f"layer{l}_attn"] = a
            o = a @ S[k + "self_attn.out_proj.weight"].T + S[k + "self_attn.out_proj.bias"]
            st[f"layer{l}_attn_out"] = o
            return o

        def ffn(inp):
            up = act(inp @ S[k + "linear1.weight"].T + S[k + "linear1.bias"])
            st[f"layer{l}_ffn_up"] = up
            return up @ S[k + "linear2.weight"].T + S[k + "linear2.bias"]

        if not norm_first:
            h1 = _ln(x + attention(x), S[k + "norm1.weight"], S[k + "norm1.bias"])
            st[f"layer{l}_norm1"] = h1
            x = _ln(h1 + ffn(h1), S[k + "norm2.weight"], S[k + "norm2.bias"])
        else:
            n1 = _ln(x, S[k + "norm1.weight"], S[k + "norm1.bias"])
            st[f"layer{l}_norm1"] = n1
            x1 = x + attention(n1)
            n2 = _ln(x1, S[k + "norm2.weight"], S[k + "norm2.bias"])
            st[f"layer{l}_norm2"] = n2
            x = x1 + ffn(n2)
        st[f"layer{l}_out"] = x
    if "transformer_encoder.norm.weight" in S:
        x = _ln(x, S["transformer_encoder.norm.weight"], S["transformer_encoder.norm.bias"])
        st["encoder_norm"] = x
    if pad_rows == "zeroed":
        x = x.masked_fill(pad[:, :, None], 0.0)
    y = x @ S["output_embedding_projector.0.weight"].T + S["output_embedding_projector.0.bias"]
    y = _ln(y, S["output_embedding_projector.1.weight"], S["output_embedding_projector.1.bias"])
    st["output_projected"] = y
    pooled = y[:, 0, :] if cfg.get("embedding_reduction", "cls") == "cls" else y.mean(1)
    st["output_pooled"] = pooled
    emb = pooled / torch.clamp(pooled.norm(dim=-1, keepdim=True), min=1e-12)
    return emb, st


class _Sinusoidal(nn.Module):
    def __init__(self, pe):
        super().__init__()
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + (self.pe[:x.size(1), 0, :] if self.pe.dim() == 3 else self.pe[:x.size(1)][None])


def build_modules(sd, cfg):
    """The UCEModel module tree (as the UCE-brain code builds it), float64, eval mode."""
    d, E = cfg["d_model"], cfg.get("embedding_dim", 5120)
    m = nn.Module()
    m.embedding = nn.Embedding(sd["embedding_layer.embedding.weight"].shape[0], E, padding_idx=0)
    m.embedding.weight.data = _t(sd["embedding_layer.embedding.weight"])
    m.layer_norm = None
    if cfg.get("use_embedding_layer_norm", True):
        m.layer_norm = nn.LayerNorm(E).double()
        m.layer_norm.weight.data = _t(sd["embedding_layer.layer_norm.weight"])
        m.layer_norm.bias.data = _t(sd["embedding_layer.layer_norm.bias"])
    p = "input_gene_embedding_projector."
    if cfg.get("input_projection_type", "linear") == "linear":
        proj = nn.Sequential(nn.Linear(E, d), nn.LayerNorm(d), nn.GELU())
    else:
        h = sd[p + "2.weight"].shape[0]
        proj = nn.Sequential(nn.Linear(E, d), nn.GELU(), nn.Linear(d, h), nn.GELU(), nn.Linear(h, d), nn.LayerNorm(d))
    proj = proj.double()
    for name, t in proj.state_dict().items():
        t.copy_(_t(sd[p + name]))
    m.proj = proj
    m.pos = _Sinusoidal(_t(sd["pos_encoder.pe"]))
    layer = nn.TransformerEncoderLayer(d, cfg["nhead"], cfg["dim_feedforward"], dropout=0.0,
                                       activation=cfg.get("activation", "gelu"), batch_first=True,
                                       norm_first=cfg.get("norm_first", False))
    final = None
    if "transformer_encoder.norm.weight" in sd:
        final = nn.LayerNorm(d)
    m.encoder = nn.TransformerEncoder(layer, cfg["num_layers"], norm=final).double()
    for name, t in m.encoder.state_dict().items():
        t.copy_(_t(sd["transformer_encoder." + name]))
    out = nn.Sequential(nn.Linear(d, cfg["output_embedding_dim"]), nn.LayerNorm(cfg["output_embedding_dim"])).double()
    for name, t in out.state_dict().items():
        t.copy_(_t(sd["output_embedding_projector." + name]))
    m.out = out
    return m.eval()


def forward_modules(sd, cfg, tokens, lengths, fast_path):
    """fast_path=False: grad enabled, so PyTorch takes the ordinary (padded rows computed) path.
    fast_path=True: eval under no_grad, PyTorch's own nested-tensor path (post-norm only); its
    output is padded back to P with zeros, as torch >= 2.0 does with to_padded_tensor(0, size)."""
    m = build_modules(sd, cfg)
    tokens = torch.as_tensor(tokens, dtype=torch.long)
    B, P = tokens.shape
    mask = torch.arange(P)[None, :] >= torch.as_tensor(lengths)[:, None]
    ctx = torch.no_grad() if fast_path else torch.enable_grad()
    with ctx:
        x = m.embedding(tokens)
        if m.layer_norm is not None:
            x = m.layer_norm(x)
        x = m.pos(m.proj(x))
        h = m.encoder(x, src_key_padding_mask=mask)
        if fast_path:
            assert h.shape[1] <= P
            h = torch.cat([h, torch.zeros(B, P - h.shape[1], h.shape[2], dtype=h.dtype)], 1)
            if not cfg.get("norm_first", False):  # PyTorch has no fast path for norm_first layers
                assert bool((h[mask] == 0).all()), "fast path left non-zero padded rows"
        y = m.out(h)
        pooled = y[:, 0, :] if cfg.get("embedding_reduction", "cls") == "cls" else y.mean(1)
        emb = F.normalize(pooled, dim=-1)
    return emb.detach()
