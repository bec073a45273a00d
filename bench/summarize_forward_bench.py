#!/usr/bin/python3
"""Summary of one run_forward_bench.sh session: reads the RESULT lines of engine.<round>.txt and
pytorch.<round>.txt in LOG_DIR and prints, per round and as the median over rounds, the engine's
cells/s, PyTorch's cells/s (official and cached-tokens variants), their ratio (same round, so the
same machine load), and the forward pass as a % of the sgemm rate.

  /usr/bin/python3 bench/summarize_forward_bench.py LOG_DIR
"""
import glob
import os
import re
import statistics
import sys


def results(path):
    out = []
    for line in open(path):
        if line.startswith("RESULT "):
            kind, *pairs = line.split()[1:]
            rec = dict(p.split("=", 1) for p in pairs)
            rec["kind"] = kind
            out.append(rec)
    return out


def main():
    log_dir = sys.argv[1]
    rounds = sorted(int(re.search(r"engine\.(\d+)\.txt$", p).group(1))
                    for p in glob.glob(os.path.join(log_dir, "engine.*.txt")))
    rows = []
    for r in rounds:
        eng = results(os.path.join(log_dir, f"engine.{r}.txt"))
        torch_path = os.path.join(log_dir, f"pytorch.{r}.txt")
        pt = {rec["variant"]: rec for rec in results(torch_path)} if os.path.exists(torch_path) else {}
        if not eng:
            continue
        e = eng[0]
        row = {"round": r, "engine_s": float(e["sec_per_cell_median"]), "engine_cps": float(e["cells_per_s"]),
               "fwd_gflops": float(e["forward_gflops"]), "sgemm_gflops": float(e["sgemm_gflops"]),
               "pct": float(e["forward_pct_of_sgemm"]), "core": e["core"], "torch_core": "?"}
        if "forward_pct_of_sgemm_cpu" in e:
            row["pct_cpu"] = float(e["forward_pct_of_sgemm_cpu"])
        if "cpu_sec_per_cell" in e:
            row["engine_cpu"] = float(e["cpu_sec_per_cell"])
        for v, key in (("official", "off"), ("cached-tokens", "cached")):
            if v in pt:
                row[key + "_s"] = float(pt[v]["sec_per_cell_median"])
                row[key + "_cps"] = float(pt[v]["cells_per_s"])
                row[key + "_gflops"] = float(pt[v]["forward_gflops"])
                row["ratio_" + key] = row["engine_cps"] / row[key + "_cps"]
                if "cpu_sec_per_cell" in pt[v] and "engine_cpu" in row:
                    row[key + "_cpu"] = float(pt[v]["cpu_sec_per_cell"])
                    row["cpu_ratio_" + key] = row[key + "_cpu"] / row["engine_cpu"]
                row["torch_core"] = pt[v]["core"]
        rows.append(row)
    if not rows:
        sys.exit(f"{log_dir}: no RESULT lines")

    def fmt(row, key, spec):
        return format(row[key], spec) if key in row else "-"

    print("round  engine s/cell  GFLOP/s  sgemm GFLOP/s  fwd/sgemm | torch official s/cell  cached-tokens s/cell"
          " | engine/official  engine/cached")
    for row in rows:
        print(f"{row['round']:5d}  {row['engine_s']:13.4f}  {row['fwd_gflops']:7.1f}  {row['sgemm_gflops']:13.1f}"
              f"  {row['pct']:8.1f}% | {fmt(row, 'off_s', '21.4f')}  {fmt(row, 'cached_s', '20.4f')}"
              f" | {fmt(row, 'ratio_off', '15.2f')}  {fmt(row, 'ratio_cached', '13.2f')}")

    def med(key):
        vals = [row[key] for row in rows if key in row]
        return statistics.median(vals) if vals else float("nan")
    print(f"OpenBLAS core: engine {rows[0]['core']}, pytorch {rows[0]['torch_core']}")
    print(f"MEDIAN over {len(rows)} rounds: engine {med('engine_s'):.4f} s/cell ({med('engine_cps'):.3f} cells/s, "
          f"{med('fwd_gflops'):.1f} GFLOP/s); pytorch official {med('off_s'):.4f} s/cell, cached-tokens "
          f"{med('cached_s'):.4f} s/cell")
    print(f"MEDIAN ratio engine/pytorch cells per second: {med('ratio_off'):.2f}x vs official, "
          f"{med('ratio_cached'):.2f}x vs cached-tokens (goal >= 4x)")
    if any("cpu_ratio_off" in row for row in rows):
        print("process CPU seconds per cell (all threads; less sensitive to other processes' load):")
        for row in rows:
            print(f"  round {row['round']}: engine {fmt(row, 'engine_cpu', '.3f')}, pytorch official "
                  f"{fmt(row, 'off_cpu', '.3f')}, cached-tokens {fmt(row, 'cached_cpu', '.3f')}; pytorch/engine "
                  f"{fmt(row, 'cpu_ratio_off', '.2f')}x official, {fmt(row, 'cpu_ratio_cached', '.2f')}x cached-tokens")
        print(f"MEDIAN CPU-time ratio pytorch/engine: {med('cpu_ratio_off'):.2f}x official, "
              f"{med('cpu_ratio_cached'):.2f}x cached-tokens")
    print(f"MEDIAN forward vs sgemm: {med('pct'):.1f}% ({med('fwd_gflops'):.1f} of {med('sgemm_gflops'):.1f} GFLOP/s;"
          f" goal >= 75%)")
    if any("pct_cpu" in row for row in rows):
        print(f"MEDIAN forward vs sgemm per CPU second: {med('pct_cpu'):.1f}% (rounds: "
              + ", ".join(fmt(row, "pct_cpu", ".1f") for row in rows) + ")")


if __name__ == "__main__":
    main()
