"""Cell sentences (shared/spec/cell-sentences.md) the straightforward numpy way.

This is the independent reference for tests/sentences: dense full-vector probabilities and
numpy's own choice / argsort / unique / shuffle, called exactly as the official UCE
eval_data.sample_cell_sentences calls them. The C++ sampler works over non-zero genes only,
with its own random streams; the fixtures made from this file check that both agree.

Weights (spec §2.1): the official code computes log1p and the first normalisation with torch
(float32); here
  l = float32(log1p(float64(c)))             (the float32 rounding of log1p)
  w = l / float32(exact sum of l)            (float32 division)
  p = w / sum(w)                             (Python's float64 sum; numpy casts it to float32)
`official_torch_weights` below is the official torch path, used only as a cross-check.
"""
import numpy as np

MODES = ("numpy-legacy", "numpy-per-cell", "per-cell")


def probabilities(counts):
    """p over the full gene vector (float32), or None when the cell has no positive count."""
    c = np.asarray(counts, dtype=np.int64)
    if (c < 0).any() or not (c > 0).any():
        return None
    l = np.log1p(c.astype(np.float64)).astype(np.float32)
    total = np.float32(l.astype(np.float64).sum())   # the double sum is exact here
    w = l / total
    return w / sum(w)                                 # exactly the official line


def official_torch_weights(counts):
    """The official eval_data path (torch log1p and sum, then numpy renormalisation)."""
    import torch
    t = torch.tensor(np.asarray(counts, dtype=np.int64)).unsqueeze(0)
    w = torch.log1p(t)
    w = w / torch.sum(w)
    w = w[0].numpy()
    return w / sum(w)


def sentence(p, chroms, starts, tokens, choice, shuffle, sample_size, cls_token, close_token,
             chrom_offset):
    """The official sentence construction; choice/shuffle are np.random's or a Generator's."""
    choice_idx = choice(np.arange(len(p)), size=sample_size, p=p, replace=True)
    chosen_chrom = chroms[choice_idx]
    chrom_sort = np.argsort(chosen_chrom)
    choice_idx = choice_idx[chrom_sort]
    new_chrom = chroms[choice_idx]
    chosen_starts = starts[choice_idx]
    out = [cls_token]
    uq_chroms = np.unique(new_chrom)
    shuffle(uq_chroms)
    for chrom in uq_chroms:
        out.append(int(chrom) + chrom_offset)
        loc = np.where(new_chrom == chrom)[0]
        sort_by_start = np.argsort(chosen_starts[loc])
        out.extend(int(t) for t in tokens[choice_idx[loc[sort_by_start]]])
        out.append(close_token)
    return out


def per_cell_generator(run_seed, row):
    """The engine's default `per-cell` stream: a fixed-width SeedSequence over (seed, row)."""
    words = [run_seed & 0xFFFFFFFF, run_seed >> 32, row & 0xFFFFFFFF, row >> 32]
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(words)))


def sentences(dense_counts, chroms, starts, tokens, mode, seed, sample_size=1024, cls_token=3,
              close_token=2, chrom_offset=143574, weights=probabilities):
    """One entry per row: the token list, or None for a skipped cell (no randomness used)."""
    chroms = np.asarray(chroms)
    starts = np.asarray(starts)
    tokens = np.asarray(tokens)
    if mode == "numpy-legacy":
        np.random.seed(seed)
    out = []
    for row, counts in enumerate(dense_counts):
        p = weights(counts)
        if p is None:
            out.append(None)
            continue
        if mode == "numpy-legacy":
            choice, shuffle = np.random.choice, np.random.shuffle
        else:
            g = np.random.default_rng(row) if mode == "numpy-per-cell" else per_cell_generator(seed, row)
            choice, shuffle = g.choice, g.shuffle
        out.append(sentence(p, chroms, starts, tokens, choice, shuffle, sample_size, cls_token,
                            close_token, chrom_offset))
    return out
