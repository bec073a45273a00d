#!/usr/bin/python3
"""Checks of the backend shoot-out's outputs (bench/shootout/report.py), on hand-made results whose
expected figures are worked out here, and — when SHOOTOUT_RUN_DIR names a run folder (e.g. the one
`bench/shootout/shootout.py --quick` wrote) — the structure of that real run's files.

  /usr/bin/python3 -m unittest discover -s tests/shootout -v
  SHOOTOUT_RUN_DIR=/tmp/uce-shootout/quick/cpu-2core-quick /usr/bin/python3 -m unittest discover -s tests/shootout
"""
import csv
import os
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "shootout"))
import report  # noqa: E402

CMD = "/usr/bin/python3 bench/shootout/shootout.py --only e2e"


def e2e(backend, cps, batch=8, precision="fp32", model="uce-brain"):
    return {"kind": "e2e", "backend": backend, "model": model, "precision": precision, "cells_per_batch": batch,
            "status": "ok", "cells": 64, "repeats": 3, "cells_per_s": cps, "cells_per_s_min": cps * 0.9,
            "cells_per_s_max": cps * 1.1, "stage_busy_s": {"read": 0.1, "sentences": 0.2, "model": 5.0, "write": 0.05},
            "command": CMD}


def ops_row():
    op = {"family": "uce-brain", "layer": "full", "op": "attn.qkv", "shape": "1071x512x1536", "median_s": 0.002,
          "min_s": 0.0019, "max_s": 0.0025, "repeats": 5, "gflops": 1200.0, "gbps": 0.0, "pct_of_peak": 60.0}
    return {"kind": "ops", "backend": "blas", "precision": "fp32", "batch": 1, "status": "ok", "peak_gflops": 2000.0,
            "peak_gbps": 10.0, "ops": [op], "command": "/usr/bin/python3 bench/shootout/shootout.py --only ops"}


def result(label="m1"):
    return {"schema": "uce-shootout/1",
            "machine": {"label": label, "date_utc": "2026-11-22T21:00:00Z", "commit": "abc", "cpu": "cpu", "cores": 2,
                        "gpu": "", "torch": "1.13", "command": "/usr/bin/python3 bench/shootout/shootout.py",
                        "backends": {"blas fp32": "blas, 2 threads"}},
            "rows": [ops_row(), e2e("blas", 10.0), e2e("blas", 12.0, batch=32), e2e("vulkan", 0.5),
                     {"kind": "e2e", "backend": "opencl", "model": "uce-brain", "precision": "fp32",
                      "cells_per_batch": 8, "status": "unavailable", "reason": "no OpenCL platform", "command": CMD},
                     {"kind": "torch", "backend": "pytorch", "model": "uce-brain", "precision": "fp32",
                      "cells_per_batch": 8, "cells": 8, "status": "ok", "cells_per_s": 4.0, "variant": "model",
                      "command": "/usr/bin/python3 bench/shootout/shootout.py --only torch"}]}


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.out = self.tmp.name
        report.write_run(self.out, result())

    def tearDown(self):
        self.tmp.cleanup()

    def test_clean_run_has_no_problems(self):
        self.assertEqual(report.check_run(self.out), [])

    def test_chart_has_best_batch_per_backend_on_a_log_scale(self):
        bars = [e for e in ET.parse(os.path.join(self.out, "chart.svg")).getroot().iter() if e.get("class") == "bar"]
        got = sorted(float(b.get("data-cells-per-s")) for b in bars)
        self.assertEqual(got, [0.5, 4.0, 12.0])  # blas: best of 10 and 12; the unavailable row has no bar
        width = {float(b.get("data-cells-per-s")): float(b.get("width")) for b in bars}
        # log scale over the decades 0.1..100 (520 px): 0.5 -> 520 * log10(5) / 3
        self.assertAlmostEqual(width[0.5], 520 * 0.69897 / 3, delta=0.2)

    def test_table_ratio_to_pytorch_and_unavailable_reason(self):
        table = report.read_text(os.path.join(self.out, "table.md"))
        line = [ln for ln in table.splitlines() if "| blas | fp32 | 8 |" in ln][0]
        self.assertIn("| 2.50 |", line)  # 10 cells/s against PyTorch's 4 at the same batch
        self.assertIn("no OpenCL platform", table)
        self.assertIn("0.1 / 0.2 / 5 / 0.05", line)

    def test_csv_matches_json(self):
        with open(os.path.join(self.out, "shootout.csv")) as f:
            rows = list(csv.DictReader(f))
        self.assertEqual(len(rows), 5)
        self.assertEqual(rows[0]["cells_per_s"], "10.0")
        self.assertEqual(rows[0]["model_busy_s"], "5.0")

    def test_check_catches_a_corrupted_csv(self):
        path = os.path.join(self.out, "shootout.csv")
        text = report.read_text(path).replace(",10.0,", ",11.0,", 1)
        with open(path, "w") as f:
            f.write(text)
        self.assertTrue(any("shootout.csv" in p for p in report.check_run(self.out)))

    def test_check_catches_a_row_without_reason(self):
        bad = result()
        bad["rows"][4]["reason"] = ""
        report.write_run(self.out, bad)
        self.assertTrue(any("no reason" in p for p in report.check_run(self.out)))

    def test_publish_merges_machines_between_markers_idempotently(self):
        root = os.path.join(self.out, "results")
        for label in ("m1", "m2"):
            os.makedirs(os.path.join(root, label))
            report.write_run(os.path.join(root, label), result(label))
        md = os.path.join(self.out, "RESULTS.md")
        with open(md, "w") as f:
            f.write("# Results\n\nkept text\n")
        report.publish(root, md)
        once = report.read_text(md)
        report.publish(root, md)
        self.assertEqual(report.read_text(md), once)
        self.assertIn("kept text", once)
        block = once.split(report.BEGIN)[1].split(report.END)[0]
        self.assertTrue(any(ln.startswith("| m1 |") for ln in block.splitlines()))
        self.assertTrue(any(ln.startswith("| m2 |") for ln in block.splitlines()))
        self.assertTrue(os.path.exists(os.path.join(root, "cells_per_s.svg")))

    def test_summary_block_only_where_markers_are(self):
        root = os.path.join(self.out, "results")
        os.makedirs(os.path.join(root, "m1"))
        report.write_run(os.path.join(root, "m1"), result("m1"))
        with_markers, without = os.path.join(self.out, "A.md"), os.path.join(self.out, "B.md")
        with open(with_markers, "w") as f:
            f.write(f"intro\n{report.SUMMARY_BEGIN}\nold\n{report.SUMMARY_END}\noutro\n")
        with open(without, "w") as f:
            f.write("untouched\n")
        report.publish(root, os.path.join(self.out, "R.md"), [with_markers, without])
        text = report.read_text(with_markers)
        self.assertNotIn("old", text)
        self.assertTrue(text.startswith("intro\n") and text.endswith("outro\n"))
        # best blas = 12 cells/s at batch 32; best PyTorch fp32 = 4 at batch 8; vulkan 0.5
        self.assertIn("| m1 | uce-brain | 12 (b32) | - | 0.5 (b8) | - | - | - | 4 (b8) | - |", text)
        self.assertEqual(report.read_text(without), "untouched\n")


@unittest.skipUnless(os.environ.get("SHOOTOUT_RUN_DIR"), "set SHOOTOUT_RUN_DIR to check a real run's folder")
class RealRunTest(unittest.TestCase):
    def test_real_run_outputs(self):
        self.assertEqual(report.check_run(os.environ["SHOOTOUT_RUN_DIR"]), [])


if __name__ == "__main__":
    unittest.main()
