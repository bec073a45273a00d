"""What the PyTorch CPU baselines (pytorch_baseline.py, pytorch_brain_baseline.py) share: the
OpenBLAS core torch runs on, and the timing loop. The scripts print their own lines (their
"RESULT pytorch ..." keys are parsed by bench/shootout), so nothing here prints."""
import ctypes
import time


def openblas_core():
    """The core of the OpenBLAS that torch is linked against (the same shared object is returned
    by dlopen when torch already loaded it); "?" when it cannot be asked."""
    for name in ("libopenblas.so.0", "libopenblas.so"):
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_corename.restype = ctypes.c_char_p
            return lib.openblas_get_corename().decode()
        except (OSError, AttributeError):
            continue
    return "?"


def time_calls(fn, calls, warmup, cells_per_call=1):
    """Runs fn() `warmup` times untimed, then `calls` times. Returns (wall seconds per cell of each
    timed call, i.e. the call's time / cells_per_call; process CPU seconds, all threads, of the
    timed calls together; what the last call returned)."""
    for _ in range(warmup):
        fn()
    per_cell, result = [], None
    c0 = time.process_time()
    for _ in range(calls):
        t0 = time.perf_counter()
        result = fn()
        per_cell.append((time.perf_counter() - t0) / cells_per_call)
    return per_cell, time.process_time() - c0, result
