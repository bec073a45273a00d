#!/usr/bin/python3
"""Make tests/fixtures/uce_tiny: a tiny ORIGINAL-UCE model in the official file formats plus
float64 reference activations, layer by layer.

Run once with Debian's python (torch 1.13, numpy 1.24, scipy):
    /usr/bin/python3 tests/reference/make_uce_fixtures.py
Everything is seeded; the output is deterministic on one machine. Expected values come from two
independent implementations (numpy from the spec, and torch nn.TransformerEncoderLayer as the
official code runs it), which must agree to 1e-10 before anything is written. See manifest.json
(written here) for the list of cases and arrays.
"""
import copy
import json
import os
import shutil
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uce_reference as ref  # noqa: E402

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "uce_tiny")

HYPER = dict(token_dim=64, d_model=32, nhead=2, d_hid=64, nlayers=2, decoder_hidden=48,
             output_dim=24, max_len=1536)
BINARY_HIDDEN = (16, 8, 4)
SPECIAL = dict(pad=0, unused_chrom_open=1, close=2, cls=3)
N_SPECIAL_ROWS = 4           # rows 0..3 are special tokens; species genes start at row 4
ALT_ROWS = 380               # all_tokens_alt.torch: a row count that is neither esm_rows nor full_rows
AGREE_TOL = 1e-10
# Arrays left out to keep the folder near 1.5 MB: the alt-table cases only show WHICH table is
# used, and the padded batch's FFN hidden is already covered by the single cells.
ALT_CASE_KEYS = {"tokens", "key_bias", "layer1_out", "decoder3_cls", "embedding"}
SKIP_KEYS = {("batch3_padded", "layer0_ffn_hidden"), ("batch3_padded_alt_table", "step1_normalized")}

HUMAN_CHROMS = [str(i) for i in range(1, 23)] + ["X", "Y", "MT", "KI270728.1", "GL000194.1"]
MOUSE_CHROMS = [str(i) for i in range(1, 20)] + ["X", "Y", "MT", "JH584304.1"]


def human_symbols():
    fixed = ["ACTB", "GAPDH", "CD3E", "CD8A", "MS4A1", "LYZ", "NKG7", "HLA-A", "HLA-DRA", "MT-ND1",
             "MT-CO1", "C1orf112", "C19orf53", "B2M", "RPL13A", "RPS27", "FTL", "TMSB4X", "S100A9",
             "CCL5"]
    gen = [f"ZNF{100 + i}" for i in range(60)] + [f"SLC{i}A{i % 7 + 1}" for i in range(1, 41)] + \
          [f"LINC{i:05d}" for i in range(1, 31)] + [f"TMEM{200 + i}" for i in range(30)] + \
          [f"KRT{i}" for i in range(1, 21)]
    return fixed + gen                                   # 200 symbols


def mouse_symbols():
    fixed = ["Actb", "Gapdh", "Cd3e", "Cd8a", "Ms4a1", "Lyz2", "Nkg7", "H2-K1", "mt-Nd1", "mt-Co1",
             "B2m", "Rpl13a", "Rps27", "Ftl1", "Tmsb4x", "S100a9"]
    gen = [f"Gm{10000 + 37 * i}" for i in range(50)] + [f"Zfp{300 + i}" for i in range(40)] + \
          [f"Olfr{1000 + i}" for i in range(40)]
    return fixed + gen                                   # 146 symbols


def make_species(rng):
    """Species files (protein-embedding dicts in shuffled key order, offsets, species_chrom rows)
    and the gene -> (chromosome, start) facts used to build realistic sentences."""
    species = {"human": human_symbols(), "mouse": mouse_symbols()}
    chroms = {"human": HUMAN_CHROMS, "mouse": MOUSE_CHROMS}
    offsets, order, row = {}, {}, N_SPECIAL_ROWS
    for sp in ("human", "mouse"):
        offsets[sp] = row
        order[sp] = [species[sp][i] for i in rng.permutation(len(species[sp]))]  # not alphabetical
        row += len(order[sp])
    esm_rows = row
    csv_rows, gene_pos = [], {}
    for sp in ("human", "mouse"):
        syms = order[sp]
        missing = set(rng.choice(len(syms), size=len(syms) // 20, replace=False).tolist())
        starts = rng.choice(np.arange(10_000, 250_000_000, 1000), size=len(syms) + 15, replace=False)
        # every chromosome (incl. scaffolds) gets at least one gene, the rest at random
        chrom_of = list(chroms[sp]) + [chroms[sp][int(c)] for c in
                                       rng.integers(0, len(chroms[sp]), len(syms) + 15 - len(chroms[sp]))]
        chrom_of = [chrom_of[i] for i in rng.permutation(len(chrom_of))]
        for i, sym in enumerate(syms):
            if i in missing:
                continue                                   # in the .pt but not in the csv
            csv_sym = sym.lower() if (sp == "human" and i % 17 == 0) else sym   # case differs
            csv_rows.append((csv_sym, sp, chrom_of[i], int(starts[i])))
            gene_pos[(sp, sym)] = (chrom_of[i], int(starts[i]))
        for j in range(15):                                # csv genes without a protein embedding
            i = len(syms) + j
            csv_rows.append((f"NOPE{j}" if sp == "human" else f"Nope{j}", sp, chrom_of[i], int(starts[i])))
    csv_rows = [csv_rows[i] for i in rng.permutation(len(csv_rows))]
    return species, order, offsets, esm_rows, csv_rows, gene_pos


def make_sentence(rng, k, S, order, offsets, gene_pos, cats, chrom_offset, max_token):
    """A sentence with the official layout: CLS, then per chromosome: its token, its draws sorted by
    start (duplicates kept), close. Human genes only; chromosome tokens kept below max_token."""
    by_chrom = {}
    for i, sym in enumerate(order["human"]):
        if ("human", sym) in gene_pos:
            ch, st = gene_pos[("human", sym)]
            by_chrom.setdefault(ch, []).append((st, offsets["human"] + i))
    usable = [ch for ch in by_chrom if chrom_offset + cats.index(f"human_{ch}") < max_token]
    chosen = [usable[i] for i in rng.choice(len(usable), size=k, replace=False)]
    counts = np.ones(k, dtype=int) + rng.multinomial(S - k, np.ones(k) / k)
    toks = [SPECIAL["cls"]]
    for ch, c in zip(chosen, counts):
        genes = by_chrom[ch]
        draws = sorted(genes[int(g)] for g in rng.integers(0, len(genes), c))
        toks.append(chrom_offset + cats.index(f"human_{ch}"))
        toks.extend(tok for _, tok in draws)
        toks.append(SPECIAL["close"])
    assert len(toks) == 1 + 2 * k + S
    return toks


def pad_batch(sentences):
    n = max(len(s) for s in sentences)
    tokens = np.full((len(sentences), n), SPECIAL["pad"], dtype=np.int64)
    mask = np.zeros((len(sentences), n), dtype=np.float64)
    for b, s in enumerate(sentences):
        tokens[b, : len(s)] = s
        mask[b, : len(s)] = 1.0
    return tokens, mask


def compare(name, a, b, tol=AGREE_TOL):
    diff = float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
    if not diff < tol:
        raise SystemExit(f"MISMATCH {name}: max abs diff {diff:.3e} >= {tol:.0e}")
    return diff


def run_case(model64, model32, P64, table32, tokens, mask):
    """Both float64 implementations + the float32 torch run; returns (arrays, f32 embedding)."""
    key_bias = 1.0 - mask                                   # the official float-mask quirk
    a = ref.spec_forward(P64, table32.double().numpy(), tokens, key_bias, HYPER["nhead"], HYPER["nlayers"])
    b = ref.torch_forward_traced(model64, table32.double(), tokens, mask)
    worst = 0.0
    for key, val in b.items():
        worst = max(worst, compare(key, a[key], val))
    # intermediates torch keeps inside F.multi_head_attention_forward, checked through what it exposes
    p = "transformer_encoder.layers.0."
    qkv_b = b["step3_pos"] @ P64[p + "self_attn.in_proj_weight"].T + P64[p + "self_attn.in_proj_bias"]
    worst = max(worst, compare("layer0_qkv", a["layer0_qkv"], qkv_b))
    out_b = a["layer0_attn_heads"] @ P64[p + "self_attn.out_proj.weight"].T + P64[p + "self_attn.out_proj.bias"]
    worst = max(worst, compare("layer0_attn_heads->out_proj", out_b, b["layer0_attn_out"]))
    f32 = ref.torch_forward_traced(model32, table32, tokens, mask.astype(np.float32))["embedding"]
    a["tokens"] = tokens
    a["key_bias"] = key_bias
    return a, f32, worst


ARRAY_DOCS = {
    "tokens": "int64 [B,n] token ids (PAD 0 after each cell's length)",
    "key_bias": "float64 [B,n] added to every attention logit of key j: 0 real, +1.0 padding",
    "step1_normalized": "float64 [B,n,token_dim] T[t]/max(||T[t]||,1e-12)",
    "step2_encoder": "float64 [B,n,d] LayerNorm(GELU(W_enc e + b)) * sqrt(d)",
    "step3_pos": "float64 [B,n,d] step2 + pe[i]",
    "layer0_qkv": "float64 [B,n,3d] h W_in^T + b_in, columns q|k|v",
    "layer0_attn_heads": "float64 [B,n,d] softmax(q k^T/sqrt(hd) + bias) v, head h in columns [h*hd,(h+1)*hd), before out_proj",
    "layer0_attn_out": "float64 [B,n,d] after out_proj",
    "layer0_norm1": "float64 [B,n,d] LN1(h + attn_out)",
    "layer0_ffn_hidden": "float64 [B,n,d_hid] relu(W1 h1 + b1)",
    "layerL_out": "float64 [B,n,d] output of encoder layer L (one file per layer)",
    "decoder0_cls": "float64 [B,decoder_hidden] CLS row after decoder block 0 (Linear,LN,GELU)",
    "decoder1_cls": "float64 [B,output_dim] after block 1",
    "decoder2_cls": "float64 [B,output_dim] after block 2",
    "decoder3_cls": "float64 [B,output_dim] z = final Linear (before L2 normalisation)",
    "embedding": "float64 [B,output_dim] z/max(||z||,1e-12)",
    "embedding_f32": "float32 [B,output_dim] the same computed by torch in float32 (documents the f32 gap)",
}


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(20240601)
    gen = torch.Generator().manual_seed(1234)
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(os.path.join(OUT, "protein_embeddings"))

    species, order, offsets, esm_rows, csv_rows, gene_pos = make_species(rng)
    cats = ref.chrom_categories(csv_rows)
    full_rows = esm_rows + len(cats)
    chrom_offset = esm_rows
    td = HYPER["token_dim"]

    # token tables: all_tokens.torch (full rows), its ESM-only prefix, and an "extended" table
    # with another row count; the checkpoint holds all_tokens + small noise (tests can tell them apart)
    all_tokens = torch.randn(full_rows, td, generator=gen) * 0.3
    all_tokens[esm_rows:] = torch.randn(len(cats), td, generator=gen)     # chromosome rows ~N(0,1)
    ckpt_table = all_tokens + 0.05 * torch.randn(full_rows, td, generator=gen)
    alt_tokens = torch.randn(ALT_ROWS, td, generator=gen) * 0.3
    assert ALT_ROWS not in (esm_rows, full_rows)

    model = ref.UceOriginalModel(HYPER["token_dim"], HYPER["d_model"], HYPER["nhead"], HYPER["d_hid"],
                                 HYPER["nlayers"], HYPER["output_dim"], full_rows,
                                 decoder_hidden=HYPER["decoder_hidden"], binary_hidden=BINARY_HIDDEN,
                                 max_len=HYPER["max_len"])
    ref.randomize_model(model, gen, in_proj_std_per_layer=[0.05, 0.25])
    model.pe_embedding = torch.nn.Embedding.from_pretrained(ckpt_table.clone())
    model.eval()
    state = model.state_dict()
    torch.save(state, os.path.join(OUT, "model.torch"))
    ref.save_tensor(os.path.join(OUT, "all_tokens.torch"), all_tokens)
    ref.save_tensor(os.path.join(OUT, "all_tokens_esm_only.torch"), all_tokens[:esm_rows])
    ref.save_tensor(os.path.join(OUT, "all_tokens_alt.torch"), alt_tokens)
    pt_names = {"human": "Homo_sapiens.GRCh38.gene_symbol_to_embedding_ESM2.pt",
                "mouse": "Mus_musculus.GRCm39.gene_symbol_to_embedding_ESM2.pt"}
    for sp in ("human", "mouse"):
        items = [(sym, all_tokens[offsets[sp] + i]) for i, sym in enumerate(order[sp])]
        ref.save_protein_embeddings(os.path.join(OUT, "protein_embeddings", pt_names[sp]), items)
    ref.save_offsets(os.path.join(OUT, "species_offsets.pkl"), offsets)
    ref.save_species_chrom(os.path.join(OUT, "species_chrom.csv"), csv_rows)

    # models for the reference runs (copies: the saved state stays untouched)
    model64 = copy.deepcopy(model).double().eval()
    model32 = copy.deepcopy(model).float().eval()
    P64 = ref.state_dict_float64(model)

    sentences = [make_sentence(rng, k, S, order, offsets, gene_pos, cats, chrom_offset, ALT_ROWS)
                 for k, S in ((1, 4), (3, 12), (4, 31))]
    cases_def = []
    for s in sentences:
        t, m = pad_batch([s])
        cases_def.append((f"cell_n{len(s)}", "single", "all_tokens.torch", "checkpoint", t, m))
    t, m = pad_batch(sentences)
    cases_def.append(("batch3_padded", "padded_batch", "all_tokens.torch", "checkpoint", t, m))
    cases_def.append(("batch3_padded_alt_table", "padded_batch", "all_tokens_alt.torch", "token_file", t, m))
    t, m = pad_batch([sentences[1]])
    cases_def.append((f"cell_n{len(sentences[1])}_alt_table", "single", "all_tokens_alt.torch",
                      "token_file", t, m))

    manifest_cases, results = [], {}
    for name, kind, token_file, table_used, tokens, mask in cases_def:
        table32 = ckpt_table if table_used == "checkpoint" else alt_tokens
        arrays, f32, worst = run_case(model64, model32, P64, table32, tokens, mask)
        results[name] = arrays
        case_dir = os.path.join(OUT, "cases", name)
        os.makedirs(case_dir)
        files = {}
        for key, val in sorted(arrays.items()):
            if table_used == "token_file" and kind == "padded_batch" and key not in ALT_CASE_KEYS:
                continue
            if table_used == "token_file" and key not in ALT_CASE_KEYS | {"step1_normalized"}:
                continue
            if (name, key) in SKIP_KEYS:
                continue
            arr = np.ascontiguousarray(val, dtype=np.int64 if key == "tokens" else np.float64)
            np.save(os.path.join(case_dir, key + ".npy"), arr)
            files[key] = {"file": f"cases/{name}/{key}.npy", "dtype": str(arr.dtype), "shape": list(arr.shape)}
        f32 = np.ascontiguousarray(f32, dtype=np.float32)
        np.save(os.path.join(case_dir, "embedding_f32.npy"), f32)
        files["embedding_f32"] = {"file": f"cases/{name}/embedding_f32.npy", "dtype": "float32",
                                  "shape": list(f32.shape)}
        gap = float(np.max(np.abs(f32.astype(np.float64) - arrays["embedding"])))
        manifest_cases.append({
            "name": name, "kind": kind, "batch": int(tokens.shape[0]),
            "lengths": [int(x) for x in mask.sum(axis=1)], "padded_length": int(tokens.shape[1]),
            "token_file": token_file, "table_used": table_used,
            "f64_impls_max_abs_diff": worst, "f32_vs_f64_embedding_max_abs_diff": gap,
            "arrays": files})
        print(f"{name:28s} B={tokens.shape[0]} n={tokens.shape[1]:3d} table={table_used:10s} "
              f"numpy-vs-torch {worst:.1e}  f32 gap {gap:.1e}")

    # sanity facts the fixture is meant to exercise
    single = {len(s): results[f"cell_n{len(s)}"]["embedding"][0] for s in sentences}
    batch = results["batch3_padded"]["embedding"]
    compare("longest cell unaffected by padding", batch[2], single[len(sentences[2])], 1e-12)
    for b in range(2):
        moved = float(np.max(np.abs(batch[b] - single[len(sentences[b])])))
        assert moved > 1e-3, f"padding quirk barely changes cell {b} ({moved})"
    alt_moved = float(np.max(np.abs(results[f"cell_n{len(sentences[1])}_alt_table"]["embedding"][0]
                                    - single[len(sentences[1])])))
    assert alt_moved > 1e-2
    with torch.no_grad():   # which table the checkpoint rule picks must matter
        m2 = copy.deepcopy(model64)
        emb_alltok = ref.torch_forward_traced(m2, all_tokens.double(), *pad_batch([sentences[1]]))["embedding"][0]
    table_moved = float(np.max(np.abs(emb_alltok - single[len(sentences[1])])))
    assert table_moved > 1e-3, table_moved
    s3 = results["batch3_padded"]["layer0_qkv"]
    logits = []
    for hh in range(HYPER["nhead"]):
        hd = HYPER["d_model"] // HYPER["nhead"]
        q = s3[2, :, hh * hd:(hh + 1) * hd]
        k = s3[2, :, HYPER["d_model"] + hh * hd: HYPER["d_model"] + (hh + 1) * hd]
        logits.append((q @ k.T / np.sqrt(hd)).std())
    print(f"padding moves cells 0/1 by >1e-3; alt table moves by {alt_moved:.2e}; "
          f"all_tokens-vs-checkpoint table moves by {table_moved:.2e}; layer0 logit std {logits}")

    manifest = {
        "format": "uce_tiny_reference/1",
        "generator": "tests/reference/make_uce_fixtures.py (uses tests/reference/uce_reference.py)",
        "torch_version": torch.__version__, "numpy_version": np.__version__,
        "model_file": "model.torch",
        "hyper": {**HYPER, "head_dim": HYPER["d_model"] // HYPER["nhead"], "binary_decoder_hidden": list(BINARY_HIDDEN),
                  "layer_norm_eps": ref.LN_EPS, "l2_eps": ref.NORM_EPS, "gelu": "erf",
                  "ffn_activation": "relu", "norm": "post"},
        "special_tokens": SPECIAL,
        "table_rule": {"esm_rows": esm_rows, "full_rows": full_rows,
                       "rule": "token file rows in {esm_rows, full_rows} -> checkpoint pe_embedding.weight; "
                               "any other row count -> the token file itself; no token file -> checkpoint",
                       "checkpoint_table": "pe_embedding.weight in model.torch = all_tokens.torch + N(0,0.05) noise"},
        "token_files": [
            {"file": "all_tokens.torch", "rows": full_rows, "uses": "checkpoint"},
            {"file": "all_tokens_esm_only.torch", "rows": esm_rows, "uses": "checkpoint"},
            {"file": "all_tokens_alt.torch", "rows": ALT_ROWS, "uses": "token_file"}],
        "chrom_token_offset": chrom_offset, "n_chrom_categories": len(cats), "chrom_categories": cats,
        "species_chrom_csv": "species_chrom.csv", "species_offsets_pkl": "species_offsets.pkl",
        "species_offsets": offsets,
        "protein_embeddings": {sp: {"file": "protein_embeddings/" + pt_names[sp], "n_genes": len(order[sp]),
                                    "first_keys": order[sp][:5]} for sp in ("human", "mouse")},
        "layout": "every case array is batch-first; single cells have B=1 and no padding",
        "array_docs": ARRAY_DOCS,
        "cases": manifest_cases,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
