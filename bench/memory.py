"""Peak memory of a training run, each implementation in a fresh interpreter.

Two measures:

* ``rss`` -- the rise of the process's peak resident set (Linux ``VmHWM``, reset through
  ``/proc/self/clear_refs``) over its resident set just before the run. It sees every
  allocator (NumPy's, PyTorch's, Python's), so it is the one that compares all three.
* ``traced`` -- the peak of ``tracemalloc`` (NumPy registers its array buffers with it, and
  Python objects are counted too); it does not see PyTorch's allocator, so it is given for
  chainrule and the floor only.

A run is: build the model from the shared weights, then ``steps`` training steps, with
glibc's mmap threshold fixed at 64 KiB so that freed arrays leave the resident set. The
figure is the peak during the steps, counted from before the model was built: parameters,
gradients, optimizer state, activations and temporaries, but not what building the model
needed only for a moment (a float64 draw of initial weights, say). The data and the
one-time set-up of the libraries (BLAS buffers, thread pools) come before the measure: a
throw-away model runs two steps first.

    python -m bench.memory --case mnist128 --impl chainrule
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

from . import cases, impls


_REPO = Path(__file__).resolve().parents[1]  # `-m bench.memory` must find the bench package


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"no {field} in /proc/self/status")


def _reset_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _run(name, case, data, steps, after_build=None):
    impl = impls.build(name, case, data)
    if after_build is not None:
        after_build()
    for _ in range(steps):
        impl.step()
    return impl


def probe(case_name: str, name: str, steps: int, quick: bool, threads: int | None) -> dict:
    case = cases.find_case(case_name, quick)
    if name == "torch" and threads:
        impls.module("torch").set_threads(threads)
    elif threads:
        from .machine import limit_blas_threads  # noqa: PLC0415
        limit_blas_threads(threads)
    data = cases.make_data(case)
    _run(name, case, data, 2)
    gc.collect()
    result = {"case": case_name, "impl": name, "steps": steps}
    try:
        base = _status_kib("VmRSS")
        exact = [_reset_peak()]
        impl = _run(name, case, data, steps, after_build=lambda: exact.append(_reset_peak()))
        result["rss"] = (_status_kib("VmHWM") - base) * 1024
        result["rss_exact"] = all(exact)  # False: the peak may include what came before
        del impl
    except OSError:
        result["rss"] = None
    gc.collect()
    if name != "torch":
        tracemalloc.start()
        impl = _run(name, case, data, steps, after_build=tracemalloc.reset_peak)
        result["traced"] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        del impl
    return result


def measure(case_name: str, names, steps: int, quick: bool, threads: int | None) -> dict:
    """{impl: probe result} for ``case_name``, each probe in its own interpreter."""
    out = {}
    for name in names:
        cmd = [sys.executable, "-m", "bench.memory", "--case", case_name, "--impl", name,
               "--steps", str(steps)]
        if quick:
            cmd.append("--quick")
        if threads:
            cmd += ["--threads", str(threads)]
        # A fixed mmap threshold makes glibc return every large buffer when it is freed, so
        # the resident set follows the live arrays instead of what the heap keeps cached.
        env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536")
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=_REPO)
        if proc.returncode != 0:
            out[name] = {"error": proc.stderr.strip().splitlines()[-1:] or ["failed"]}
            continue
        out[name] = json.loads(proc.stdout.strip().splitlines()[-1])
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench.memory",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--case", required=True)
    parser.add_argument("--impl", required=True, choices=impls.IMPLS)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    print(json.dumps(probe(args.case, args.impl, args.steps, args.quick, args.threads)))


if __name__ == "__main__":
    main()
