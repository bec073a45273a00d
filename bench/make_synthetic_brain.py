#!/usr/bin/python3
"""Make a synthetic UCE-brain model folder with the pilot's shapes, for bench/bench_brain.cpp.

    /usr/bin/python3 bench/make_synthetic_brain.py /tmp/uce-brain-bench [--vocab 3000] [--seed 0]

Writes (NOT committed; about 170 MB):
  config.json        the pilot's hyper-parameters: 8 layers, d_model 512, nhead 8, dim_feedforward
                     2048, token dim 5120, gelu, post-norm, cls readout, sinusoidal pe of 2048
                     rows, output 512; the pilot's legacy token layout (CLS 1, chrom open
                     1000 + chromosome, close 2000, PAD 0, pad_length 2048, 1024 samples).
  model.safetensors  random fp32 weights under the published key names (no "uce." prefix, no
                     decoder head: the engine does not read it). The table is small (`--vocab`
                     rows instead of 145469): the engine projects each needed token once per
                     run, so its size does not change the per-cell time.
  sentence.npy       one cell sentence (int64) laid out as the pilot's: [CLS], then per
                     chromosome (23, shuffled) its open token, its sampled genes by location, the
                     close token. 1024 samples with replacement -> n = 1 + 1024 + 2 * 23 = 1071,
                     the length the uce-edge port measured the pilot at.
numpy only; seeded and deterministic. The safetensors writer is the one of
tests/reference/make_brain_fixtures.py (8-byte LE header length, JSON header, data).
"""
import argparse
import json
import math
import os
import struct

import numpy as np

D, HEADS, FF, E, LAYERS, OUT_DIM, MAX_LEN = 512, 8, 2048, 5120, 8, 512, 2048
CLS, CHROM_OFFSET, CLOSE, PAD, PAD_LENGTH, SAMPLES, CHROMS = 1, 1000, 2000, 0, 2048, 1024, 23


def config(vocab):
    return dict(model_type="uce", architectures=["UCEForExpressionPrediction"], vocab_size=vocab, embedding_dim=E,
                padding_idx=PAD, use_embedding_layer_norm=True, d_model=D, nhead=HEADS, num_layers=LAYERS,
                dropout=0.1, activation="gelu", expansion_factor=4, dim_feedforward=FF,
                max_sequence_length=MAX_LEN, positional_encoding_type="sinusoidal", embedding_reduction="cls",
                output_embedding_dim=OUT_DIM, norm_first=False, input_projection_type="linear",
                cls_token_idx=CLS, chrom_token_offset=CHROM_OFFSET, chrom_token_right_idx=CLOSE,
                pad_token_idx=PAD, pad_length=PAD_LENGTH, sample_size=SAMPLES, torch_dtype="float32")


def sinusoidal_pe(max_len, d):
    # SinusoidalPositionalEncoding's buffer [max_len, 1, d], in float32 as torch builds it.
    position = np.arange(max_len, dtype=np.float32)[:, None]
    div_term = np.exp(np.arange(0, d, 2, dtype=np.float32) * np.float32(-math.log(10000.0) / d))
    pe = np.zeros((max_len, 1, d), np.float32)
    pe[:, 0, 0::2] = np.sin(position * div_term)
    pe[:, 0, 1::2] = np.cos(position * div_term)
    return pe


def state_dict(rng, vocab):
    sd = {}
    f32 = np.float32

    def lin(name, out_f, in_f):
        sd[name + ".weight"] = (rng.standard_normal((out_f, in_f), dtype=f32) / f32(math.sqrt(in_f)))
        sd[name + ".bias"] = (0.02 * rng.standard_normal(out_f, dtype=f32))

    def ln(name, n):
        sd[name + ".weight"] = (1.0 + 0.1 * rng.standard_normal(n, dtype=f32))
        sd[name + ".bias"] = (0.1 * rng.standard_normal(n, dtype=f32))

    sd["embedding_layer.embedding.weight"] = rng.standard_normal((vocab, E), dtype=f32)
    ln("embedding_layer.layer_norm", E)
    lin("input_gene_embedding_projector.0", D, E)
    ln("input_gene_embedding_projector.1", D)
    sd["pos_encoder.pe"] = sinusoidal_pe(MAX_LEN, D)
    for l in range(LAYERS):
        k = f"transformer_encoder.layers.{l}."
        sd[k + "self_attn.in_proj_weight"] = rng.standard_normal((3 * D, D), dtype=f32) / f32(math.sqrt(D))
        sd[k + "self_attn.in_proj_bias"] = 0.02 * rng.standard_normal(3 * D, dtype=f32)
        lin(k + "self_attn.out_proj", D, D)
        lin(k + "linear1", FF, D)
        lin(k + "linear2", D, FF)
        ln(k + "norm1", D)
        ln(k + "norm2", D)
    lin("output_embedding_projector.0", OUT_DIM, D)
    ln("output_embedding_projector.1", OUT_DIM)
    return {k: v.astype(np.float32) for k, v in sd.items()}


def write_safetensors(path, tensors):
    header, off = {}, 0
    for name, arr in tensors.items():
        nbytes = arr.size * 4
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + nbytes]}
        off += nbytes
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((-len(text)) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for arr in tensors.values():
            f.write(np.ascontiguousarray(arr, dtype="<f4").tobytes())


def sentence(rng, vocab):
    """[CLS], per chromosome (shuffled): open, genes by location, close. Gene ids 3..999."""
    genes = np.arange(3, CHROM_OFFSET)
    chrom_of = rng.integers(1, CHROMS + 1, genes.size)
    location = rng.integers(1000, 100_000_000, genes.size)
    while True:
        picked = rng.choice(genes.size, SAMPLES, replace=True)  # duplicates kept, as UCE samples
        if np.unique(chrom_of[picked]).size == CHROMS:
            break
    order = rng.permutation(np.arange(1, CHROMS + 1))
    out = [CLS]
    for c in order:
        mine = picked[chrom_of[picked] == c]
        mine = mine[np.argsort(location[mine], kind="stable")]
        out += [CHROM_OFFSET + int(c)] + [int(genes[i]) for i in mine] + [CLOSE]
    s = np.array(out, np.int64)
    assert s.max() < vocab and s.size == 1 + SAMPLES + 2 * CHROMS, s.size
    return s


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--vocab", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.vocab <= CLOSE:
        ap.error(f"--vocab must exceed the close token {CLOSE}")
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(config(a.vocab), f, indent=2)
    write_safetensors(os.path.join(a.out, "model.safetensors"), state_dict(rng, a.vocab))
    s = sentence(rng, a.vocab)
    np.save(os.path.join(a.out, "sentence.npy"), s)
    print(f"wrote {a.out}: n = {s.size} tokens ({np.unique(s).size} distinct), vocab {a.vocab}")


if __name__ == "__main__":
    main()
