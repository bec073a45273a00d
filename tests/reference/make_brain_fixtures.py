#!/usr/bin/python3
"""Make tests/fixtures/uce_brain_tiny: tiny UCE-brain checkpoints in the published layout
(config.json + model.safetensors written by hand from numpy), a gene mapping JSON, and float64
reference activations, stage by stage and layer by layer, from tests/reference/uce_brain_reference.py.

Run once with Debian's python (torch 1.13, numpy 1.24):
    /usr/bin/python3 tests/reference/make_brain_fixtures.py
Seeded and deterministic. Two independent implementations (plain tensor algebra from the spec, and
torch.nn modules as UCE-brain builds them, incl. PyTorch's own eval fast path for the "zeroed"
padded rows) must agree to 1e-10 before anything is written.

Models (all: token table 200 x 64, d_model 32, 2 layers, output 24, pad_length 64):
  post_cls   linear projector, post-norm, GELU, 4 heads, sinusoidal pe, "uce." prefix, decoder
             head present, token layout keys in config.json
  pre_cls    norm_first, ReLU, 2 heads, learned pe, bare UCEModel keys (no prefix), data section
             NOT 4-byte aligned (header length 8k+2)
  mean_post  mean readout, post-norm: expected embeddings for pad rows "zeroed" (PyTorch eval
             fast path; the engine's default) and "computed"
  mean_pre   mean readout, norm_first, with a final encoder norm (computed pad rows)
  mlp_cls    "mlp" projector (hidden 64), no embedding LayerNorm, no dim_feedforward key
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uce_brain_reference as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "uce_brain_tiny")
V, E, D, OUT_DIM, LAYERS, MAX_LEN, P = 200, 64, 32, 24, 2, 72, 64
LAYOUT = dict(cls=1, close=2, pad=0, chrom_offset=180)
AGREE = 1e-10

MODELS = {
    "post_cls": dict(cfg=dict(nhead=4, dim_feedforward=64, activation="gelu", embedding_reduction="cls",
                              cls_token_idx=1, chrom_token_offset=180, chrom_token_right_idx=2, pad_token_idx=0,
                              pad_length=P, sample_size=40),
                     prefix="uce.", decoder=True, align8=True),
    "pre_cls": dict(cfg=dict(nhead=2, dim_feedforward=48, activation="relu", norm_first=True,
                             positional_encoding_type="learned", embedding_reduction="cls"),
                    prefix="", decoder=False, align8=False),
    "mean_post": dict(cfg=dict(nhead=4, dim_feedforward=64, embedding_reduction="mean"),
                      prefix="uce.", decoder=True, align8=True),
    "mean_pre": dict(cfg=dict(nhead=2, dim_feedforward=64, norm_first=True, embedding_reduction="mean",
                              input_projection_type="linear"),
                     prefix="uce.", decoder=False, align8=True, final_norm=True),
    "mlp_cls": dict(cfg=dict(nhead=4, expansion_factor=4, embedding_reduction="cls", input_projection_type="mlp",
                             input_projection_expansion_factor=2, use_embedding_layer_norm=False),
                    prefix="uce.", decoder=False, align8=True, omit=("dim_feedforward",)),
}


def full_config(spec):
    c = dict(model_type="uce", architectures=["UCEForExpressionPrediction"], vocab_size=V, embedding_dim=E,
             padding_idx=0, use_embedding_layer_norm=True, d_model=D, num_layers=LAYERS, dropout=0.1,
             activation="gelu", expansion_factor=4, max_sequence_length=MAX_LEN, positional_encoding_type="sinusoidal",
             embedding_reduction="cls", output_embedding_dim=OUT_DIM, decoder_dropout=0.1, torch_dtype="float32",
             transformers_version="4.46.0")
    c.update(spec["cfg"])
    if "dim_feedforward" not in c:
        c["dim_feedforward"] = c["d_model"] * c["expansion_factor"]
    c["decoder_layer_dims"] = [D + OUT_DIM, 16, 16, 1]
    return c


def sinusoidal_pe(max_len, d):
    # As SinusoidalPositionalEncoding builds its buffer (float32 arithmetic).
    position = torch.arange(max_len).unsqueeze(1)
    div_term = torch.exp(torch.arange(0, d, 2) * (-math.log(10000.0) / d))
    pe = torch.zeros(max_len, 1, d)
    pe[:, 0, 0::2] = torch.sin(position * div_term)
    pe[:, 0, 1::2] = torch.cos(position * div_term)
    return pe.numpy()


def make_state_dict(rng, cfg, spec):
    """Weights as float32 numpy arrays, keys without prefix, in UCEForExpressionPrediction order."""
    sd = {}
    f32 = np.float32

    def lin(name, out_f, in_f):
        sd[name + ".weight"] = (rng.standard_normal((out_f, in_f)) / math.sqrt(in_f)).astype(f32)
        sd[name + ".bias"] = (0.1 * rng.standard_normal(out_f)).astype(f32)

    def ln(name, n):
        sd[name + ".weight"] = (1.0 + 0.2 * rng.standard_normal(n)).astype(f32)
        sd[name + ".bias"] = (0.2 * rng.standard_normal(n)).astype(f32)

    sd["embedding_layer.embedding.weight"] = rng.standard_normal((V, E)).astype(f32)
    if cfg["use_embedding_layer_norm"]:
        ln("embedding_layer.layer_norm", E)
    p = "input_gene_embedding_projector."
    if cfg.get("input_projection_type", "linear") == "linear":
        lin(p + "0", D, E)
        ln(p + "1", D)
    else:
        h = D * cfg["input_projection_expansion_factor"]
        lin(p + "0", D, E)
        lin(p + "2", h, D)
        lin(p + "4", D, h)
        ln(p + "5", D)
    if cfg["positional_encoding_type"] == "sinusoidal":
        sd["pos_encoder.pe"] = sinusoidal_pe(MAX_LEN, D)
    else:
        sd["pos_encoder.pe"] = (0.5 * rng.standard_normal((MAX_LEN, D))).astype(f32)
    ff = cfg["dim_feedforward"]
    for l in range(LAYERS):
        k = f"transformer_encoder.layers.{l}."
        sd[k + "self_attn.in_proj_weight"] = (rng.standard_normal((3 * D, D)) / math.sqrt(D) * 1.5).astype(f32)
        sd[k + "self_attn.in_proj_bias"] = (0.1 * rng.standard_normal(3 * D)).astype(f32)
        lin(k + "self_attn.out_proj", D, D)
        lin(k + "linear1", ff, D)
        lin(k + "linear2", D, ff)
        ln(k + "norm1", D)
        ln(k + "norm2", D)
    if spec.get("final_norm"):
        ln("transformer_encoder.norm", D)
    lin("output_embedding_projector.0", OUT_DIM, D)
    ln("output_embedding_projector.1", OUT_DIM)
    return sd


def decoder_tensors(rng):
    dims = [D + OUT_DIM, 16, 16, 1]
    out, idx = {}, 1
    for i in range(3):
        out[f"expression_decoder.decoder.{idx}.weight"] = rng.standard_normal((dims[i + 1], dims[i])).astype(np.float32)
        out[f"expression_decoder.decoder.{idx}.bias"] = rng.standard_normal(dims[i + 1]).astype(np.float32)
        if i < 2:
            out[f"expression_decoder.decoder.{idx + 1}.weight"] = np.ones(dims[i + 1], np.float32)
            out[f"expression_decoder.decoder.{idx + 1}.bias"] = np.zeros(dims[i + 1], np.float32)
        idx += 4
    return out


def write_safetensors(path, tensors, align8):
    """8-byte LE header length N, N bytes of JSON, then the data (offsets relative to its start)."""
    header, blobs, off = {}, [], 0
    for name, arr in tensors.items():
        b = np.ascontiguousarray(arr, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    if align8:
        text += b" " * ((-len(text)) % 8)   # as the safetensors library pads
    else:
        text += b" " * ((2 - len(text)) % 8)  # N = 8k + 2: every float is misaligned
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for b in blobs:
            f.write(b)


def gene_mapping(rng):
    """{species: {SYMBOL: {protein_embedding_id, chromosome_id, location}}} with string values."""
    human, ids = {}, rng.permutation(np.arange(3, 180))
    syms = ([f"GENE{i}" for i in range(100)] + ["C1ORF159", "ACTB", "GAPDH", "HLA-A", "MT-ND1", "ABC1", "Abc1",
                                                "lowercase1"])
    for i, s in enumerate(syms):
        human[s] = {"protein_embedding_id": str(int(ids[i])), "chromosome_id": str(int(rng.integers(5, 15))),
                    "location": str(int(rng.integers(1000, 10_000_000)))}
    mouse = {}
    for i, s in enumerate(["Actb", "Gapdh", "Cd3e", "Ms4a1", "Lyz2"] + [f"Gm{i}" for i in range(20)]):
        mouse[s] = {"protein_embedding_id": str(int(ids[150 + i])), "chromosome_id": str(int(rng.integers(5, 15))),
                    "location": str(int(rng.integers(1000, 10_000_000)))}
    return {"human": human, "mus_musculus": mouse}


def alignment_cases(mapping):
    """Expected alignments, by Python dict semantics, for the C++ gene-mapping tests."""
    dataset = ["GENE3", "gene4", "Actb", "ACTB", "unknown", "GENE3", "C1orf159", "abc1", "LOWERCASE1", "lowercase1",
               "GENE99", "HLA-A"]
    cases = []
    for species, key in (("human", "human"), ("Homo sapiens", "human"), ("mouse", "mus_musculus")):
        for ci in (False, True):
            genes = mapping[key]
            lookup = {k.upper(): v for k, v in genes.items()} if ci else dict(genes)
            kept = [(i, s) for i, s in enumerate(dataset) if (s.upper() if ci else s) in lookup]
            rows = [lookup[s.upper() if ci else s] for _, s in kept]
            cases.append({"species": species, "resolved_key": key, "case_insensitive": ci, "dataset": dataset,
                          "var_index": [i for i, _ in kept],
                          "token": [int(r["protein_embedding_id"]) for r in rows],
                          "chrom": [int(r["chromosome_id"]) for r in rows],
                          "start": [int(r["location"]) for r in rows]})
    return cases


def make_sentences(rng, mapping, sample_sizes):
    """UCE-brain-shaped sentences: CLS, then per chromosome (shuffled) chrom token, that
    chromosome's sampled genes by location, chrom close; PAD to P."""
    genes = list(mapping["human"].values())
    out = []
    for s in sample_sizes:
        pick = [genes[int(i)] for i in rng.integers(0, len(genes), s)]
        chroms = sorted({int(g["chromosome_id"]) for g in pick})
        rng.shuffle(chroms)
        sent = [LAYOUT["cls"]]
        for c in chroms:
            sent.append(c + LAYOUT["chrom_offset"])
            mine = sorted([g for g in pick if int(g["chromosome_id"]) == c], key=lambda g: int(g["location"]))
            sent += [int(g["protein_embedding_id"]) for g in mine]
            sent.append(LAYOUT["close"])
        out.append(sent)
    return out


def main():
    torch.set_default_dtype(torch.float64)
    rng = np.random.default_rng(20250607)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    mapping = gene_mapping(rng)
    with open(os.path.join(OUT, "gene_mapping.json"), "w") as f:
        json.dump(mapping, f, indent=1)
    with open(os.path.join(OUT, "alignment_cases.json"), "w") as f:
        json.dump(alignment_cases(mapping), f, indent=1)

    # Batch of 4 cells; the longest fills pad_length exactly (no padding at all).
    sentences = []
    while True:
        sentences = make_sentences(rng, mapping, [6, 22, 40, 14])
        if all(len(s) <= P for s in sentences):
            break
    fill = make_sentences(rng, mapping, [1])[0]
    # a sentence of exactly P tokens: extend one chromosome group by repeating its last gene
    while len(fill) < P:
        fill.insert(2, fill[2])
    sentences[2] = fill if len(fill) == P else sentences[2]
    assert len(sentences[2]) == P, len(sentences[2])
    lengths = np.array([len(s) for s in sentences], np.int64)
    tokens = np.full((len(sentences), P), LAYOUT["pad"], np.int64)
    for i, s in enumerate(sentences):
        tokens[i, :len(s)] = s
    CELL = 3  # the layer-by-layer cell

    manifest = {"format": "uce_brain_tiny_reference/1",
                "generator": "tests/reference/make_brain_fixtures.py (uses tests/reference/uce_brain_reference.py)",
                "torch_version": torch.__version__, "numpy_version": np.__version__,
                "pad_length": P, "layout": LAYOUT, "cell": CELL, "lengths": lengths.tolist(), "models": {}}
    for name, spec in MODELS.items():
        cfg = full_config(spec)
        for k in spec.get("omit", ()):
            del cfg[k]
        cfg_full = dict(cfg)
        cfg_full.setdefault("dim_feedforward", cfg["d_model"] * cfg["expansion_factor"])
        sd = make_state_dict(rng, cfg_full, spec)
        sd64 = {k: v.astype(np.float64) for k, v in sd.items()}
        d = os.path.join(OUT, name)
        os.makedirs(d)
        with open(os.path.join(d, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
        tensors = {spec["prefix"] + k: v for k, v in sd.items()}
        if spec["decoder"]:
            tensors.update(decoder_tensors(rng))
        write_safetensors(os.path.join(d, "model.safetensors"), tensors, spec["align8"])

        mean = cfg["embedding_reduction"] == "mean"
        modes = ["zeroed", "computed"] if (mean and not cfg.get("norm_first")) else ["computed"]
        entry = {"readout": cfg["embedding_reduction"], "expected": {}}
        for mode in modes:
            emb, st = ref.forward_manual(sd64, cfg_full, tokens, lengths, mode)
            # cross-check with torch.nn modules; "zeroed" with PyTorch's own eval fast path
            emb2 = ref.forward_modules(sd64, cfg_full, tokens, lengths, fast_path=(mode == "zeroed"))
            err = float((emb - emb2).abs().max())
            assert err < AGREE, (name, mode, err)
            if not mean:  # cls: the fast path must not change the CLS row
                emb3 = ref.forward_modules(sd64, cfg_full, tokens, lengths, fast_path=True)
                assert float((emb - emb3).abs().max()) < AGREE
            key = "embedding" if mode == modes[0] else "embedding_" + mode
            np.save(os.path.join(d, key + ".npy"), emb.numpy())
            entry["expected"][key] = mode
            if mode != modes[0]:
                continue
            # Stages of one cell: real rows for cls / zeroed (the engine runs only those), all P
            # rows when padded rows are computed.
            rows = P if (mean and mode == "computed") else int(lengths[CELL])
            cell_dir = os.path.join(d, "cell")
            os.makedirs(cell_dir, exist_ok=True)
            for k, v in st.items():
                # size: the inner stages of the last layer are left out (its output is kept)
                if k.startswith(f"layer{LAYERS - 1}_") and not k.endswith("_out"):
                    continue
                a = v[CELL]
                if k != "output_pooled":
                    a = a[:rows]
                np.save(os.path.join(cell_dir, k + ".npy"), a.numpy())
        # the real-prefix-only run must give the same CLS output (the mask is exact)
        if not mean:
            short = tokens[CELL:CELL + 1, :lengths[CELL]]
            e_short, _ = ref.forward_manual(sd64, cfg_full, short, lengths[CELL:CELL + 1], "computed")
            e_full = torch.from_numpy(np.load(os.path.join(d, "embedding.npy")))[CELL]
            assert float((e_short[0] - e_full).abs().max()) < AGREE
        manifest["models"][name] = entry
    np.save(os.path.join(OUT, "tokens.npy"), tokens)
    np.save(os.path.join(OUT, "lengths.npy"), lengths)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    total = sum(os.path.getsize(os.path.join(r, x)) for r, _, fs in os.walk(OUT) for x in fs)
    print(f"wrote {OUT} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
