"""``python -m bench``: check, then time chainrule, PyTorch eager and the NumPy floor.

    python -m bench                  # full run, a few minutes
    python -m bench --quick          # every case, smaller and fewer rounds: under a minute
    python -m bench --json out.json  # also write the results
    python -m bench --cases tiny,mnist32
    python -m bench --profile mnist32 --seconds 20   # only chainrule's step, for py-spy
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import time

from . import cases, checks, impls, machine, memory, report, timing

# block_s: seconds of steps per timed block; settle_s: the pause after leaving a thread pool,
# until its idle workers stop spinning (see bench.timing).
SETTLE_S = {"openblas": 0.12, "torch": 0.02}
FULL = {"rounds": 15, "block_s": 0.1, "settle_s": SETTLE_S, "memory_cases": ("mnist128", "wide"),
        "memory_steps": 5, "import_repeats": 7}
QUICK = {"rounds": 3, "block_s": 0.015, "settle_s": SETTLE_S, "memory_cases": ("mnist128",),
         "memory_steps": 3, "import_repeats": 3}


def _log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run_case(case, names, cfg):
    """Build, check, then time one case. An implementation that raises is reported as a
    failure and left out of the timing; the other cases still run."""
    data = cases.make_data(case)
    built, broken = {}, {}
    for name in names:
        try:
            impl = impls.build(name, case, data)
            if impl is not None:
                built[name] = impl
        except Exception as exc:  # noqa: BLE001 - the floor's own errors still propagate
            if name == "floor":
                raise
            broken[name] = [f"building it raised: {type(exc).__name__}: {exc}"]
    problems = {**checks.run_checks(case, built), **broken}
    before = machine.cpu_counters()
    timings = timing.round_robin({n: impl.step for n, impl in built.items()}, cfg["rounds"],
                                 cfg["block_s"], impls.POOLS, cfg["settle_s"])
    others = machine.others_share(before, machine.cpu_counters(), os.cpu_count() or 1)
    del built
    gc.collect()
    result = report.case_result(case, timings, problems)
    result["others_cpu_share"] = others
    return result


def profile(case_name: str, seconds: float, quick: bool) -> int:
    """Run only chainrule's step of one case, in a loop, so a profiler can attach."""
    case = cases.find_case(case_name, quick)
    impl = impls.build("chainrule", case, cases.make_data(case))
    impl.step()
    _log(f"profiling chainrule on {case.label} for {seconds:g} s "
         f"(e.g. py-spy record -o prof.svg --pid <this pid>, or run this under pyinstrument)")
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        impl.step()
        n += 1
    per = (time.perf_counter() - t0) / n / (case.ops if case.kind == "op" else 1)
    print(f"{n} steps, {report.fmt_time(per)} per {'op' if case.kind == 'op' else 'step'}")
    return 0


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Check, then time chainrule, PyTorch eager and a hand-written NumPy floor.",
        epilog="cases: " + ", ".join(c.name for c in cases.all_cases()))
    parser.add_argument("--quick", action="store_true",
                        help="every case, smaller sizes and fewer rounds (under a minute)")
    parser.add_argument("--json", metavar="PATH", help="write the results as JSON")
    parser.add_argument("--cases", help="comma-separated subset of the cases")
    parser.add_argument("--impls", default=",".join(impls.IMPLS),
                        help="comma-separated implementations to run (the floor always runs: "
                             "it is the reference), e.g. floor,chainrule")
    parser.add_argument("--rounds", type=int, help="timing rounds (default 15, quick 3)")
    parser.add_argument("--threads", type=int,
                        help="BLAS threads for NumPy and PyTorch (default: what NumPy's BLAS uses)")
    parser.add_argument("--no-memory", action="store_true", help="skip the peak-memory runs")
    parser.add_argument("--no-import", action="store_true", help="skip timing `import chainrule`")
    parser.add_argument("--profile", metavar="CASE",
                        help="only run chainrule's step of CASE in a loop, for a profiler")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long --profile runs")
    return parser.parse_args(argv)


def describe_machine(with_torch: bool = True) -> dict:
    """Machine facts; also gives PyTorch as many threads as NumPy's BLAS has."""
    info = machine.info()
    threads = info["numpy_blas"]["threads"] or 1
    info.update(threads=threads, load_before=os.getloadavg()[0])
    if with_torch:
        torch_mod = impls.module("torch")
        torch_mod.set_threads(threads)
        info.update(torch=torch_mod.version(), torch_blas=torch_mod.blas(), torch_threads=threads)
    return info


def print_results(results, mem, imports) -> None:
    print("\n" + report.time_table(results), flush=True)
    if report.backward_line(results):
        print(report.backward_line(results), flush=True)
    if mem:
        print("\n" + report.memory_table(mem), flush=True)
    if imports:
        print("\n" + report.import_lines(imports), flush=True)


def report_failures(results, mem) -> bool:
    """Print what went wrong (to stderr); True when something did."""
    failed = [(r["name"], n, c["problems"]) for r in results for n, c in r["check"].items()
              if not c["ok"]]
    mem_failed = [(c, n, m["error"]) for c, per in mem.items() for n, m in per.items()
                  if "error" in m]
    if failed:
        print("\nFAILED: an implementation disagrees with the NumPy floor:", file=sys.stderr)
        for case_name, name, problems in failed:
            for p in problems[:5]:
                print(f"  {case_name} / {name}: {p}", file=sys.stderr)
    if mem_failed:
        print("\nFAILED: a peak-memory run broke:", file=sys.stderr)
        for case_name, name, error in mem_failed:
            print(f"  {case_name} / {name}: {error}", file=sys.stderr)
    return bool(failed or mem_failed)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.threads:
        machine.limit_blas_threads(args.threads)
    if args.profile:
        return profile(args.profile, args.seconds, args.quick)

    cfg = dict(QUICK if args.quick else FULL)
    if args.rounds:
        cfg["rounds"] = args.rounds
    wanted = [n.strip() for n in args.impls.split(",")]
    for n in wanted:
        impls.module(n)  # an unknown or missing one stops here and says why
    names = tuple(n for n in impls.IMPLS if n == "floor" or n in wanted)
    selected = cases.all_cases(args.quick)
    if args.cases:
        selected = [cases.find_case(n.strip(), args.quick) for n in args.cases.split(",")]

    info = describe_machine(with_torch="torch" in names)
    threads = info["threads"]
    if threads == 1:
        cfg["settle_s"] = {}  # no worker threads, nothing spins
    print(report.machine_lines(info), flush=True)
    busy = report.busy_warning(info["load_before"], info["cores"])
    if busy:
        print(busy, flush=True)

    results = []
    counters = machine.cpu_counters()
    for case in selected:
        t0 = time.perf_counter()
        r = run_case(case, names, cfg)
        results.append(r)
        _log(f"  {case.name}: " + ", ".join(
            f"{n} {report.fmt_time(t['median'])}" for n, t in r["times"].items())
            + f"  ({time.perf_counter() - t0:.1f} s)")
    info["others_cpu_share"] = machine.others_share(counters, machine.cpu_counters(),
                                                    info["cores"])

    mem = {}
    if not args.no_memory:
        for name in cfg["memory_cases"]:
            if any(c.name == name for c in selected):
                mem[name] = memory.measure(name, names, cfg["memory_steps"], args.quick, threads)
    imports = {}
    if not args.no_import:
        imports = {"chainrule": machine.import_time("chainrule", cfg["import_repeats"]),
                   "numpy": machine.import_time("numpy", cfg["import_repeats"])}

    print_results(results, mem, imports)
    goals = report.targets(results, mem, imports)
    if goals:
        print("\n" + report.targets_line(goals), flush=True)
    others = report.others_line(info["others_cpu_share"], results)
    if others:
        print("\n" + others, flush=True)
    failed = report_failures(results, mem)
    if args.json:
        report.write_json(args.json, {
            "machine": info, "mode": "quick" if args.quick else "full", "config": cfg,
            "cases": results, "memory": mem, "import": imports, "targets": goals,
            "ok": not failed})
    return 1 if failed else 0
