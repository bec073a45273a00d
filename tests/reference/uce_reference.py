"""Independent Python reference for the ORIGINAL UCE model (snap-stanford/UCE), used only to make
fixtures (tests/fixtures/uce_tiny) and the demo data (demo/). Never imported at test time.

Two implementations of the same forward pass live here, on purpose:
  (a) spec_forward(): plain numpy/scipy float64, written from /work/shared/spec/uce-models.md §1
      (no torch involved);
  (b) UceOriginalModel: torch modules with the OFFICIAL state-dict key names (pe_embedding,
      pos_encoder.pe, encoder.0/.2, transformer_encoder.layers.L.*, decoder.*, binary_decoder.*,
      gene_embedding_layer.*), run through nn.TransformerEncoderLayer exactly as the official
      code does (seq-first, post-norm, ReLU, float key-padding mask ADDED to the logits).
The fixture scripts assert (a) == (b) before writing anything.
"""
import collections
import csv
import math
import pickle

import numpy as np
import scipy.special
import torch
from torch import nn

LN_EPS = 1e-5
NORM_EPS = 1e-12


# ----------------------------------------------------------------------------------------------
# (b) torch modules with the official key names
# ----------------------------------------------------------------------------------------------
class PositionalEncoding(nn.Module):
    """Sinusoidal table [max_len, 1, d] computed the way the official PositionalEncoding does
    (float32 torch ops, sin on even columns, cos on odd ones); stored as buffer `pe`."""

    def __init__(self, d_model, dropout=0.05, max_len=1536):
        super().__init__()
        self.dropout = nn.Dropout(p=dropout)
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, 1, d_model)
        pe[:, 0, 0::2] = torch.sin(position * div_term)
        pe[:, 0, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):  # x: [seq, batch, d]
        return self.dropout(x + self.pe[: x.size(0)])


def full_block(n_in, n_out, p_drop):
    """Linear -> LayerNorm -> GELU -> Dropout (keys .0 and .1)."""
    return nn.Sequential(nn.Linear(n_in, n_out), nn.LayerNorm(n_out), nn.GELU(), nn.Dropout(p_drop))


class UceOriginalModel(nn.Module):
    """Same module tree (hence the same state-dict keys) as the official TransformerModel, with the
    decoder's first hidden width and the binary_decoder widths as parameters so tiny models fit in
    a fixture. Registration order follows the official constructor; pe_embedding comes last."""

    def __init__(self, token_dim, d_model, nhead, d_hid, nlayers, output_dim, n_tokens,
                 decoder_hidden=1024, binary_hidden=(2048, 512, 128), max_len=1536, dropout=0.05):
        super().__init__()
        self.d_model = d_model
        self.pos_encoder = PositionalEncoding(d_model, dropout, max_len)
        self.encoder = nn.Sequential(nn.Linear(token_dim, d_model), nn.GELU(), nn.LayerNorm(d_model))
        layer = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)  # seq-first, ReLU, post-norm
        self.transformer_encoder = nn.TransformerEncoder(layer, nlayers, enable_nested_tensor=False)
        self.decoder = nn.Sequential(full_block(d_model, decoder_hidden, dropout),
                                     full_block(decoder_hidden, output_dim, dropout),
                                     full_block(output_dim, output_dim, dropout),
                                     nn.Linear(output_dim, output_dim))
        b1, b2, b3 = binary_hidden
        self.binary_decoder = nn.Sequential(full_block(output_dim + d_model, b1, dropout),
                                            full_block(b1, b2, dropout), full_block(b2, b3, dropout),
                                            nn.Linear(b3, 1))
        self.gene_embedding_layer = nn.Sequential(nn.Linear(token_dim, d_model), nn.GELU(),
                                                  nn.LayerNorm(d_model))
        self.pe_embedding = nn.Embedding.from_pretrained(torch.zeros(n_tokens, token_dim))

    def embed_tokens(self, token_ids):
        """token_ids [seq, batch] -> L2-normalised rows [seq, batch, token_dim] (official run_eval)."""
        return nn.functional.normalize(self.pe_embedding(token_ids), dim=2)

    def forward(self, src, mask):
        """src [seq, batch, token_dim] (already normalised), mask [batch, seq] (1 real, 0 pad).
        The FLOAT mask (1 - mask) is handed to the encoder as in the official code: PyTorch adds it."""
        src = self.encoder(src) * math.sqrt(self.d_model)
        src = self.pos_encoder(src)
        out = self.transformer_encoder(src, src_key_padding_mask=(1 - mask))
        gene_out = self.decoder(out)
        return gene_out, nn.functional.normalize(gene_out[0, :, :], dim=1)


def randomize_model(model, gen, in_proj_std_per_layer):
    """Fill every parameter with non-trivial random values so that every op matters: LayerNorm
    gammas in [0.5, 1.5] and betas ~N(0, 0.2); non-zero biases; Linear weights ~N(0, 1/fan_in)
    except the attention in_proj, whose std is chosen per layer so attention logits are O(1)
    (neither uniform nor saturated, so the +1 padding bias visibly changes the result)."""
    with torch.no_grad():
        for name, mod in model.named_modules():
            if isinstance(mod, nn.LayerNorm):
                mod.weight.copy_(0.5 + torch.rand(mod.weight.shape, generator=gen))
                mod.bias.copy_(0.2 * torch.randn(mod.bias.shape, generator=gen))
            elif isinstance(mod, nn.Linear):
                std = 1.0 / math.sqrt(mod.in_features)
                mod.weight.copy_(std * torch.randn(mod.weight.shape, generator=gen))
                mod.bias.copy_(0.1 * torch.randn(mod.bias.shape, generator=gen))
        for i, layer in enumerate(model.transformer_encoder.layers):
            att = layer.self_attn
            att.in_proj_weight.copy_(in_proj_std_per_layer[i] * torch.randn(att.in_proj_weight.shape,
                                                                            generator=gen))
            att.in_proj_bias.copy_(0.1 * torch.randn(att.in_proj_bias.shape, generator=gen))


def torch_forward_traced(model, table, tokens, mask):
    """Run the official-style forward with hooks and return the named intermediates (batch-first
    numpy arrays). tokens [B, n] int64, mask [B, n] (1 real, 0 pad), table [V, token_dim] of the
    model's dtype (set as pe_embedding like the official run_eval does)."""
    model.pe_embedding = nn.Embedding.from_pretrained(table)
    model.eval()
    seen = {}

    def keep(name):
        def hook(_mod, _inp, out):
            seen[name] = (out[0] if isinstance(out, tuple) else out).detach()
        return hook

    handles = [model.encoder.register_forward_hook(keep("encoder_raw")),
               model.pos_encoder.register_forward_hook(keep("step3_pos"))]
    for i, layer in enumerate(model.transformer_encoder.layers):
        handles.append(layer.register_forward_hook(keep(f"layer{i}_out")))
    layer0 = model.transformer_encoder.layers[0]
    handles.append(layer0.self_attn.register_forward_hook(keep("layer0_attn_out")))
    handles.append(layer0.norm1.register_forward_hook(keep("layer0_norm1")))
    handles.append(layer0.linear1.register_forward_hook(keep("layer0_ffn_pre_relu")))
    for i in range(4):
        handles.append(model.decoder[i].register_forward_hook(keep(f"decoder{i}")))
    with torch.no_grad():
        src = model.embed_tokens(torch.as_tensor(tokens).t())        # [n, B, token_dim]
        mask_t = torch.as_tensor(mask, dtype=table.dtype)
        _, emb = model(src, mask_t)
    for h in handles:
        h.remove()

    def bf(x):  # seq-first [n, B, ...] -> batch-first numpy
        return x.transpose(0, 1).contiguous().numpy()
    return {
        "step1_normalized": bf(src),
        "step2_encoder": bf(seen["encoder_raw"] * math.sqrt(model.d_model)),
        "step3_pos": bf(seen["step3_pos"]),
        "layer0_attn_out": bf(seen["layer0_attn_out"]),
        "layer0_norm1": bf(seen["layer0_norm1"]),
        "layer0_ffn_hidden": bf(torch.relu(seen["layer0_ffn_pre_relu"])),
        **{f"layer{i}_out": bf(seen[f"layer{i}_out"])
           for i in range(len(model.transformer_encoder.layers))},
        **{f"decoder{i}_cls": seen[f"decoder{i}"][0].numpy() for i in range(4)},
        "embedding": emb.numpy(),
    }


# ----------------------------------------------------------------------------------------------
# (a) numpy from-spec implementation (uce-models.md §1), float64
# ----------------------------------------------------------------------------------------------
def _layer_norm(x, g, b):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)       # biased variance, as LayerNorm
    return (x - mu) / np.sqrt(var + LN_EPS) * g + b


def _gelu(x):
    return 0.5 * x * (1.0 + scipy.special.erf(x / math.sqrt(2.0)))   # exact erf form


def _l2_normalize(x):
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), NORM_EPS)


def _softmax(s):
    s = s - s.max(axis=-1, keepdims=True)
    e = np.exp(s)
    return e / e.sum(axis=-1, keepdims=True)


def spec_forward(P, table, tokens, key_bias, nhead, nlayers):
    """P: state dict as float64 numpy arrays; table [V, token_dim] float64; tokens [B, n];
    key_bias [B, n] (0 real, +1.0 padding; the official float-mask quirk). Returns batch-first
    intermediates with the same names as torch_forward_traced plus layer0_qkv and
    layer0_attn_heads (attention output before out_proj, heads concatenated)."""
    d = P["encoder.0.weight"].shape[0]
    hd = d // nhead
    B, n = tokens.shape
    out = {}
    e = _l2_normalize(table[tokens])                                      # step 1
    out["step1_normalized"] = e
    h = _layer_norm(_gelu(e @ P["encoder.0.weight"].T + P["encoder.0.bias"]),
                    P["encoder.2.weight"], P["encoder.2.bias"]) * math.sqrt(d)   # step 2
    out["step2_encoder"] = h
    h = h + P["pos_encoder.pe"][:n, 0, :][None, :, :]                     # step 3
    out["step3_pos"] = h
    for L in range(nlayers):                                              # step 4
        p = f"transformer_encoder.layers.{L}."
        qkv = h @ P[p + "self_attn.in_proj_weight"].T + P[p + "self_attn.in_proj_bias"]
        q, k, v = qkv[..., :d], qkv[..., d:2 * d], qkv[..., 2 * d:]
        heads = []
        for hh in range(nhead):
            sl = slice(hh * hd, (hh + 1) * hd)
            s = (q[..., sl] @ np.swapaxes(k[..., sl], 1, 2)) / math.sqrt(hd)   # [B, n, n]
            s = s + key_bias[:, None, :]
            heads.append(_softmax(s) @ v[..., sl])
        a = np.concatenate(heads, axis=-1)
        o = a @ P[p + "self_attn.out_proj.weight"].T + P[p + "self_attn.out_proj.bias"]
        h1 = _layer_norm(h + o, P[p + "norm1.weight"], P[p + "norm1.bias"])
        f = np.maximum(h1 @ P[p + "linear1.weight"].T + P[p + "linear1.bias"], 0.0)
        h = _layer_norm(h1 + f @ P[p + "linear2.weight"].T + P[p + "linear2.bias"],
                        P[p + "norm2.weight"], P[p + "norm2.bias"])
        if L == 0:
            out.update(layer0_qkv=qkv, layer0_attn_heads=a, layer0_attn_out=o, layer0_norm1=h1,
                       layer0_ffn_hidden=f)
        out[f"layer{L}_out"] = h
    c = h[:, 0, :]                                                        # step 5: CLS row only
    for i in range(3):
        c = _gelu(_layer_norm(c @ P[f"decoder.{i}.0.weight"].T + P[f"decoder.{i}.0.bias"],
                              P[f"decoder.{i}.1.weight"], P[f"decoder.{i}.1.bias"]))
        out[f"decoder{i}_cls"] = c
    z = c @ P["decoder.3.weight"].T + P["decoder.3.bias"]
    out["decoder3_cls"] = z
    out["embedding"] = _l2_normalize(z)                                   # step 6
    return out


# ----------------------------------------------------------------------------------------------
# official side files
# ----------------------------------------------------------------------------------------------
def save_tensor(path, t):
    """torch.save of a standalone tensor (own storage, so no hidden extra rows are saved)."""
    torch.save(t.detach().clone().contiguous(), path)


def save_protein_embeddings(path, ordered_items):
    """torch.save of a plain dict symbol -> tensor[token_dim]; insertion order = token order."""
    torch.save({sym: vec.detach().clone().contiguous() for sym, vec in ordered_items}, path)


def save_offsets(path, offsets):
    with open(path, "wb") as f:
        pickle.dump(dict(offsets), f)


def save_species_chrom(path, rows):
    """rows: (gene_symbol, species, chromosome, start)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["gene_symbol", "species", "chromosome", "start"])
        w.writerows(rows)


def chrom_categories(rows):
    """All `species_chromosome` strings of every csv row, sorted in byte order (pandas order)."""
    return sorted({f"{sp}_{ch}" for _, sp, ch, _ in rows}, key=lambda s: s.encode())


def state_dict_float64(model):
    return collections.OrderedDict((k, v.detach().double().numpy()) for k, v in model.state_dict().items())
