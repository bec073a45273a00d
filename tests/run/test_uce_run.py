#!/usr/bin/env python3
"""End-to-end tests of uce-run (issue "uce-run"): each case runs the real executable on the bundled
demo and checks its outputs with h5py/anndata. Expected values never come from uce-run itself
except where the test is about consistency between two runs (resume, backend agreement).

usage: test_uce_run.py CASE --uce-run PATH --source REPO --work DIR
"""
import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np


def run(args, cfg, *sets, check=True, **kw):
    cmd = [args.uce_run, cfg, "--quiet"] + [x for s in sets for x in ("--set", s)]
    p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if check and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)} exited {p.returncode}: {p.stderr}")
    return p


def demo_config(args, name, extra=""):
    """A copy of configs/demo.toml with absolute paths and its output in the work folder."""
    demo = os.path.join(args.source, "demo")
    out = os.path.join(args.work, name + ".h5ad")
    text = f"""
[input]
path = "{demo}/cells.h5ad"
species = "human"
[model]
checkpoint = "{demo}/model.torch"
files = "{demo}"
heads = 4
chrom_token_offset = 2004
esm_rows = 2004
full_rows = 2030
[batching]
cells_per_batch = 8
[output]
path = "{out}"
report = false
{extra}
"""
    path = os.path.join(args.work, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path, out


def embeddings(path):
    with h5py.File(path, "r") as f:
        names = [n.decode() if isinstance(n, bytes) else n for n in f["obs"][f["obs"].attrs["_index"]][:]]
        return names, f["obsm/X_uce"][:]


def case_demo(args):
    cfg, out = demo_config(args, "demo")
    npy = os.path.join(args.work, "demo_uce.npy")
    run(args, cfg, f'output.npy="{npy}"')
    names, emb = embeddings(out)
    assert np.array_equal(np.load(npy), emb), "the .npy output differs from obsm X_uce"
    subprocess.run(["/usr/bin/python3", os.path.join(args.source, "tests/reference/check_demo_output.py"), out,
                    os.path.join(args.source, "demo/cells.h5ad")], check=True)
    base = out[:-len(".h5ad")]
    import json
    with open(base + ".manifest.json") as f:
        m = json.load(f)
    assert m["cells"]["embedded"] == 288, m["cells"]
    assert not os.path.exists(out + ".partial"), "partial file left behind"


def case_reference_backend_agrees(args):
    # Short sentences keep the naive reference backend fast; both runs use the same sentences.
    sets = ["sampling.sample_size=64"]
    cfg_b, out_b = demo_config(args, "blas")
    cfg_r, out_r = demo_config(args, "reference")
    run(args, cfg_b, *sets)
    run(args, cfg_r, *sets, 'backends.default=["reference"]')
    nb, eb = embeddings(out_b)
    nr, er = embeddings(out_r)
    assert nb == nr
    dist = np.linalg.norm(eb.astype(np.float64) - er.astype(np.float64), axis=1)
    assert dist.max() <= 1e-5, f"blas vs reference: max L2 distance {dist.max()}"
    # and the cells really differ from each other (a broken run could give one vector for all)
    assert np.linalg.norm(eb[0] - eb[1]) > 1e-3
    print(f"ok: {len(nb)} cells, max L2 distance blas vs reference {dist.max():.2e}")


def case_kill_and_resume(args):
    cfg_full, out_full = demo_config(args, "full")
    run(args, cfg_full)
    cfg, out = demo_config(args, "resumed")
    partial = out + ".partial"
    # Start, wait until some batches are stored, then SIGKILL.
    p = subprocess.Popen([args.uce_run, cfg, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    stored = 0
    while time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
        try:
            with h5py.File(partial, "r", locking=False) as f:
                stored = f["obsm/X_uce"].shape[0] if "obsm/X_uce" in f else 0
        except Exception:
            stored = 0
        if stored >= 40:
            break
    if p.poll() is not None:
        sys.exit(f"FAIL: the run ended before it could be killed (rc {p.returncode}): {p.stderr.read().decode()}")
    p.send_signal(signal.SIGKILL)
    p.wait()
    assert os.path.exists(partial), "no partial output after SIGKILL"
    assert not os.path.exists(out), "final output exists after SIGKILL"
    r = run(args, cfg)
    n_full, e_full = embeddings(out_full)
    n_res, e_res = embeddings(out)
    assert n_full == n_res, "cell names differ after resume"
    assert e_full.tobytes() == e_res.tobytes(), "embeddings after resume are not byte-identical"
    print(f"ok: killed after {stored} stored cells; resumed output is byte-identical ({len(n_res)} cells)")


def case_bad_config(args):
    path = os.path.join(args.work, "bad.toml")
    with open(path, "w") as f:
        f.write('[input]\npath = "x.h5ad"\n[sampling]\nmode = "per-cell"\nsedd = 3\n')
    p = run(args, path, check=False)
    lines = [l for l in p.stderr.strip().splitlines() if l]
    assert p.returncode != 0
    assert len(lines) == 1, p.stderr
    assert "bad.toml:5:" in lines[0] and "sedd" in lines[0], lines[0]
    print("ok:", lines[0])


def case_dry_run(args):
    cfg, out = demo_config(args, "dry")
    p = subprocess.run([args.uce_run, cfg, "--dry-run"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    text = p.stdout
    for needle in ("layer1.attn", "blas", "cells: 294 in file, 288 after filtering", "genes: 2500 in file",
                   "copies:", "memory blas"):
        assert needle in text, f"--dry-run output lacks {needle!r}:\n{text}"
    assert not os.path.exists(out), "--dry-run wrote an output"
    print("ok: dry run lists the plan")


# --- UCE-brain end to end: uce-run against an independent Python re-enactment of UCE-brain's own
# inference (tests/fixtures/brain_e2e, made by tests/reference/make_brain_e2e_fixture.py).

def brain_config(args, fx, name, spec):
    """A uce-brain run config for one run of the fixture's manifest (absolute paths)."""
    tiny = os.path.join(args.source, "tests/fixtures/uce_brain_tiny")
    out = os.path.join(args.work, name + ".h5ad")
    lay = dict(spec["layout_in_run_config"])
    sample = f"sample_size = {lay.pop('sample_size')}" if "sample_size" in lay else ""
    layout = "\n".join(f"{k} = {v}" for k, v in lay.items())
    text = f"""
[input]
path = "{fx}/cells.h5ad"
species = "human"
[filter]
enabled = false
[model]
family = "uce-brain"
checkpoint = "{tiny}/{spec['model']}"
gene_mapping = "{tiny}/gene_mapping.json"
case_insensitive = {str(spec['case_insensitive']).lower()}
{layout}
[sampling]
mode = "numpy-per-cell"
{sample}
[batching]
cells_per_batch = 7
[output]
path = "{out}"
report = false
"""
    path = os.path.join(args.work, name + ".toml")
    with open(path, "w") as f:
        f.write(text)
    return path, out


def gene_keys(source):
    """token -> (chrom, start) of every gene of the tiny gene mapping (for the tie tolerance)."""
    import json
    with open(os.path.join(source, "tests/fixtures/uce_brain_tiny/gene_mapping.json")) as f:
        human = json.load(f)["human"]
    return {int(g["protein_embedding_id"]): (int(g["chromosome_id"]), int(g["location"])) for g in human.values()}


def same_up_to_ties(got, want, keys):
    """cell-sentences.md §3: equal token for token, except that DIFFERENT genes with the same
    chromosome and start may come out in either order (numpy's sort is not stable)."""
    if len(got) != len(want):
        return False
    kg = [keys.get(t, ("special", t)) for t in got]
    kw = [keys.get(t, ("special", t)) for t in want]
    if kg != kw:
        return False
    i = 0
    while i < len(kw):
        j = i
        while j < len(kw) and kw[j] == kw[i]:
            j += 1
        if sorted(got[i:j]) != sorted(want[i:j]):
            return False
        i = j
    return True


def case_brain_numpy_per_cell(args):
    import json
    import anndata
    fx = os.path.join(args.source, "tests/fixtures/brain_e2e")
    with open(os.path.join(fx, "manifest.json")) as f:
        manifest = json.load(f)
    keys = gene_keys(args.source)
    cells = manifest["cells"]
    for name, spec in manifest["runs"].items():
        cfg, out = brain_config(args, fx, name, spec)
        sent_path = os.path.join(args.work, name + "_sentences.npy")
        run(args, cfg, f"output.sentences={sent_path}")
        lay = spec["layout"]

        # Sentences: every cell, in row order, token for token (ties only as the spec allows).
        want = np.load(os.path.join(fx, spec["sentences"]))
        lengths = np.load(os.path.join(fx, spec["lengths"]))
        got = np.load(sent_path)
        assert got.shape[0] == len(cells), f"{name}: {got.shape[0]} sentences for {len(cells)} cells"
        bad = []
        for i, n in enumerate(lengths):
            g = got[i].tolist()
            n_got = len(g)
            while n_got > 0 and g[n_got - 1] == lay["pad_token"]:
                n_got -= 1
            if not same_up_to_ties(g[:n_got], want[i, :n].tolist(), keys):
                bad.append(i)
        assert not bad, (f"{name}: sentences differ from the Python re-enactment in cells {bad}; first: "
                         f"got {got[bad[0]].tolist()}\nwant {want[bad[0], :lengths[bad[0]]].tolist()}")

        # Output: opens with h5py and anndata, right cell names, embeddings of the float64 reference.
        names, emb = embeddings(out)
        assert names == cells, f"{name}: cell names {names[:3]}... != {cells[:3]}..."
        ref64 = np.load(os.path.join(fx, spec["embedding64"]))
        assert emb.shape == ref64.shape, f"{name}: embeddings {emb.shape}, expected {ref64.shape}"
        assert emb.dtype == np.float32, emb.dtype
        dist = np.linalg.norm(emb.astype(np.float64) - ref64, axis=1)
        worst = int(dist.argmax())
        assert dist.max() <= 1e-5, f"{name}: max L2 distance to the float64 reference {dist.max():.3e} (cell {worst})"
        a = anndata.read_h5ad(out)
        assert list(a.obs_names) == cells
        assert np.array_equal(np.asarray(a.obsm["X_uce"]), emb)
        src = anndata.read_h5ad(os.path.join(fx, "cells.h5ad"))
        assert list(a.obs["cell_type"]) == list(src.obs["cell_type"]), f"{name}: obs not carried over"
        ref32 = np.load(os.path.join(fx, spec["embedding32"])).astype(np.float64)
        print(f"ok: {name} ({spec['readout']}, pad rows {spec['pad_rows']}, case_insensitive "
              f"{spec['case_insensitive']}): {len(cells)} sentences equal; max L2 to float64 reference "
              f"{dist.max():.2e} (float32 reference {np.linalg.norm(ref32 - ref64, axis=1).max():.2e})")


def official_sentence_digests(path):
    """name -> (length, sha256 of the int64 token ids), as tests/reference/official_run.py writes them."""
    out = {}
    with open(path) as f:
        for line in f:
            if not line.startswith("#"):
                name, n, digest = line.split()
                out[name] = (int(n), digest)
    return out


def case_official_legacy_compat(args):
    """numpy-legacy sampling + compat batches of B reproduce the OFFICIAL UCE run seeded with
    np.random.seed(0) at batch size B (B = 4, 2, and no compat = official B = 1). Expected values:
    tests/fixtures/official_run, made by tests/reference/official_run.py (an independent
    re-enactment of the official scripts, PyTorch float32).
    Tolerance 1e-5 per-cell L2: measured 6.6e-7 (engine vs official float32) and 7.8e-7 (official
    float32 vs float64); one different token or one different padding moves a cell by >= 6.7e-3."""
    import hashlib
    fix = os.path.join(args.source, "tests", "fixtures", "official_run")
    with open(os.path.join(fix, "seed0_b4.obs.txt")) as f:
        ref_names = f.read().split()
    ref = {b: np.load(os.path.join(fix, f"seed0_b{b}.npy")).astype(np.float64) for b in (1, 2, 4)}
    digests = official_sentence_digests(os.path.join(fix, "seed0_b4.sentences.txt"))
    legacy = ["sampling.mode=numpy-legacy", "sampling.seed=0"]

    def embed(name, *sets):
        cfg, out = demo_config(args, name)
        run(args, cfg, *sets)
        names, e = embeddings(out)
        assert names == ref_names, f"{name}: cell names/order differ from the official run"
        return e.astype(np.float64)

    def dist(a, b):
        return np.linalg.norm(a - b, axis=1)

    # 1. sentences: token for token the official ones (length + SHA-256 per cell)
    sent_path = os.path.join(args.work, "legacy_b4_sentences.npy")
    e4 = embed("legacy_b4", *legacy, "batching.compat_batch_size=4", f"output.sentences={sent_path}")
    got = np.load(sent_path)
    lengths = np.array([digests[n][0] for n in ref_names])
    bad = [n for n, row, (k, d) in ((n, got[i], digests[n]) for i, n in enumerate(ref_names))
           if (k > row.shape[0] or (row[k:] != 0).any() or
               hashlib.sha256(row[:k].astype("<i8").tobytes()).hexdigest() != d)]
    assert not bad, f"{len(bad)} sentences differ from the official run, first {bad[:5]}"

    # 2. embeddings: compat 4 = official B=4; compat 2 = official B=2; no compat = official B=1
    e2 = embed("legacy_b2", *legacy, "batching.compat_batch_size=2")
    e1 = embed("legacy_nocompat", *legacy)
    worst = {}
    for b, e in ((4, e4), (2, e2), (1, e1)):
        d = dist(e, ref[b])
        worst[b] = d.max()
        assert d.max() <= 1e-5, f"B={b} vs official: max L2 {d.max():.3e} (cell {ref_names[d.argmax()]})"

    # 3. the padding quirk is real: a cell padded in its official batch of 4 differs from B=1,
    #    an unpadded one does not; same for the cells whose padding differs between B=2 and B=4
    def pads(b):
        p = np.zeros_like(lengths)
        for s in range(0, len(lengths), b):
            p[s:s + b] = lengths[s:s + b].max() - lengths[s:s + b]
        return p
    p4, p2 = pads(4), pads(2)
    assert (p4 > 0).sum() >= 10, "too few padded cells in the demo to show the quirk"
    q41, q42 = dist(e4, e1), dist(e4, e2)
    assert q41[p4 > 0].min() > 1e-3, f"padded cells barely move with compat 4: {q41[p4 > 0].min():.3e}"
    assert q41[p4 == 0].max() <= 1e-5, f"unpadded cells moved with compat 4: {q41[p4 == 0].max():.3e}"
    assert (p4 != p2).sum() >= 5 and q42[p4 != p2].min() > 1e-3, "compat 2 and 4 do not differ where padding does"

    # 4. the engine's default sampler gives other sentences, hence other embeddings
    ed = embed("percell_b4", "batching.compat_batch_size=4")
    dd = dist(ed, ref[4])
    assert dd.min() > 1e-3, f"per-cell sampling vs official legacy: min L2 only {dd.min():.3e}"
    print(f"ok: {len(ref_names)} official sentences equal; max L2 to official B=4/2/1: "
          f"{worst[4]:.2e}/{worst[2]:.2e}/{worst[1]:.2e}; {(p4 > 0).sum()} cells padded at B=4 move by "
          f">= {q41[p4 > 0].min():.2e}; per-cell sampling moves every cell by >= {dd.min():.2e}")


def case_sigint_stops_cleanly(args):
    """SIGINT: the run stops after flushing what is done (exit 130, the partial output kept, the
    final name untouched); the same command then finishes, equal to an uninterrupted run."""
    cfg_full, out_full = demo_config(args, "full")
    run(args, cfg_full)
    cfg, out = demo_config(args, "interrupted")
    partial = out + ".partial"
    p = subprocess.Popen([args.uce_run, cfg, "--quiet"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 300
    while time.time() < deadline and p.poll() is None:
        time.sleep(0.2)
        try:
            with h5py.File(partial, "r", locking=False) as f:
                if "obsm/X_uce" in f and f["obsm/X_uce"].shape[0] >= 16:
                    break
        except Exception:
            pass
    if p.poll() is not None:
        sys.exit(f"FAIL: the run ended before SIGINT (rc {p.returncode}): {p.stderr.read()}")
    p.send_signal(signal.SIGINT)
    _, err = p.communicate(timeout=300)
    assert p.returncode == 130, (p.returncode, err)
    lines = [l for l in err.strip().splitlines() if l.startswith("uce-run:")]
    assert lines and "interrupted" in lines[-1] and ".partial" in lines[-1], err
    assert os.path.exists(partial) and not os.path.exists(out), "SIGINT must keep the partial file only"
    run(args, cfg)
    n_full, e_full = embeddings(out_full)
    n_res, e_res = embeddings(out)
    assert n_full == n_res and e_full.tobytes() == e_res.tobytes(), "resumed output differs"
    print(f"ok: SIGINT -> exit 130, partial kept, resumed output identical ({len(n_res)} cells)")


# --- the hand-off from the flow graph to the calling thread (model + writer run there) ----------

def manifest_of(out):
    import json
    with open(out[:-len(".h5ad")] + ".manifest.json") as f:
        return json.load(f)


def case_many_batches_in_order(args):
    """More batches than [batching] in_flight, a last batch shorter than the others, and in_flight
    of 1 (every batch waits for the one before it to be written) or larger than 2: every cell is
    embedded exactly once, in input order, as in the default run (the batching changes only the
    batch shapes, so the embeddings agree to float rounding), and the manifest's stage statistics
    count every cell once."""
    cfg0, out0 = demo_config(args, "default")
    run(args, cfg0, "output.manifest=true")
    names0, emb0 = embeddings(out0)
    assert len(names0) == 288, len(names0)
    for cells, in_flight in ((5, 1), (3, 7)):
        name = f"b{cells}_f{in_flight}"
        cfg, out = demo_config(args, name)
        run(args, cfg, f"batching.cells_per_batch={cells}", f"batching.in_flight={in_flight}",
            "output.manifest=true", timeout=600)
        names, emb = embeddings(out)
        assert names == names0, f"{name}: cells missing, repeated or out of order ({len(names)} cells)"
        d = np.linalg.norm(emb.astype(np.float64) - emb0.astype(np.float64), axis=1)
        assert d.max() <= 1e-5, f"{name}: max L2 distance to the default run {d.max():.3e}"
        m = manifest_of(out)
        assert m["cells"]["embedded"] == 288, m["cells"]
        stages = {s["stage"]: s for s in m["timings"]["stages"]}
        assert {"read", "sentences", "model", "write"} <= set(stages), sorted(stages)
        assert stages["model"]["busy_s"] > 0 and stages["write"]["busy_s"] > 0, stages
        assert not os.path.exists(out + ".partial")
        print(f"ok: {name}: {len(names)} cells in order ({-(-288 // cells)} batches, in_flight {in_flight}); "
              f"max L2 to the default run {d.max():.1e}")


def case_write_fails_mid_run(args):
    """A write that fails in the middle of the run (the sentences file reaches the process's file
    size limit, RLIMIT_FSIZE, after ~170 of 288 cells, while later batches are still being built)
    ends the run: exit 1 within the timeout (the pipeline drains, it does not hang), one error
    line naming the file, no final output; the partial .h5ad holds the cells written before the
    failure, a prefix in input order, and a plain rerun resumes from it to the uninterrupted result."""
    import resource
    cfg_full, out_full = demo_config(args, "full")
    run(args, cfg_full)
    cfg, out = demo_config(args, "fsize")
    sent = os.path.join(args.work, "fsize_sentences.npy")
    limit = 1500 * 1000  # bytes; a demo sentence row is ~8.5 kB, the partial .h5ad stays far below

    def small_files():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    cmd = [args.uce_run, cfg, "--quiet", "--set", f"output.sentences={sent}", "--set", "batching.in_flight=3"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, preexec_fn=small_files)
    errors = [l for l in p.stderr.splitlines() if l.startswith("uce-run:")]
    assert p.returncode == 1, f"exit code {p.returncode}, expected 1: {p.stderr}"
    assert len(errors) == 1 and sent in errors[0] and "write failed" in errors[0], p.stderr
    left = [f for f in (out, sent, sent + ".partial") if os.path.exists(f)]
    assert not left, f"a failed run left {left}"
    names_full, emb_full = embeddings(out_full)
    with h5py.File(out + ".partial", "r") as f:
        stored = f["obsm/X_uce"][:]
    assert 0 < stored.shape[0] < len(names_full), f"{stored.shape[0]} cells stored: the failure was not mid-run"
    assert stored.tobytes() == emb_full[:stored.shape[0]].tobytes(), "the partial output is not a prefix of the full run"
    run(args, cfg)
    names, emb = embeddings(out)
    assert names == names_full and emb.tobytes() == emb_full.tobytes(), "the resumed output differs"
    print(f"ok: write failure after {stored.shape[0]} cells -> exit 1, {errors[0]!r}; the resumed output "
          f"equals the uninterrupted run")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--uce-run", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--work", required=True)
    args = ap.parse_args()
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    globals()["case_" + args.case](args)


if __name__ == "__main__":
    main()
