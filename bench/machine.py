"""What the figures were measured on, and how long ``import chainrule`` takes."""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def numpy_blas() -> dict:
    """NumPy's BLAS library, version and thread count (threadpoolctl if installed)."""
    import numpy as np

    try:
        from threadpoolctl import threadpool_info
        for info in threadpool_info():
            if info.get("user_api") == "blas":
                return {"name": info.get("internal_api"), "version": info.get("version"),
                        "threads": info.get("num_threads"),
                        "architecture": info.get("architecture"), "source": "threadpoolctl"}
    except ImportError:
        pass
    name = version = None
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        name, version = blas.get("name"), blas.get("version")
    except Exception:  # noqa: BLE001 - show_config's layout varies across NumPy versions
        pass
    return {"name": name, "version": version, "threads": os.cpu_count(),
            "architecture": None, "source": "numpy.show_config + os.cpu_count()"}


def limit_blas_threads(n: int) -> None:
    """Make NumPy's BLAS use ``n`` threads from now on (needs threadpoolctl)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        raise SystemExit("bench: --threads needs threadpoolctl (pip install threadpoolctl); "
                         "or set OPENBLAS_NUM_THREADS / OMP_NUM_THREADS before starting") from None
    threadpool_limits(n, user_api="blas")


def commit() -> str | None:
    """The repository's commit, with "+dirty" when tracked files have changed since."""
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo,
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=repo, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty.strip() else "")


def info() -> dict:
    import numpy as np

    return {
        "commit": commit(),
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": numpy_blas(),
    }


def cpu_counters() -> dict | None:
    """CPU seconds the whole machine and this process have used so far (Linux), and a clock."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + fields[4]  # idle + iowait
    own = os.times()
    return {"busy_s": (sum(fields) - idle) / os.sysconf("SC_CLK_TCK"),
            "self_s": own.user + own.system, "wall_s": time.monotonic()}


def others_share(before: dict | None, after: dict | None, cores: int) -> float | None:
    """The share of all CPUs that other processes used between two ``cpu_counters()``."""
    if not before or not after or after["wall_s"] <= before["wall_s"]:
        return None
    others = (after["busy_s"] - before["busy_s"]) - (after["self_s"] - before["self_s"])
    return max(0.0, others / ((after["wall_s"] - before["wall_s"]) * cores))


def import_time(module: str = "chainrule", repeats: int = 5) -> dict:
    """Seconds to ``import module`` in a fresh interpreter: median and min of ``repeats``.

    Timed as an installed package imports, from bytecode (``pip install`` compiles it). With
    ``PYTHONDONTWRITEBYTECODE`` set, as on some machines, every fresh interpreter would
    compile each module from source first (for chainrule's ~110 modules, ~0.1 s more): the
    interpreters here use a private bytecode cache (``PYTHONPYCACHEPREFIX``, filled by one
    import first, so the source tree stays untouched).
    """
    code = (f"import time; t = time.perf_counter(); import {module}; "
            "print(time.perf_counter() - t)")

    def timed(env):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True, env=env)
        return float(out.stdout.strip().splitlines()[-1])

    plain = {k: v for k, v in os.environ.items()
             if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX")}
    with tempfile.TemporaryDirectory(prefix="bench-pycache-") as cache:
        cached = dict(plain, PYTHONPYCACHEPREFIX=cache)
        timed(cached)  # fills the cache
        times = [timed(cached) for _ in range(repeats)]
    return {"median": statistics.median(times), "min": min(times), "samples": times}
