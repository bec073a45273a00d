#!/usr/bin/env python3
"""End-to-end bad-input tests of uce-run (issue "single-cell data path"): each case feeds the real
executable one kind of bad input and checks what the user sees — the exit code, exactly ONE line on
stderr naming the file, the field and the expectation (or, where processing can go on, one warning
line and the count in the run manifest) — and that no file exists under the final output name after
a refused run. Expected counts come from how the test built the bad file (h5py), never from uce-run.

The reader's hostile files are tests/fixtures/h5ad (tests/reference/make_h5ad_fixtures.py); files
with readable structure but bad values are copies of demo/cells.h5ad edited here with h5py.

usage: test_bad_input.py CASE --uce-run PATH --source REPO --work DIR
"""
import argparse
import json
import os
import re
import shutil
import sys

import h5py
import numpy as np

import test_uce_run as base

# --- helpers -------------------------------------------------------------------------------------


def fixture(args, name):
    return os.path.join(args.source, "tests", "fixtures", "h5ad", name)


def edited_demo(args, name, edit):
    """A copy of demo/cells.h5ad under the work folder, changed in place by edit(h5py.File)."""
    path = os.path.join(args.work, name + "_input.h5ad")
    shutil.copyfile(os.path.join(args.source, "demo", "cells.h5ad"), path)
    with h5py.File(path, "r+") as f:
        edit(f)
    return path


def stderr_lines(p):
    return [l for l in p.stderr.splitlines() if l.strip()]


def uce(args, name, input_path=None, sets=(), extra=""):
    """Runs uce-run on the demo config with the given input; returns (process, output path)."""
    cfg, out = base.demo_config(args, name, extra)
    sets = list(sets)
    if input_path is not None:
        sets.insert(0, f"input.path={input_path}")
    p = base.run(args, cfg, *sets, check=False)
    return p, out


def no_output_left(out):
    """No file under the final name, and no partial file either: every refusal here happens
    before any cell is embedded, so there is nothing to resume."""
    left = [p for p in (out, out + ".partial") if os.path.exists(p)]
    assert not left, f"a refused run left {left}"


def expect_refusal(p, out, *needles):
    """Exit code 1, exactly one stderr line, starting 'uce-run: ', containing every needle
    (a str, or a compiled regex)."""
    lines = stderr_lines(p)
    assert p.returncode == 1, f"exit code {p.returncode}, expected 1; stderr:\n{p.stderr}"
    # Warnings printed before the refusal (e.g. the demo's own dropped-gene lines) are allowed;
    # the error itself is exactly one line.
    errors = [l for l in lines if l.startswith("uce-run: ")]
    others = [l for l in lines if not l.startswith("uce-run: ") and not l.startswith(("WARNING:", "genes: "))]
    assert len(errors) == 1 and not others, f"expected exactly one error line, got:\n{p.stderr}"
    line = errors[0]
    for n in needles:
        if isinstance(n, re.Pattern):
            assert n.search(line), f"error line does not match {n.pattern!r}: {line}"
        else:
            assert n in line, f"error line does not name {n!r}: {line}"
    no_output_left(out)
    print("ok:", line)
    return line


def baseline_lines(args, name, sets=()):
    """The stderr lines (--quiet: warnings only) of the same run on the UNMODIFIED demo: the demo
    itself drops some genes with a warning, and those lines are not about the bad input."""
    p, _ = uce(args, name + "_baseline", None, sets)
    assert p.returncode == 0, f"baseline run failed: {p.stderr}"
    return set(stderr_lines(p))


def expect_warning_run(p, out, baseline):
    """Exit code 0 and the output exists; returns (the stderr lines that the baseline run on the
    unmodified demo did not print, the manifest). The counts are checked before the warning line
    so that one run shows every problem it can."""
    assert p.returncode == 0, f"exit code {p.returncode}; stderr:\n{p.stderr}"
    assert os.path.exists(out) and not os.path.exists(out + ".partial"), "no final output after a successful run"
    with open(out[:-len(".h5ad")] + ".manifest.json") as f:
        return [l for l in stderr_lines(p) if l not in baseline], json.load(f)


def check_warning(lines, *needles):
    """Exactly one new warning line, holding every needle (a str or a compiled regex)."""
    assert len(lines) == 1, (f"expected exactly one warning line beyond the baseline's, got {len(lines)}:\n"
                             + "\n".join(lines))
    line = lines[0]
    for n in needles:
        if isinstance(n, re.Pattern):
            assert n.search(line), f"warning does not match {n.pattern!r}: {line}"
        else:
            assert n in line, f"warning does not name {n!r}: {line}"
    print("ok:", line)


def nnz_per_row(f):
    return np.diff(f["X/indptr"][:])


def busiest_rows(path, k):
    """The k rows with the most stored values (surely kept by the min_genes filter)."""
    with h5py.File(path, "r") as f:
        return [int(r) for r in np.argsort(-nnz_per_row(f), kind="stable")[:k]]


def demo_cells_kept(args):
    """Cells of the demo kept by the official filter (min_genes = 25 expressed genes) — computed
    from the file, not from uce-run."""
    with h5py.File(os.path.join(args.source, "demo", "cells.h5ad"), "r") as f:
        data, indptr = f["X/data"][:], f["X/indptr"][:]
    expressed = np.add.reduceat(data != 0, indptr[:-1]) if len(data) else np.zeros(len(indptr) - 1)
    expressed[np.diff(indptr) == 0] = 0
    return int((expressed >= 25).sum())


def obs_names(path):
    names, _ = base.embeddings(path)
    return names


def demo_obs_names(args):
    with h5py.File(os.path.join(args.source, "demo", "cells.h5ad"), "r") as f:
        return [n.decode() if isinstance(n, bytes) else n for n in f["obs"][f["obs"].attrs["_index"]][:]]


# "X" named as the matrix read (X, X/data), not only inside the hint "raw/X".
FIELD_X = re.compile(r"(?<![\w/])X(/data)?(?![\w/])")

# --- the reader's structural refusals (tests/fixtures/h5ad hostile files) -------------------------


def case_bad_input_missing_x(args):
    path = fixture(args, "missing_x.h5ad")
    p, out = uce(args, "missing_x", path)
    expect_refusal(p, out, path, "'X'")


def case_bad_input_x_unknown_encoding(args):
    # X is a group whose encoding-type is 'coo_matrix': neither dense nor csr/csc.
    path = fixture(args, "bad_encoding.h5ad")
    p, out = uce(args, "x_unknown_encoding", path)
    expect_refusal(p, out, path, "X", "coo_matrix")


def case_bad_input_x_strings(args):
    # X is a dense dataset of strings: not a count matrix at all.
    path = fixture(args, "dense_strings.h5ad")
    p, out = uce(args, "x_strings", path)
    expect_refusal(p, out, path, "X", "string")


def case_bad_input_indptr_not_monotone(args):
    path = fixture(args, "indptr_not_monotone.h5ad")
    p, out = uce(args, "indptr_not_monotone", path)
    expect_refusal(p, out, path, "X/indptr", "not monotone")


def case_bad_input_indptr_past_data(args):
    path = fixture(args, "indptr_past_data.h5ad")
    p, out = uce(args, "indptr_past_data", path)
    expect_refusal(p, out, path, "X/indptr", "past the")


def case_bad_input_indices_out_of_range(args):
    # make_h5ad_fixtures.py sets X/indices[3] = 12 in a file of 9 genes.
    path = fixture(args, "index_out_of_range.h5ad")
    p, out = uce(args, "indices_out_of_range", path)
    expect_refusal(p, out, path, "X/indices[3] = 12", "[0, 9)")


def case_bad_input_indices_out_of_range_late(args):
    # The same fault in the LAST row of the demo, far from the first chunk: it must still be
    # refused before any output exists (chunk_rows = 16 makes it chunk 19 of 19).
    def edit(f):
        idx = f["X/indices"][:]
        idx[-1] = 2500 + 7
        f["X/indices"][...] = idx
    path = edited_demo(args, "indices_late", edit)
    with h5py.File(path, "r") as f:
        pos = f["X/indices"].shape[0] - 1
    p, out = uce(args, "indices_out_of_range_late", path, ["input.chunk_rows=16"])
    expect_refusal(p, out, path, f"X/indices[{pos}] = 2507", "[0, 2500)")


# --- bad count values: warned and counted (default), or refused (counts_policy = "refuse") -------


def set_values(f, positions, value):
    d = f["X/data"][:]
    for i in positions:
        d[i] = value(d[i])
    f["X/data"][...] = d


def first_value_of_rows(path, rows):
    with h5py.File(path, "r") as f:
        indptr = f["X/indptr"][:]
    return [int(indptr[r]) for r in rows]


def case_bad_input_non_integer_counts(args):
    # 5 values become v + 0.5: the official tool truncates them, so the run goes on, every kept
    # cell is embedded, and the one warning names the file, the matrix and the count.
    src = os.path.join(args.source, "demo", "cells.h5ad")
    rows = busiest_rows(src, 5)
    pos = first_value_of_rows(src, rows)
    path = edited_demo(args, "non_integer", lambda f: set_values(f, pos, lambda v: v + 0.5))
    p, out = uce(args, "non_integer", path)
    lines, m = expect_warning_run(p, out, baseline_lines(args, "non_integer"))
    assert m["cells"]["embedded"] == demo_cells_kept(args), m["cells"]
    check_warning(lines, path, "5 non-integer", "0 negative", "0 NaN", FIELD_X)


def case_bad_input_negative_counts(args):
    # One value of each of 3 kept cells becomes -1: those 3 cells are skipped and counted.
    src = os.path.join(args.source, "demo", "cells.h5ad")
    rows = busiest_rows(src, 3)
    pos = first_value_of_rows(src, rows)
    path = edited_demo(args, "negative", lambda f: set_values(f, pos, lambda v: -1.0))
    p, out = uce(args, "negative", path)
    lines, m = expect_warning_run(p, out, baseline_lines(args, "negative"))
    assert m["cells"]["skipped"].get("negative or NaN counts") == 3, m["cells"]
    assert m["cells"]["embedded"] == demo_cells_kept(args) - 3, m["cells"]
    gone = {demo_obs_names(args)[r] for r in rows}
    assert not gone & set(obs_names(out)), f"skipped cells {gone & set(obs_names(out))} are in the output"
    check_warning(lines, path, "3 negative", "0 NaN", FIELD_X)


def case_bad_input_nan_counts(args):
    # One value of each of 2 kept cells becomes NaN: skipped and counted like negative counts
    # (the warning itself says "negative/NaN cells skipped").
    src = os.path.join(args.source, "demo", "cells.h5ad")
    rows = busiest_rows(src, 2)
    pos = first_value_of_rows(src, rows)
    path = edited_demo(args, "nan", lambda f: set_values(f, pos, lambda v: np.nan))
    p, out = uce(args, "nan", path)
    lines, m = expect_warning_run(p, out, baseline_lines(args, "nan"))
    assert m["cells"]["skipped"].get("negative or NaN counts") == 2, m["cells"]
    assert m["cells"]["embedded"] == demo_cells_kept(args) - 2, m["cells"]
    gone = {demo_obs_names(args)[r] for r in rows}
    assert not gone & set(obs_names(out)), f"NaN cells {gone & set(obs_names(out))} are in the output"
    check_warning(lines, path, "0 negative", "2 NaN", FIELD_X)


def case_bad_input_counts_refused(args):
    # [filter] counts_policy = "refuse": the same non-integer file is one error line, no output.
    src = os.path.join(args.source, "demo", "cells.h5ad")
    pos = first_value_of_rows(src, busiest_rows(src, 4))
    path = edited_demo(args, "refused", lambda f: set_values(f, pos, lambda v: v + 0.25))
    p, out = uce(args, "counts_refused", path, ["filter.counts_policy=refuse"])
    expect_refusal(p, out, path, "4 non-integer", "counts_policy", FIELD_X)


# --- genes ---------------------------------------------------------------------------------------


def var_index(f):
    return f["var"][f["var"].attrs["_index"]]


def case_bad_input_duplicated_genes(args):
    # Two genes are renamed to the symbols of two other genes (all four among the most expressed,
    # so no filter drops them). The official tool keeps every copy; the run goes on with one
    # warning giving the count, and the manifest records it.
    with h5py.File(os.path.join(args.source, "demo", "cells.h5ad"), "r") as f:
        cells_per_gene = np.bincount(f["X/indices"][:], minlength=f["var"][f["var"].attrs["_index"]].shape[0])
    top = [int(g) for g in np.argsort(-cells_per_gene, kind="stable")[:4]]

    def edit(f):
        names = var_index(f)[:]
        names[top[2]], names[top[3]] = names[top[0]], names[top[1]]
        var_index(f)[...] = names
    path = edited_demo(args, "duplicated", edit)
    p, out = uce(args, "duplicated_genes", path)
    lines, m = expect_warning_run(p, out, baseline_lines(args, "duplicated_genes"))
    check_warning(lines, "genes", re.compile(r"\b2\b"), "repeat")
    # Every copy is kept (the official tool's behaviour), so "dropped" must not claim 0 while
    # the 2 repeats go uncounted: the manifest needs the count under a "duplicat..." key.
    dup = {k: v for k, v in m["genes"]["dropped"].items() if "duplicat" in k}
    dup.update({k: v for k, v in m["genes"].items() if "duplicat" in k})
    assert 2 in dup.values(), f"the manifest does not count the 2 duplicated symbols: genes = {m['genes']}"


def case_bad_input_no_known_gene(args):
    def edit(f):
        n = var_index(f).shape[0]
        var_index(f)[...] = np.array([f"NOTAGENE{i}".encode() for i in range(n)], dtype=object)
    path = edited_demo(args, "no_known_gene", edit)
    p, out = uce(args, "no_known_gene", path)
    expect_refusal(p, out, path, "gene", "human")


def case_bad_input_species_not_in_offsets(args):
    # A model folder whose species_offsets.pkl lacks 'human' (the protein embeddings of human
    # are there, so only the offsets can refuse it).
    import pickle
    files = os.path.join(args.work, "model_files")
    os.makedirs(files)
    demo = os.path.join(args.source, "demo")
    for name in ("species_chrom.csv", "protein_embeddings", "all_tokens.torch"):
        os.symlink(os.path.join(demo, name), os.path.join(files, name))
    offsets = os.path.join(files, "species_offsets.pkl")
    with open(offsets, "wb") as f:
        pickle.dump({"mouse": 4}, f)
    p, out = uce(args, "species_not_in_offsets", None, [f"model.files={files}"])
    expect_refusal(p, out, offsets, "human")


def case_bad_input_zero_count_cells(args):
    # Two cells' stored values all become 0 and the filter is off, so the zero cells reach the
    # sampler: they are skipped, counted in the manifest, and one warning says so.
    src = os.path.join(args.source, "demo", "cells.h5ad")
    rows = busiest_rows(src, 2)

    def edit(f):
        d, ip = f["X/data"][:], f["X/indptr"][:]
        for r in rows:
            d[ip[r]:ip[r + 1]] = 0
        f["X/data"][...] = d
    path = edited_demo(args, "zero_cells", edit)
    with h5py.File(path, "r") as f:
        d, ip = f["X/data"][:], f["X/indptr"][:]
        zero_rows = sum(1 for r in range(len(ip) - 1) if not (d[ip[r]:ip[r + 1]] != 0).any())
    assert zero_rows >= 2
    p, out = uce(args, "zero_count_cells", path, ["filter.enabled=false"])
    lines, m = expect_warning_run(p, out, baseline_lines(args, "zero_count_cells", ["filter.enabled=false"]))
    assert m["cells"]["skipped"].get("no expressed gene known to the model") == zero_rows, m["cells"]
    assert m["cells"]["embedded"] == m["cells"]["in_file"] - zero_rows, m["cells"]
    check_warning(lines, re.compile(rf"\b{zero_rows}\b"))


# --- output --------------------------------------------------------------------------------------


def case_bad_input_unwritable_output(args):
    # The output's folder is a regular file: nothing can be created there.
    blocker = os.path.join(args.work, "not_a_folder")
    with open(blocker, "w") as f:
        f.write("x")
    out = os.path.join(blocker, "cells.h5ad")
    p, _ = uce(args, "unwritable_output", None, [f"output.path={out}"])
    expect_refusal(p, out, out)


def case_bad_input_output_is_folder(args):
    # The final name is taken by a folder: the run must fail with one line naming it, and the
    # folder must not be replaced or filled (a .partial file beside it is allowed).
    out = os.path.join(args.work, "taken.h5ad")
    os.makedirs(out)
    p, _ = uce(args, "output_is_folder", None, [f"output.path={out}"])
    lines = stderr_lines(p)
    assert p.returncode == 1, f"exit code {p.returncode}, expected 1; stderr:\n{p.stderr}"
    errors = [l for l in lines if l.startswith("uce-run: ")]
    assert len(errors) == 1 and out in errors[0], f"expected one error line naming {out}:\n{p.stderr}"
    assert os.path.isdir(out) and not os.listdir(out), "the folder under the final name was changed"
    print("ok:", errors[0])


def case_bad_input_output_create_fails(args):
    # The folder exists but no file can be created in it (/proc refuses even root), so the
    # config check passes and the failure comes when the writer opens: one line naming the path.
    out = "/proc/uce_bad_input_test.h5ad"
    p, _ = uce(args, "output_create_fails", None, [f"output.path={out}"])
    expect_refusal(p, out, out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--uce-run", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    fn = globals().get("case_" + args.case)
    if fn is None:
        sys.exit(f"no case {args.case}")
    fn(args)


if __name__ == "__main__":
    main()
