#!/usr/bin/python3
"""Issue "single-cell data path", goal "read a CSR h5ad at disk speed": the h5ad reader against
`dd` on disks of known speed.

On a VM the file's "cold" pages come from the host's page cache (4+ GB/s here), not from a disk,
so a plain cold read says little about disk speed. This script makes disks of known speed instead:
the block device under the file is throttled for the measured process only, with the kernel's
block-I/O controller (cgroup v1 `blkio.throttle.read_bps_device`, or cgroup v2 `io.max`). For each
rate, each file is read cold (its pages dropped with posix_fadvise DONTNEED) by `dd bs=4M` and by
`uce_bench_read_h5ad` (the stage plugin as the engine loads it), alternating, REPEATS times; the
table gives medians of the reader's own time (open + reader_read_rows, without the benchmark's
checksum of the values) and dd's, and their ratio (1.00 = the reader reads as fast as dd).

Needs root and a cgroup hierarchy with the block-I/O controller. Run:
  /usr/bin/python3 bench/run_disk_speed_bench.py --build BUILD [--work DIR] [--rates 500M,1G,2G,3G,0]
      [--cells 25000,50000] [--layouts anndata,contiguous] [--repeats 3]
(rate 0 = not throttled). The files are written by bench/make_bench_h5ad.py and deleted at the end.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def parse_rate(text):
    units = {"K": 1e3, "M": 1e6, "G": 1e9}
    text = text.strip().upper()
    if text and text[-1] in units:
        return int(float(text[:-1]) * units[text[-1]])
    return int(text)


def whole_disk(dev):
    """major:minor of the disk that holds block device `dev` (throttling works per whole disk)."""
    major, minor = os.major(dev), os.minor(dev)
    sys_path = os.path.realpath(f"/sys/dev/block/{major}:{minor}")
    if os.path.exists(os.path.join(sys_path, "partition")):
        sys_path = os.path.dirname(sys_path)
    with open(os.path.join(sys_path, "dev")) as f:
        return f.read().strip()


class Throttle:
    """A cgroup whose reads from one disk are limited to a rate; processes are started inside it."""

    def __init__(self, disk):
        self.disk = disk
        v1 = "/sys/fs/cgroup/blkio"
        if os.path.isdir(v1):
            self.dir, self.v2 = os.path.join(v1, "uce-disk-speed"), False
        elif os.path.exists("/sys/fs/cgroup/cgroup.controllers"):
            self.dir, self.v2 = "/sys/fs/cgroup/uce-disk-speed", True
            with open("/sys/fs/cgroup/cgroup.subtree_control", "w") as f:
                f.write("+io")
        else:
            sys.exit("run_disk_speed_bench: no cgroup block-I/O controller here (needs /sys/fs/cgroup/blkio or cgroup v2)")
        os.makedirs(self.dir, exist_ok=True)

    def set_rate(self, bps):
        if self.v2:
            with open(os.path.join(self.dir, "io.max"), "w") as f:
                f.write(f"{self.disk} rbps={bps if bps else 'max'}")
        else:
            with open(os.path.join(self.dir, "blkio.throttle.read_bps_device"), "w") as f:
                f.write(f"{self.disk} {bps}")  # 0 removes the limit

    def run(self, cmd):
        procs = os.path.join(self.dir, "cgroup.procs")

        def enter():
            with open(procs, "w") as f:
                f.write(str(os.getpid()))

        return subprocess.run(cmd, preexec_fn=enter, capture_output=True, text=True, check=True)

    def remove(self):
        self.set_rate(0)
        try:
            os.rmdir(self.dir)
        except OSError:
            pass


def drop_pages(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def dd_seconds(throttle, path):
    out = throttle.run(["dd", f"if={path}", "of=/dev/null", "bs=4M"]).stderr
    m = re.search(r"copied, ([0-9.]+) s", out)
    if not m:
        sys.exit(f"run_disk_speed_bench: cannot read dd's time from: {out!r}")
    return float(m.group(1))


def reader_seconds(throttle, build, path):
    out = throttle.run([os.path.join(build, "bin", "uce_bench_read_h5ad"), path]).stdout
    opened = re.search(r"\(open ([0-9.]+) s\)", out)
    inside = re.search(r"wall inside reader_read_rows: ([0-9.]+) s", out)
    rss = re.search(r"peak RSS ([0-9.]+) MiB", out)
    if not (opened and inside and rss):
        sys.exit(f"run_disk_speed_bench: unexpected uce_bench_read_h5ad output: {out!r}")
    return float(opened.group(1)) + float(inside.group(1)), float(rss.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", required=True)
    ap.add_argument("--work", default="/tmp/uce-disk-speed-bench")
    ap.add_argument("--rates", default="500M,1G,2G,3G,0")
    ap.add_argument("--cells", default="25000,50000")
    ap.add_argument("--layouts", default="anndata,contiguous")
    ap.add_argument("--nnz", type=int, default=1500)
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    rates = [parse_rate(r) for r in a.rates.split(",")]
    files = []
    for layout in a.layouts.split(","):
        for cells in a.cells.split(","):
            path = os.path.join(a.work, f"csr_{layout}_{cells}.h5ad")
            subprocess.run([sys.executable, os.path.join(HERE, "make_bench_h5ad.py"), path, "--cells", cells,
                            "--nnz", str(a.nnz), "--layout", layout], check=True, stdout=subprocess.DEVNULL)
            files.append((layout, int(cells), path))
    os.sync()
    throttle = Throttle(whole_disk(os.stat(a.work).st_dev))
    print(f"machine: {os.uname().sysname} {os.uname().release}, {os.cpu_count()} cores; "
          f"date {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load {os.getloadavg()[0]:.2f}; "
          f"disk {throttle.disk}; repeats {a.repeats}", flush=True)
    print("| disk limit | file | MB | dd s | reader s (open + read) | reader / dd time | reader MB/s | peak RSS MiB |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    try:
        for rate in rates:
            throttle.set_rate(rate)
            for layout, cells, path in files:
                dd, rd, rss = [], [], []
                for _ in range(a.repeats):
                    drop_pages(path)
                    dd.append(dd_seconds(throttle, path))
                    drop_pages(path)
                    seconds, peak = reader_seconds(throttle, a.build, path)
                    rd.append(seconds)
                    rss.append(peak)
                mb = os.path.getsize(path) / 1e6
                d, r = statistics.median(dd), statistics.median(rd)
                limit = f"{rate / 1e9:g} GB/s" if rate else "none"
                print(f"| {limit} | {layout} {cells // 1000}k | {mb:.0f} | {d:.3f} | {r:.3f} | {r / d:.2f} | "
                      f"{mb / r:.0f} | {max(rss):.0f} |", flush=True)
    finally:
        throttle.remove()
        for _, _, path in files:
            os.remove(path)


if __name__ == "__main__":
    main()
