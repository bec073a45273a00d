#!/usr/bin/python3
"""The backend shoot-out (issue #8): per-op timings against the device's measured peaks, end-to-end
cells/s through the real uce-run binary, and a PyTorch baseline on the same synthetic weights,
driven by configs/shootout.toml. Results: one JSON + CSV per machine, an SVG chart and the
Markdown tables of bench/RESULTS.md (bench/shootout/report.py).

  /usr/bin/python3 bench/shootout/shootout.py [--quick] [--config configs/shootout.toml]
      [--build build] [--data /tmp/uce-shootout] [--label NAME] [--out DIR] [--publish | --no-publish]
      [--only ops,e2e,torch] [--backends a,b] [--models a,b] [--precisions fp32,fp16] [--batches 1,8]
  /usr/bin/python3 bench/shootout/shootout.py --table-only      # regenerate chart + RESULTS.md only

--only/--backends/--models/--precisions/--batches narrow the configured lists: every result row
carries the command that re-runs exactly that row. Default --out is bench/results/<label>
(--quick: <data>/quick/<label>); --publish (default without --quick) then regenerates
bench/results/cells_per_s.svg and the tables in bench/RESULTS.md from every bench/results/*/shootout.json.
"""
import argparse
import copy
import datetime
import json
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import make_shootout_data  # noqa: E402
import report  # noqa: E402

GPU_BACKENDS = ("vulkan", "opencl")
DEMO = {"checkpoint": os.path.join(ROOT, "demo", "model.torch"), "cells": os.path.join(ROOT, "demo", "cells.h5ad")}


def deep_merge(base, over):
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def section_for(cfg, section, backend):
    """[section] with [section.override.<backend>] applied."""
    s = {k: v for k, v in cfg[section].items() if k != "override"}
    return deep_merge(s, cfg[section].get("override", {}).get(backend, {}))


def precision_flags(precision):
    """uce_bench_ops options that open a backend as the e2e rows' uce-run config does: fp16 = true
    for fp16; fp32 keeps uce-run's default coopmat = true (fp32 results, tensor cores where a
    backend computes fp32 on them)."""
    return ["--fp16"] if precision == "fp16" else ["--coopmat"]


def run(cmd, timeout, env=None):
    """(rc, stdout, stderr); a timeout or a missing binary is rc 124 / 127 with the reason in stderr."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired:
        return 124, "", f"timed out after {timeout} s"
    except OSError as e:
        return 127, "", str(e)


def last_line(text):
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1].strip() if lines else "(no output)"


def machine_info(args, bins):
    def out(cmd):
        rc, so, _ = run(cmd, 60)
        return so.strip() if rc == 0 else ""
    cpu = ""
    for ln in out(["lscpu"]).splitlines():
        if ln.startswith("Model name:"):
            cpu = ln.split(":", 1)[1].strip()
    gpu = out(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]) if shutil.which("nvidia-smi") else ""
    # SHOOTOUT_COMMIT first: the commit a copied build was made from (the copy's own .git, if it
    # has one, may be older than what was built).
    commit = os.environ.get("SHOOTOUT_COMMIT", "")
    if not commit:
        commit = out(["git", "-C", ROOT, "rev-parse", "HEAD"])
        if commit and out(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"]):
            commit += "-dirty"
    commit = commit or "unknown"
    torch_version = out([sys.executable, "-c", "import torch; print(torch.__version__, torch.version.cuda or '')"])
    return {"label": args.label, "date_utc": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(), "gpu": gpu,
            "os": platform.platform(), "python": platform.python_version(), "torch": torch_version or "not importable",
            "commit": commit, "quick": args.quick, "profile": args.profile, "config": os.path.relpath(args.config, ROOT),
            "build": args.build, "uce_run": bins["uce-run"]}


class Shootout:
    def __init__(self, args, cfg):
        self.a, self.cfg = args, cfg
        self.threads = cfg["run"]["threads"]
        self.timeout = cfg["run"]["timeout_s"]
        b = os.path.join(ROOT, args.build, "bin")
        self.bins = {"uce-run": os.path.join(b, "uce-run"), "ops": os.path.join(b, "uce_bench_ops")}
        self.describe = {}     # backend + precision -> describe() line (device, driver)
        self.unavailable = {}  # backend + precision -> reason
        self.work = os.path.join(args.data, "work", args.label)
        os.makedirs(self.work, exist_ok=True)

    def row_command(self, part, **narrow):
        cmd = ["/usr/bin/python3", "bench/shootout/shootout.py"] + (["--quick"] if self.a.quick else [])
        cmd += ["--profile", self.a.profile] if self.a.profile and not self.a.quick else []
        cmd += ["--build", self.a.build] if self.a.build != "build" else []
        cmd += ["--data", self.a.data] if self.a.data != "/tmp/uce-shootout" else []
        cmd += ["--only", part] + [x for k, v in narrow.items() for x in (f"--{k}", str(v))]
        return " ".join(cmd)

    def precisions(self, backend, wanted):
        return [p for p in wanted if p == "fp32" or backend in GPU_BACKENDS]

    def log(self, msg):
        print(f"[shootout {datetime.datetime.now().strftime('%H:%M:%S')}] {msg}", flush=True)

    # ---- availability ---------------------------------------------------------------------------
    def probe(self, backend, precision):
        """Opens the backend once (tiny peaks, no ops): the describe() line or the reason it cannot run."""
        key = (backend, precision)
        if key in self.describe or key in self.unavailable:
            return key not in self.unavailable
        cmd = [self.bins["ops"], "--backend", backend, "--threads", str(self.threads), "--families", "",
               "--peak-gemm", "16", "--peak-copy-mib", "1", "--warmup", "0", "--repeats", "1"]
        cmd += precision_flags(precision)
        rc, so, se = run(cmd, 300)
        if rc == 0:
            self.describe[key] = json.loads(so)["describe"]  # with --fp16 it says what the backend uses
        else:
            self.unavailable[key] = last_line(se or so)
            self.log(f"{backend} {precision}: not available: {self.unavailable[key]}")
        return rc == 0

    # ---- per-op ------------------------------------------------------------------------------
    def ops_rows(self):
        rows = []
        for backend in self.filter("backends", self.cfg["ops"]["backends"]):
            o = section_for(self.cfg, "ops", backend)
            for precision in self.precisions(backend, self.filter("precisions", o["precisions"])):
                for batch in self.filter("batches", o["batches"], int):
                    base = {"kind": "ops", "backend": backend, "precision": precision, "batch": batch,
                            "command": self.row_command("ops", backends=backend, precisions=precision, batches=batch)}
                    if not self.probe(backend, precision):
                        rows.append({**base, "status": "unavailable", "reason": self.unavailable[(backend, precision)]})
                        continue
                    cmd = [self.bins["ops"], "--backend", backend, "--threads", str(self.threads),
                           "--families", ",".join(o["families"]), "--batch", str(batch), "--warmup", str(o["warmup"]),
                           "--repeats", str(o["repeats"]), "--peak-gemm", str(o["peak_gemm"]),
                           "--peak-copy-mib", str(o["peak_copy_mib"])] + precision_flags(precision)
                    self.log("ops: " + " ".join(cmd))
                    rc, so, se = run(cmd, self.timeout)
                    if rc != 0:
                        rows.append({**base, "status": "failed", "reason": last_line(se or so), "program": shlex.join(cmd)})
                        continue
                    j = json.loads(so)
                    rows.append({**base, "status": "ok", "program": shlex.join(cmd), "describe": j["describe"],
                                 "peak_gflops": j["peak_gflops"], "peak_gbps": j["peak_gbps"], "ops": j["ops"]})
        return rows

    # ---- end to end --------------------------------------------------------------------------
    def model_folder(self, model, cells):
        if model == "demo":
            return None
        return make_shootout_data.make(self.a.data, model, [cells])

    def uce_run_config(self, model, folder, backend, precision, batch, cells, out):
        if model == "demo":
            cells_path, m = DEMO["cells"], (f'family = "uce"\ncheckpoint = "{DEMO["checkpoint"]}"\nheads = 4\n'
                                            "chrom_token_offset = 2004\nesm_rows = 2004\nfull_rows = 2030\n")
            sampling, filt = 'mode = "per-cell"', "enabled = true"
        elif model == "uce-brain":
            cells_path = os.path.join(folder, f"cells_{cells}.h5ad")
            m = f'family = "uce-brain"\ncheckpoint = "{folder}"\ngene_mapping = "{folder}/gene_mapping.json"\n'
            sampling, filt = 'mode = "numpy-per-cell"', "enabled = false"
        else:
            cells_path = os.path.join(folder, f"cells_{cells}.h5ad")
            m = (f'family = "uce"\ncheckpoint = "{folder}/model.torch"\nfiles = "{folder}"\nheads = 20\n'
                 f"chrom_token_offset = {make_shootout_data.UCE_TABLE_ROWS - make_shootout_data.UCE_CHROMS}\n")
            sampling, filt = 'mode = "per-cell"', "enabled = false"
        return (f'[input]\npath = "{cells_path}"\nspecies = "human"\n\n[filter]\n{filt}\n\n[model]\n{m}\n'
                f"[sampling]\n{sampling}\nseed = 0\n\n[batching]\ncells_per_batch = {batch}\n\n"
                f'[backends]\ndefault = ["{backend}"]\nthreads = {self.threads}\nfp16 = {str(precision == "fp16").lower()}\n\n'
                f'[output]\npath = "{out}"\nreport = false\nmanifest = true\nresume = false\n\n'
                f'[log]\nlevel = "warn"\nprogress = "none"\n')

    def one_uce_run(self, config_path, out):
        for f in (out, out.replace(".h5ad", ".manifest.json")):
            if os.path.exists(f):
                os.remove(f)
        cmd = [self.bins["uce-run"], config_path, "--quiet"]
        rc, so, se = run(cmd, self.timeout)
        if rc != 0:
            return None, last_line(se or so)
        with open(out.replace(".h5ad", ".manifest.json")) as f:
            return json.load(f), None

    def e2e_rows(self):
        rows = []
        for backend in self.filter("backends", self.cfg["e2e"]["backends"]):
            e = section_for(self.cfg, "e2e", backend)
            for model in self.filter("models", e["models"]):
                for precision in self.precisions(backend, self.filter("precisions", e["precisions"])):
                    for batch in self.filter("batches", e["cells_per_batch"], int):
                        base = {"kind": "e2e", "backend": backend, "model": model, "precision": precision,
                                "cells_per_batch": batch,
                                "command": self.row_command("e2e", backends=backend, models=model,
                                                            precisions=precision, batches=batch)}
                        if not self.probe(backend, precision):
                            rows.append({**base, "status": "unavailable", "reason": self.unavailable[(backend, precision)]})
                            continue
                        cells = e.get("cells_for", {}).get(model, e["cells"])
                        try:
                            folder = self.model_folder(model, cells)
                        except Exception as ex:  # noqa: BLE001 - e.g. torch missing to write the model
                            rows.append({**base, "status": "failed", "reason": f"model data: {ex}"})
                            continue
                        tag = f"{model}-{backend}-{precision}-b{batch}"
                        out = os.path.join(self.work, tag + ".h5ad")
                        config_path = os.path.join(self.work, tag + ".toml")
                        with open(config_path, "w") as f:
                            f.write(self.uce_run_config(model, folder, backend, precision, batch, cells, out))
                        program = f"{self.bins['uce-run']} {config_path} --quiet"
                        # Every batch size warms up: OpenCL calibrates its GEMMs per shape class
                        # (rows to a power of two), so a batch size's first run pays for that.
                        for _ in range(e["warmup_runs"]):
                            self.log(f"e2e warm-up: {program}")
                            self.one_uce_run(config_path, out)
                        runs, reason = [], None
                        for r in range(e["repeats"]):
                            self.log(f"e2e {r + 1}/{e['repeats']}: {program}")
                            m, reason = self.one_uce_run(config_path, out)
                            if m is None:
                                break
                            runs.append(m)
                        if reason:
                            rows.append({**base, "status": "failed", "reason": reason, "program": program})
                            continue
                        rows.append({**base, "status": "ok", "program": program, **summarize_runs(runs),
                                     "describe": self.describe[(backend, precision)],
                                     "uce_run_config": report.read_text(config_path)})
        return rows

    # ---- PyTorch baseline ----------------------------------------------------------------------
    def torch_rows(self):
        t = self.cfg["torch"]
        if not t.get("enabled", True):
            return []
        rc, so, se = run([sys.executable, "-c", "import torch; print(int(torch.cuda.is_available()))"], 120)
        if rc != 0:
            return [{"kind": "torch", "backend": "pytorch", "model": m, "status": "unavailable",
                     "reason": "import torch failed: " + last_line(se), "command": self.row_command("torch", models=m)}
                    for m in self.filter("models", t["models"])]
        cuda = so.strip() == "1"
        threads = self.threads or os.cpu_count()
        rows = []
        for model in self.filter("models", t["models"]):
            if model == "demo":
                continue
            try:
                folder = make_shootout_data.make(self.a.data, model, [])
            except Exception as ex:  # noqa: BLE001
                rows.append({"kind": "torch", "backend": "pytorch", "model": model, "status": "failed",
                             "reason": f"model data: {ex}", "command": self.row_command("torch", models=model)})
                continue
            cmds = []
            if model == "uce-brain":
                for b in (self.filter("batches", t["batches"], int) if cuda else [1]):
                    for precision in (("fp32", "bf16") if cuda else ("fp32",)):
                        cmds.append([sys.executable, os.path.join(ROOT, "bench", "pytorch_brain_baseline.py"), folder,
                                     "--threads", str(threads), "--cells", str(max(t["cells"], b)), "--batch", str(b)]
                                    + (["--device", "cuda", "--precision", precision] if cuda else []))
            elif cuda:
                cmds.append([sys.executable, os.path.join(ROOT, "bench", "pytorch_gpu_baseline.py"), folder,
                             "--batches", ",".join(str(b) for b in self.filter("batches", t["batches"], int)),
                             "--cells", str(t["cells"])])
            else:
                cmds.append([sys.executable, os.path.join(ROOT, "bench", "pytorch_baseline.py"), folder,
                             "--threads", str(threads), "--cells", str(t["cells"]), "--variant", "both"])
            for cmd in cmds:
                program = shlex.join(cmd).replace(ROOT + "/", "")
                self.log("torch: " + program)
                rc, so, se = run(cmd, self.timeout)
                base = {"kind": "torch", "backend": "pytorch", "model": model, "device": "cuda" if cuda else "cpu",
                        "program": program, "command": self.row_command("torch", models=model)}
                if rc != 0:
                    rows.append({**base, "status": "failed", "reason": last_line(se or so)})
                    continue
                for ln in so.splitlines():
                    if ln.startswith("RESULT "):
                        kv = dict(x.split("=", 1) for x in ln.split()[2:] if "=" in x)
                        rows.append({**base, "status": "ok", "variant": kv.get("variant", "model"),
                                     "precision": kv.get("precision", "fp32"), "cells_per_batch": int(kv.get("batch", 1)),
                                     "cells": int(kv.get("cells", 0)), "cells_per_s": float(kv["cells_per_s"]),
                                     "result_line": ln})
        return rows

    def filter(self, name, values, cast=str):
        narrow = getattr(self.a, name)
        if not narrow:
            return list(values)
        keep = [cast(x) for x in narrow.split(",")]
        return [v for v in values if v in keep] or keep


def summarize_runs(runs):
    cps = [m["timings"]["cells_per_s"] for m in runs]
    stages = {}
    for m in runs:
        for s in m["timings"]["stages"]:
            stages.setdefault(s["stage"], []).append(s["busy_s"])
    return {"cells": runs[0]["cells"]["embedded"], "repeats": len(runs),
            "cells_per_s": statistics.median(cps), "cells_per_s_min": min(cps), "cells_per_s_max": max(cps),
            "wall_s": statistics.median(m["timings"]["wall_s"] for m in runs),
            "stage_busy_s": {k: statistics.median(v) for k, v in stages.items()},
            "engine_version": runs[0]["engine"]["version"], "model_summary": runs[0]["model"]}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default=os.path.join(ROOT, "configs", "shootout.toml"))
    ap.add_argument("--quick", action="store_true", help="the [quick] profile: smoke-test sizes")
    ap.add_argument("--profile", default="", help="apply a profile of the config: quick, cpu or gpu")
    ap.add_argument("--build", default="build", help="build folder, relative to the repository root")
    ap.add_argument("--data", default="/tmp/uce-shootout", help="synthetic models, cells and run files (not committed)")
    ap.add_argument("--label", default="", help="machine label (default: the GPU name, else cpu-<N>core)")
    ap.add_argument("--out", default="")
    ap.add_argument("--publish", dest="publish", action="store_true", default=None)
    ap.add_argument("--no-publish", dest="publish", action="store_false")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--require-ok", action="store_true",
                    help="exit 1 when a row failed (a backend that is merely unavailable still only gives a reason row); for CI")
    ap.add_argument("--only", default="ops,e2e,torch")
    for k in ("backends", "models", "precisions", "batches"):
        ap.add_argument(f"--{k}", default="")
    a = ap.parse_args()
    results_root = os.path.join(ROOT, "bench", "results")
    if a.table_only:
        report.publish(results_root, os.path.join(ROOT, "bench", "RESULTS.md"), [os.path.join(ROOT, "README.md")])
        return 0
    with open(a.config, "rb") as f:
        cfg = tomllib.load(f)
    profiles = {k: cfg.pop(k) for k in ("quick", "cpu", "gpu") if k in cfg}
    if a.quick:
        a.profile = "quick"
    if a.profile:
        if a.profile not in profiles:
            print(f"shootout: {a.config} has no [{a.profile}] profile", file=sys.stderr)
            return 2
        cfg = deep_merge(cfg, profiles[a.profile])
    if not a.label:
        rc, so, _ = run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], 60) if shutil.which("nvidia-smi") else (1, "", "")
        a.label = so.strip().splitlines()[0].replace("NVIDIA ", "").replace(" ", "-").lower() if rc == 0 and so.strip() \
            else f"cpu-{os.cpu_count()}core"
        if a.quick:
            a.label += "-quick"
    a.out = a.out or (os.path.join(a.data, "quick", a.label) if a.quick else os.path.join(results_root, a.label))
    if a.publish is None:
        a.publish = not a.quick
    s = Shootout(a, cfg)
    for name, path in s.bins.items():
        if not os.path.exists(path):
            print(f"shootout: {path} is missing: cmake --build {a.build} --target uce-run uce_bench_ops "
                  "uce_backend_blas uce_backend_vulkan uce_backend_opencl uce_stage_h5ad uce_stage_npy", file=sys.stderr)
            return 2
    info = machine_info(a, s.bins)
    info["command"] = " ".join(["/usr/bin/python3", "bench/shootout/shootout.py"] + sys.argv[1:])
    os.makedirs(a.out, exist_ok=True)
    rows = []
    for part, make_rows in (("ops", s.ops_rows), ("e2e", s.e2e_rows), ("torch", s.torch_rows)):
        if part not in a.only.split(","):
            continue
        rows += make_rows()
        # Written after every part, so a run cut short (a time limit) keeps what it measured.
        info["backends"] = {f"{b} {p}": d for (b, p), d in s.describe.items()}
        info["unavailable"] = {f"{b} {p}": r for (b, p), r in s.unavailable.items()}
        result = {"schema": "uce-shootout/1", "machine": info, "config": cfg, "rows": rows}
        report.write_run(a.out, result)
    problems = report.check_run(a.out)
    if a.require_ok:
        problems += [f"{r['kind']} {r['backend']} {r.get('model', '')} {r['precision'] if 'precision' in r else ''} "
                     f"failed: {r.get('reason', '')}" for r in rows if r["status"] == "failed"]
    for p in problems:
        print("shootout: CHECK FAILED: " + p, file=sys.stderr)
    if a.publish:
        report.publish(results_root, os.path.join(ROOT, "bench", "RESULTS.md"), [os.path.join(ROOT, "README.md")])
    print(f"shootout: results in {a.out} ({sum(r['status'] == 'ok' for r in rows)} rows ok, "
          f"{sum(r['status'] != 'ok' for r in rows)} unavailable/failed)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
