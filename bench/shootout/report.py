"""Outputs of the backend shoot-out: per machine shootout.json / shootout.csv / ops.csv / chart.svg /
table.md (write_run), their structural check (check_run), and the merged chart and Markdown tables
of every machine (publish: bench/results/cells_per_s.svg and the marked block of bench/RESULTS.md).
The chart is plain SVG text (no plotting library); its bars use a log scale because a scalar CPU
backend and an H100 differ by four orders of magnitude.
"""
import csv
import glob
import html
import json
import math
import os
import xml.etree.ElementTree as ET

BEGIN, END = "<!-- shootout:begin -->", "<!-- shootout:end -->"
SUMMARY_BEGIN, SUMMARY_END = "<!-- shootout:summary:begin -->", "<!-- shootout:summary:end -->"
E2E_FIELDS = ["machine", "kind", "model", "backend", "precision", "cells_per_batch", "cells", "repeats", "cells_per_s",
              "cells_per_s_min", "cells_per_s_max", "read_busy_s", "sentences_busy_s", "model_busy_s", "write_busy_s",
              "status", "reason", "command"]
OPS_FIELDS = ["machine", "backend", "precision", "batch", "family", "layer", "op", "shape", "median_s", "min_s", "max_s",
              "repeats", "gflops", "gbps", "pct_of_peak", "peak_gflops", "peak_gbps"]
OP_ORDER = ["attn.qkv", "attn", "attn.out", "norm1", "ffn.up", "ffn.down", "norm2"]


def read_text(path):
    with open(path) as f:
        return f.read()


def e2e_like(rows):
    return [r for r in rows if r["kind"] in ("e2e", "torch")]


def csv_rows(result):
    label = result["machine"]["label"]
    for r in e2e_like(result["rows"]):
        busy = r.get("stage_busy_s", {})
        yield {"machine": label, **{k: r.get(k, "") for k in E2E_FIELDS if k != "machine"},
               "backend": r["backend"] + (f" ({r['variant']})" if r.get("variant") not in (None, "model") else ""),
               **{f"{s}_busy_s": busy.get(s, "") for s in ("read", "sentences", "model", "write")}}


def ops_csv_rows(result):
    label = result["machine"]["label"]
    for r in result["rows"]:
        if r["kind"] != "ops" or r["status"] != "ok":
            continue
        for o in r["ops"]:
            yield {"machine": label, "backend": r["backend"], "precision": r["precision"], "batch": r["batch"],
                   **{k: o[k] for k in ("family", "layer", "op", "shape", "median_s", "min_s", "max_s", "repeats",
                                        "gflops", "gbps", "pct_of_peak")},
                   "peak_gflops": r["peak_gflops"], "peak_gbps": r["peak_gbps"]}


def write_csv(path, fields, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow(r)


def write_run(out, result):
    with open(os.path.join(out, "shootout.json"), "w") as f:
        json.dump(result, f, indent=1)
        f.write("\n")
    write_csv(os.path.join(out, "shootout.csv"), E2E_FIELDS, csv_rows(result))
    write_csv(os.path.join(out, "ops.csv"), OPS_FIELDS, ops_csv_rows(result))
    with open(os.path.join(out, "chart.svg"), "w") as f:
        f.write(chart_svg([result]))
    with open(os.path.join(out, "table.md"), "w") as f:
        f.write(tables_markdown([result]))


# ---- chart ------------------------------------------------------------------------------------
def chart_bars(results):
    """One bar per machine x model x backend x precision: the best cells/s over the batch sizes."""
    best = {}
    for res in results:
        for r in e2e_like(res["rows"]):
            if r["status"] != "ok":
                continue
            name = r["backend"] + (f" {r['variant']}" if r.get("variant") not in (None, "model") else "")
            key = (res["machine"]["label"], r["model"], name, r.get("precision", "fp32"))
            if key not in best or r["cells_per_s"] > best[key][0]:
                best[key] = (r["cells_per_s"], r.get("cells_per_batch", 1), r["kind"])
    return [(k, v) for k, v in sorted(best.items())]


def chart_svg(results):
    bars = chart_bars(results)
    left, width, bar_h, top = 420, 520, 16, 40
    height = top + max(1, len(bars)) * (bar_h + 4) + 40
    values = [v[0] for _, v in bars] or [1.0]
    lo = 10 ** math.floor(math.log10(min(values))) if min(values) > 0 else 0.01
    hi = 10 ** math.ceil(math.log10(max(values) * 1.0001))
    hi = max(hi, lo * 10)

    def x(v):
        return left + width * (math.log10(max(v, lo)) - math.log10(lo)) / (math.log10(hi) - math.log10(lo))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 120}" height="{height}" '
           f'font-family="sans-serif" font-size="11">',
           '<text x="10" y="18" font-size="14">Cells per second by machine, model, backend and precision '
           '(best batch; log scale; PyTorch = model only)</text>']
    decade = lo
    while decade <= hi * 1.0001:
        out.append(f'<line x1="{x(decade):.1f}" y1="{top - 6}" x2="{x(decade):.1f}" y2="{height - 30}" stroke="#ddd"/>')
        out.append(f'<text x="{x(decade):.1f}" y="{height - 16}" text-anchor="middle">{decade:g}</text>')
        decade *= 10
    for i, ((machine, model, backend, precision), (cps, batch, kind)) in enumerate(bars):
        y = top + i * (bar_h + 4)
        colour = "#999" if kind == "torch" else {"blas": "#4e79a7", "vulkan": "#e15759", "opencl": "#59a14f",
                                                   "reference": "#b07aa1"}.get(backend, "#f28e2b")
        label = html.escape(f"{machine} | {model} | {backend} {precision}")
        out.append(f'<text x="{left - 6}" y="{y + bar_h - 4}" text-anchor="end">{label}</text>')
        out.append(f'<rect class="bar" x="{left}" y="{y}" width="{max(1.0, x(cps) - left):.1f}" height="{bar_h}" '
                   f'fill="{colour}" data-cells-per-s="{cps:.6g}"/>')
        out.append(f'<text x="{x(cps) + 4:.1f}" y="{y + bar_h - 4}">{cps:.3g} (batch {batch})</text>')
    out.append("</svg>\n")
    return "\n".join(out)


# ---- tables -----------------------------------------------------------------------------------
def md(text):
    """Text safe inside a Markdown table cell."""
    return html.escape(str(text), quote=False).replace("|", "\\|")


def fmt(v):
    if v == "" or v is None:
        return ""
    return f"{v:.3g}" if abs(v) < 100 else f"{v:,.0f}"


def baseline_for(results, machine, r):
    """The PyTorch row of the same machine and model to compare with (fp16 engine vs bf16 PyTorch,
    the same batch if measured, else the fastest; CPU: the cached-tokens variant, as the engine also
    projects tokens once per run)."""
    want = "bf16" if r["precision"] == "fp16" else "fp32"
    cands = [t for res in results if res["machine"]["label"] == machine for t in res["rows"]
             if t["kind"] == "torch" and t["status"] == "ok" and t["model"] == r["model"]
             and t.get("precision", "fp32") == want and t.get("variant", "model") in ("model", "cached-tokens")]
    same = [t for t in cands if t.get("cells_per_batch") == r["cells_per_batch"]]
    pool = same or cands
    return max(pool, key=lambda t: t["cells_per_s"]) if pool else None


SUMMARY_COLUMNS = [("blas", "fp32"), ("reference", "fp32"), ("vulkan", "fp32"), ("vulkan", "fp16"), ("opencl", "fp32"),
                   ("opencl", "fp16"), ("pytorch", "fp32"), ("pytorch", "bf16")]


def summary_markdown(results):
    """Best cells/s (and the batch that gave it) per machine x model x backend precision; end to end
    for the engine, model only for PyTorch (its cached-tokens variant on the CPU)."""
    best = {}
    for (machine, model, name, precision), (cps, batch, _) in chart_bars(results):
        if name.startswith("pytorch") and name not in ("pytorch", "pytorch cached-tokens"):
            continue
        key = (machine, model, name.split()[0], precision)
        if key not in best or cps > best[key][0]:
            best[key] = (cps, batch)
    rows = sorted({(m, mo) for m, mo, _, _ in best})
    lines = ["| machine | model | " + " | ".join(f"{b} {p}" for b, p in SUMMARY_COLUMNS) + " |",
             "|---|---|" + "---|" * len(SUMMARY_COLUMNS)]
    for machine, model in rows:
        cells = [f"{fmt(v[0])} (b{v[1]})" if (v := best.get((machine, model, b, p))) else "-" for b, p in SUMMARY_COLUMNS]
        lines.append(f"| {machine} | {model} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def tables_markdown(results):
    lines = ["### Summary: best cells/s (cells per batch)", "",
             "Engine: end to end through uce-run (h5ad in, h5ad out). PyTorch: the model alone on the same "
             "weights (token projection cached), the baseline. Full rows below.", "",
             summary_markdown(results), "### Machines", "",
             "| machine | date (UTC) | commit | CPU | GPU, driver | PyTorch | backends (describe) | run with |",
             "|---|---|---|---|---|---|---|---|"]
    for res in results:
        m = res["machine"]
        backends = "<br>".join(md(f"{k}: {v}") for k, v in sorted(m.get("backends", {}).items()))
        lines.append(f"| {m['label']} | {m['date_utc']} | {m['commit'][:12]} | {m['cpu']} ({m['cores']} cores) | "
                     f"{m['gpu'] or '-'} | {m['torch']} | {backends or '-'} | `{m['command']}` |")
    lines += ["", "### End to end (uce-run: h5ad in, h5ad out) and the PyTorch baseline (model only)", "",
              "cells/s = embedded cells / uce-run's pipeline wall time (median of the runs; min-max). Busy = seconds "
              "each stage worked (uce-run's manifest `timings`). x PyTorch = engine cells/s / PyTorch cells/s on the "
              "same machine, model and weights (fp16 vs bf16 autocast; PyTorch times the model alone, sentence cached).",
              "", "| machine | model | backend | precision | cells/batch | cells | cells/s (min-max) | x PyTorch | "
              "busy s: read / sentences / model / write | reproduce |", "|---|---|---|---|---|---|---|---|---|---|"]
    for res in results:
        label = res["machine"]["label"]
        for r in e2e_like(res["rows"]):
            name = r["backend"] + (f" ({r['variant']})" if r.get("variant") not in (None, "model") else "")
            if r["status"] != "ok":
                lines.append(f"| {label} | {r.get('model', '')} | {name} | {r.get('precision', '')} | "
                             f"{r.get('cells_per_batch', '')} | | **{r['status']}**: {md(r['reason'])} | | | "
                             f"`{r['command']}` |")
                continue
            spread = f"{fmt(r['cells_per_s'])}" + (f" ({fmt(r['cells_per_s_min'])}-{fmt(r['cells_per_s_max'])})"
                                                   if r["kind"] == "e2e" else "")
            ratio, busy = "", ""
            if r["kind"] == "e2e":
                b = baseline_for(results, label, r)
                ratio = f"{r['cells_per_s'] / b['cells_per_s']:.2f}" if b else ""
                sb = r["stage_busy_s"]
                busy = " / ".join(fmt(sb.get(s, "")) for s in ("read", "sentences", "model", "write"))
            lines.append(f"| {label} | {r['model']} | {name} | {r.get('precision', 'fp32')} | {r['cells_per_batch']} | "
                         f"{r['cells']} | {spread} | {ratio} | {busy} | `{r['command']}` |")
    lines += ["", "### Per op at the real shapes (uce_bench_ops)", "",
              "Peaks are measured through the same backend: an N x N x N GEMM (LINEAR op) and a large COPY. Each op "
              "cell: median ms (% of the GEMM peak for matrix products and attention, % of the copy peak for "
              "layer norms; a backend whose COPY is slower than its layer norm shows more than 100%). Families: `uce` = original UCE, 4 and 33 layers (n 1073, d 1280, 20 heads of 64, ff 5120); "
              "`uce-brain` = the 8-layer pilot (n 1071, d 512, 8 heads of 64, ff 2048).", "",
              "| machine | backend | precision | batch | GEMM peak GFLOP/s | copy peak GB/s | family | layer | "
              + " | ".join(OP_ORDER) + " | token projection | reproduce |",
              "|" + "---|" * (12 + len(OP_ORDER) - 3 + 1)]
    for res in results:
        label = res["machine"]["label"]
        for r in res["rows"]:
            if r["kind"] != "ops":
                continue
            if r["status"] != "ok":
                lines.append(f"| {label} | {r['backend']} | {r['precision']} | {r['batch']} | **{r['status']}**: "
                             f"{md(r['reason'])} | | | |" + " |" * len(OP_ORDER) + f" | `{r['command']}` |")
                continue
            groups = {}
            for o in r["ops"]:
                if o["family"] != "peak":
                    groups.setdefault((o["family"], "once per run" if o["op"] == "token.project" else o["layer"]), {})[o["op"]] = o
            proj = {f: g["token.project"] for (f, layer), g in groups.items() if layer == "once per run"}
            for (family, layer), ops in groups.items():
                if layer == "once per run":
                    continue
                cells = [f"{o['median_s'] * 1e3:.3g} ({o['pct_of_peak']:.0f}%)" if (o := ops.get(n)) else "" for n in OP_ORDER]
                p = proj.get(family) if layer == "full" else None
                pcell = f"{p['median_s'] * 1e3:.3g} ({p['pct_of_peak']:.0f}%)" if p else ""
                lines.append(f"| {label} | {r['backend']} | {r['precision']} | {r['batch']} | {fmt(r['peak_gflops'])} | "
                             f"{fmt(r['peak_gbps'])} | {family} | {layer} | " + " | ".join(cells) +
                             f" | {pcell} | `{r['command']}` |")
    lines.append("")
    return "\n".join(lines)


def load_results(results_root):
    out = []
    paths = glob.glob(os.path.join(results_root, "*", "shootout.json"))
    for path in sorted(paths, key=lambda p: os.path.basename(os.path.dirname(p))):  # by machine label
        with open(path) as f:
            out.append(json.load(f))
    return out


def replace_block(text, block):
    """Puts `block` between the markers (appending a section with them when absent)."""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        return head + BEGIN + "\n" + block + END + rest.split(END, 1)[1]
    return text.rstrip("\n") + "\n\n## Backend shoot-out (issue #8)\n\nGenerated by `bench/shootout/shootout.py` " \
        "from bench/results/*/shootout.json; do not edit by hand.\n\n" + BEGIN + "\n" + block + END + "\n"


def publish(results_root, results_md, summary_files=()):
    """Regenerates the merged chart and RESULTS.md's block; in each of `summary_files` (the top-level
    README) the summary table between the summary markers, only where the file has them."""
    results = load_results(results_root)
    for path in summary_files:
        text = read_text(path) if os.path.exists(path) else ""
        if SUMMARY_BEGIN in text and SUMMARY_END in text:
            head, rest = text.split(SUMMARY_BEGIN, 1)
            with open(path, "w") as f:
                f.write(head + SUMMARY_BEGIN + "\n" + summary_markdown(results) + SUMMARY_END + rest.split(SUMMARY_END, 1)[1])
    with open(os.path.join(results_root, "cells_per_s.svg"), "w") as f:
        f.write(chart_svg(results))
    text = read_text(results_md) if os.path.exists(results_md) else "# Results\n"
    block = "![cells/s per backend and model](results/cells_per_s.svg)\n\n" + tables_markdown(results)
    with open(results_md, "w") as f:
        f.write(replace_block(text, block))


# ---- structural check -------------------------------------------------------------------------
def check_run(out):
    """Problems found in a run folder's outputs (empty = fine): every file present and parseable,
    the machine block complete, every row either ok with its numbers or carrying a reason, the CSV
    matching the JSON row for row, one chart bar per best e2e/torch row with a width that grows
    with cells/s, and one table line per row."""
    p = []
    try:
        res = json.loads(read_text(os.path.join(out, "shootout.json")))
    except (OSError, ValueError) as e:
        return [f"shootout.json: {e}"]
    for k in ("label", "date_utc", "commit", "cpu", "gpu", "torch", "command", "backends"):
        if k not in res.get("machine", {}):
            p.append(f"shootout.json: machine.{k} missing")
    rows = res.get("rows", [])
    if not rows:
        p.append("shootout.json: no rows")
    for i, r in enumerate(rows):
        where = f"shootout.json: rows[{i}] ({r.get('kind')} {r.get('backend')})"
        if r.get("status") != "ok":
            if not r.get("reason"):
                p.append(where + ": not ok and no reason")
        elif r["kind"] == "ops":
            if not (r["peak_gflops"] > 0 and r["peak_gbps"] > 0 and r["ops"]):
                p.append(where + ": missing peaks or ops")
            for o in r["ops"]:
                if not (o["median_s"] > 0 and o["min_s"] <= o["median_s"] <= o["max_s"]):
                    p.append(where + f": op {o['op']} has inconsistent times")
        elif not r.get("cells_per_s", 0) > 0:
            p.append(where + ": cells_per_s is not positive")
        elif r["kind"] == "e2e" and not (r["cells_per_s_min"] <= r["cells_per_s"] <= r["cells_per_s_max"]
                                         and "model" in r["stage_busy_s"]):
            p.append(where + ": spread or stage busy times inconsistent")
        if not r.get("command", "").startswith("/usr/bin/python3 bench/shootout/shootout.py"):
            p.append(where + ": no reproducing command")
    with open(os.path.join(out, "shootout.csv")) as f:
        got = list(csv.DictReader(f))
    want = e2e_like(rows)
    if len(got) != len(want):
        p.append(f"shootout.csv: {len(got)} rows, JSON has {len(want)} end-to-end/PyTorch rows")
    for g, r in zip(got, want):
        if r["status"] == "ok" and abs(float(g["cells_per_s"]) - r["cells_per_s"]) > 1e-9 * r["cells_per_s"]:
            p.append(f"shootout.csv: cells_per_s {g['cells_per_s']} differs from the JSON's {r['cells_per_s']}")
    try:
        svg = ET.parse(os.path.join(out, "chart.svg")).getroot()
        bars = [e for e in svg.iter() if e.get("class") == "bar"]
        expect = chart_bars([res])
        if len(bars) != len(expect):
            p.append(f"chart.svg: {len(bars)} bars, expected {len(expect)}")
        pairs = sorted((float(b.get("data-cells-per-s")), float(b.get("width"))) for b in bars)
        if any(w2 < w1 for (_, w1), (_, w2) in zip(pairs, pairs[1:])):
            p.append("chart.svg: a bar with more cells/s is not longer")
    except (OSError, ET.ParseError) as e:
        p.append(f"chart.svg: {e}")
    table = read_text(os.path.join(out, "table.md"))
    n_lines = sum(1 for ln in table.splitlines() if ln.startswith(f"| {res['machine']['label']} |"))
    if n_lines < 1 + len(want):
        p.append(f"table.md: {n_lines} lines for the machine, expected at least {1 + len(want)}")
    return p
