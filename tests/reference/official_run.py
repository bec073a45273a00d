#!/usr/bin/python3
"""Re-enactment of the OFFICIAL original-UCE run (snap-stanford/UCE eval_single_anndata.py) on an
h5ad and a model in the official file formats, seeded with np.random.seed(seed) and run with batch
size B. It writes the embeddings that run would give, so that `uce-run` with
[sampling] mode = "numpy-legacy" and [batching] compat_batch_size = B can be checked against them
(tests/run/test_uce_run.py, case official_legacy_compat).

Independent of the engine and of tests/reference/sentences_numpy.py: each step below follows the
official code's logic and its exact numpy/torch calls (the official sources are the authority;
the line-by-line notes say which official function a step stands for):
  1. data_utils.process_raw_anndata: scanpy filter_genes(min_cells=10) then filter_cells(min_genes=25)
     (expressed = count > 0), on the whole file, in that order.
  2. gene_embeddings.load_gene_embeddings_adata: keep genes whose lower-cased symbol is a lower-cased
     key of the species' .pt dict, in the file's gene order.
  3. data_utils.adata_path_to_prot_chrom_starts: token = index of the upper-cased symbol among the
     upper-cased .pt keys (dict order) + species offset; chromosome code = pandas Categorical code
     of species + "_" + chromosome over ALL csv rows; start = csv start.
     ONE deliberate deviation: the official code raises KeyError when a kept gene has no csv row
     (its upper-cased symbol is not a csv gene_symbol as stored); here, as in
     shared/spec/cell-sentences.md §1.4, such genes are dropped before the counts are taken and
     listed on stderr.
  4. counts: data_to_torch_X(...).numpy() (float32) stored in an int64 memmap, i.e. truncation.
  5. eval_data.MultiDatasetSentences.__getitem__ + sample_cell_sentences, cell after cell in row
     order with num_workers=0, from ONE np.random stream seeded once with np.random.seed(seed):
     torch log1p / torch sum, numpy renormalisation with Python's sum, np.random.choice,
     argsort by chromosome, np.unique + np.random.shuffle, argsort by start.
  6. evaluate.run_eval: the model (tests/reference/uce_reference.UceOriginalModel, the official
     module tree, state dict loaded strict), the official token-table rule, DataLoader batches of B
     consecutive cells, the collator's padding (token PAD, float mask 1/0 cut at the batch's
     longest sentence), pe_embedding + F.normalize(dim=2), forward with src_key_padding_mask=1-mask.

usage:
  /usr/bin/python3 tests/reference/official_run.py --h5ad demo/cells.h5ad --files demo \
      --seed 0 --batch-size 4 --out tests/fixtures/official_run/seed0_b4
Writes <out>.npy (float32 [cells, output_dim]), <out>.obs.txt (kept cell names, one a line),
<out>.sentences.txt (per cell: name, sentence length, SHA-256 of its int64 token ids) and, with
--sentences, <out>.sentences.npy (int64 [cells, pad_length], PAD after each sentence).
"""
import argparse
import hashlib
import json
import math
import os
import pickle
import sys

import anndata
import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import uce_reference as ref  # noqa: E402  (official module tree only; no sampling code from there)

OFFICIAL_ESM_ROWS = 143574
OFFICIAL_FULL_ROWS = 145469


def log(msg):
    print(msg, file=sys.stderr)


# ---- 1. filtering (scanpy semantics) -----------------------------------------------------------
def official_filter(X, min_cells=10, min_genes=25):
    """Boolean masks (cells, genes): genes first, then cells counted over the kept genes."""
    expressed = X > 0
    genes = np.asarray(expressed.sum(axis=0)).ravel() >= min_cells
    cells = np.asarray(expressed[:, genes].sum(axis=1)).ravel() >= min_genes
    return cells, genes


# ---- 2./3. gene alignment ------------------------------------------------------------------------
def align_genes(var_names, species, pe_path, csv_path, offset):
    """Per kept gene (file order): its column, token, chromosome code and start."""
    pe = torch.load(pe_path)
    lower_keys = {k.lower() for k in pe}
    upper_keys = list({k.upper(): None for k in pe})            # get_species_to_pe: dict of upper keys
    upper_pos = {k: i for i, k in enumerate(upper_keys)}
    in_model = [g.lower() in lower_keys for g in var_names]

    table = pd.read_csv(csv_path)
    spec_chrom = pd.Categorical(table["species"] + "_" + table["chromosome"])
    table["spec_chrom"] = spec_chrom
    # official: spec_chrom.loc[[k.upper() for k in adata.var_names]]: the dataset's symbol
    # upper-cased, the csv's symbol as stored (a mixed-case csv symbol such as C10orf125 is not found)
    rows = table[table["species"] == species].set_index("gene_symbol")
    if rows.index.has_duplicates:
        raise SystemExit(f"{csv_path}: duplicate gene_symbol rows for {species}: the official lookup breaks")

    cols, missing = [], []
    for j, g in enumerate(var_names):
        if not in_model[j]:
            continue
        if g.upper() not in rows.index:
            missing.append(g)                                      # official: KeyError
            continue
        cols.append(j)
    if missing:
        log(f"{len(missing)} genes with a protein embedding have no {species} row in {csv_path}; "
            f"dropped (the official tool raises KeyError): {', '.join(missing[:10])}{' ...' if len(missing) > 10 else ''}")
    kept = [var_names[j] for j in cols]
    tokens = np.array([upper_pos[g.upper()] + offset for g in kept], dtype=np.int64)
    sub = rows.loc[[g.upper() for g in kept]]
    chroms = sub["spec_chrom"].cat.codes.values                    # pandas code dtype (int8/int16)
    starts = sub["start"].values
    return np.array(cols), tokens, chroms, starts


# ---- 5. one cell's sentence, the official way ------------------------------------------------
def official_weights(count_row):
    """MultiDatasetSentences.__getitem__ (torch) then sample_cell_sentences' renormalisation."""
    counts = torch.tensor(count_row).unsqueeze(0)
    w = torch.log1p(counts)
    w = w / torch.sum(w)
    w = w[0].numpy()
    return w / sum(w)                                              # Python's builtin sum, as upstream


def official_sentence(weights, chroms, starts, tokens, sample_size, cls, close, chrom_offset):
    picks = np.random.choice(np.arange(len(weights)), size=sample_size, p=weights, replace=True)
    picks = picks[np.argsort(chroms[picks])]                       # group the draws by chromosome
    pick_chroms = chroms[picks]
    pick_starts = starts[picks]
    order = np.unique(pick_chroms)
    np.random.shuffle(order)                                       # chromosome order is random
    sent = [cls]
    for c in order:
        sent.append(int(c) + chrom_offset)
        where = np.where(pick_chroms == c)[0]
        sent.extend(tokens[picks[where[np.argsort(pick_starts[where])]]].tolist())
        sent.append(close)
    return sent


# ---- 6. model, token table, batches ------------------------------------------------------------
def load_official_model(checkpoint, token_file, heads, esm_rows, full_rows, dtype):
    sd = torch.load(checkpoint, map_location="cpu")
    n_tokens, token_dim = sd["pe_embedding.weight"].shape
    d_model = sd["encoder.0.weight"].shape[0]
    d_hid = sd["transformer_encoder.layers.0.linear1.weight"].shape[0]
    nlayers = len({k.split(".")[2] for k in sd if k.startswith("transformer_encoder.layers.")})
    output_dim = sd["decoder.3.weight"].shape[0]
    decoder_hidden = sd["decoder.0.0.weight"].shape[0]
    binary = tuple(sd[f"binary_decoder.{i}.0.weight"].shape[0] for i in range(3))
    max_len = sd["pos_encoder.pe"].shape[0]
    model = ref.UceOriginalModel(token_dim, d_model, heads, d_hid, nlayers, output_dim, n_tokens,
                                 decoder_hidden=decoder_hidden, binary_hidden=binary, max_len=max_len)
    model.load_state_dict(sd, strict=True)
    # evaluate.get_ESM2_embeddings + run_eval: the token file replaces the checkpoint's table only
    # when it has neither the ESM-only nor the full row count.
    if token_file and os.path.exists(token_file):
        all_pe = torch.load(token_file)
        rows = all_pe.shape[0]
        if rows == esm_rows:
            rows = full_rows                                       # official appends the chromosome rows
        if rows != full_rows:
            model.pe_embedding = nn.Embedding.from_pretrained(all_pe)
            log(f"token table: {token_file} ({all_pe.shape[0]} rows)")
        else:
            log(f"token table: checkpoint pe_embedding.weight ({n_tokens} rows; token file has {all_pe.shape[0]})")
    else:
        log("token table: checkpoint pe_embedding.weight (no token file)")
    return model.to(dtype).eval(), output_dim


def run_batches(model, sentences, batch_size, pad_token, pad_length, dtype):
    out = []
    with torch.no_grad():
        for b in range(0, len(sentences), batch_size):
            group = sentences[b:b + batch_size]
            toks = torch.full((len(group), pad_length), pad_token, dtype=torch.long)
            mask = torch.zeros((len(group), pad_length), dtype=dtype)
            for i, s in enumerate(group):
                toks[i, :len(s)] = torch.tensor(s)
                mask[i, :len(s)] = 1
            n = max(len(s) for s in group)                         # collator: cut at the longest
            src = nn.functional.normalize(model.pe_embedding(toks[:, :n].t()), dim=2)
            _, emb = model(src, mask[:, :n])
            out.append(emb.numpy())
    return np.vstack(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--h5ad", required=True)
    ap.add_argument("--files", required=True, help="folder with model_manifest.json or the official files")
    ap.add_argument("--checkpoint", help="default: <files>/<manifest files.model>")
    ap.add_argument("--species", default="human")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--heads", type=int)
    ap.add_argument("--float64", action="store_true", help="run the model in float64 (default float32, as upstream)")
    ap.add_argument("--sentences", action="store_true", help="also write <out>.sentences.npy")
    ap.add_argument("--out", required=True, help="output prefix")
    a = ap.parse_args()

    man_path = os.path.join(a.files, "model_manifest.json")
    man = json.load(open(man_path)) if os.path.exists(man_path) else {}
    mf = man.get("files", {})
    checkpoint = a.checkpoint or os.path.join(a.files, mf.get("model", "4layer_model.torch"))
    token_file = os.path.join(a.files, mf.get("token_file", "all_tokens.torch"))
    csv_path = os.path.join(a.files, mf.get("species_chrom_csv", "species_chrom.csv"))
    offsets = pickle.load(open(os.path.join(a.files, mf.get("species_offsets_pkl", "species_offsets.pkl")), "rb"))
    pe_path = os.path.join(a.files, mf["protein_embeddings"][a.species]) if "protein_embeddings" in mf else \
        os.path.join(a.files, "protein_embeddings", "Homo_sapiens.GRCh38.gene_symbol_to_embedding_ESM2.pt")
    heads = a.heads or man.get("hyper", {}).get("nhead", 20)
    cls, close, pad = man.get("cls_token", 3), man.get("close_token", 2), man.get("pad_token", 0)
    chrom_offset = man.get("chrom_token_offset", 143574)
    esm_rows, full_rows = man.get("esm_rows", OFFICIAL_ESM_ROWS), man.get("full_rows", OFFICIAL_FULL_ROWS)
    sample_size, pad_length = man.get("sample_size", 1024), man.get("pad_length", 1536)

    ad = anndata.read_h5ad(a.h5ad)
    X = sp.csr_matrix(ad.X)
    cell_keep, gene_keep = official_filter(X)
    X = X[cell_keep][:, gene_keep]
    names = list(ad.obs_names[cell_keep])
    var = list(ad.var_names[gene_keep])
    log(f"filter: {len(names)} of {ad.n_obs} cells, {len(var)} of {ad.n_vars} genes")
    cols, tokens, chroms, starts = align_genes(var, a.species, pe_path, csv_path, offsets[a.species])
    log(f"genes used: {len(cols)}")
    counts = np.asarray(X[:, cols].todense(), dtype=np.float32).astype(np.int64)   # the int64 memmap

    np.random.seed(a.seed)
    sentences = []
    for r in range(counts.shape[0]):
        sentences.append(official_sentence(official_weights(counts[r]), chroms, starts, tokens,
                                           sample_size, cls, close, chrom_offset))

    dtype = torch.float64 if a.float64 else torch.float32
    model, _ = load_official_model(checkpoint, token_file, heads, esm_rows, full_rows, dtype)
    emb = run_batches(model, sentences, a.batch_size, pad, pad_length, dtype)

    os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
    np.save(a.out + ".npy", emb.astype(np.float32))
    with open(a.out + ".obs.txt", "w") as f:
        f.write("\n".join(names) + "\n")
    with open(a.out + ".sentences.txt", "w") as f:
        f.write("# cell length sha256(int64 little-endian token ids of the sentence, no padding)\n")
        for name, sent in zip(names, sentences):
            f.write(f"{name} {len(sent)} {hashlib.sha256(np.asarray(sent, dtype='<i8').tobytes()).hexdigest()}\n")
    if a.sentences:
        S = np.full((len(sentences), pad_length), pad, dtype=np.int64)
        for i, s in enumerate(sentences):
            S[i, :len(s)] = s
        np.save(a.out + ".sentences.npy", S)
    log(f"wrote {a.out}.npy {emb.shape} ({'float64' if a.float64 else 'float32'} model)")


if __name__ == "__main__":
    main()
