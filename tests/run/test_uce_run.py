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
    run(args, cfg)
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
