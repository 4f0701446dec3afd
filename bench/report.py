"""The tables a run prints, and the JSON it writes."""

from __future__ import annotations

import json
import os
import tempfile

IMPORT_TARGET_S = 0.15
MEMORY_TARGET = 1.3
# Issue 15's targets for the compiled step (chainrule compiled / floor), by case.
COMPILED_TARGETS = {"tiny": 1.2, "mnist32": 1.0, "mnist128": 1.0, "mnist1024": 1.0, "wide": 1.0}


def fmt_time(s: float | None) -> str:
    if s is None:
        return "-"
    if s < 1e-6:
        return f"{s * 1e9:.0f} ns"
    if s < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if s < 1:
        return f"{s * 1e3:.2f} ms"
    return f"{s:.2f} s"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"


def fmt_mib(b) -> str:
    return "-" if b is None else f"{b / 2**20:.2f} MiB"


def _ratio(a, b):
    return a / b if a and b else None


def verdict(ratio, target) -> str:
    if target is None or ratio is None:
        return ""
    return f"<= {target:g}x {'met' if ratio <= target else 'NOT met'}"


def table(header, rows) -> str:
    """Rows of cells as aligned text columns (the first left-aligned, the rest right)."""
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]

    def line(r):
        return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(r, widths))).rstrip()
    return "\n".join([line(header), line(["-" * w for w in widths])] + [line(r) for r in rows])


def case_result(case, timings, problems) -> dict:
    """One case's JSON entry: times per step (per op for op cases), ratios, checks."""
    scale = case.ops if case.kind == "op" else 1
    times = {n: {"median": t["median"] / scale, "min": t["min"] / scale,
                 "steps_per_block": t["block"], "rounds": len(t["samples"]),
                 "samples": [s / scale for s in t["samples"]]}
             for n, t in timings.items()}
    med = {n: t["median"] for n, t in times.items()}
    ratios = {
        "chainrule/floor": _ratio(med.get("chainrule"), med.get("floor")),
        "chainrule/torch": _ratio(med.get("chainrule"), med.get("torch")),
        "torch/floor": _ratio(med.get("torch"), med.get("floor")),
        "compiled/floor": _ratio(med.get("compiled"), med.get("floor")),
        "compiled/chainrule": _ratio(med.get("compiled"), med.get("chainrule")),
    }
    low = {n: t["min"] for n, t in times.items()}
    ratios_min = {k: _ratio(low.get(k.split("/")[0]), low.get(k.split("/")[1])) for k in ratios}
    target = case.target
    met = None if target is None or ratios["chainrule/floor"] is None \
        else ratios["chainrule/floor"] <= target
    compiled_target = COMPILED_TARGETS.get(case.name)
    compiled_met = None if compiled_target is None or ratios["compiled/floor"] is None \
        else ratios["compiled/floor"] <= compiled_target
    return {"name": case.name, "label": case.label, "kind": case.kind,
            "unit": "op" if case.kind == "op" else "step", "times": times, "ratios": ratios,
            "ratios_of_min": ratios_min, "target_vs_floor": target, "target_met": met,
            "compiled_target_vs_floor": compiled_target, "compiled_target_met": compiled_met,
            "check": {n: {"ok": not p, "problems": p} for n, p in problems.items()}}


def time_table(results) -> str:
    names = [n for n in ("floor", "chainrule", "compiled", "torch")
             if any(n in r["times"] for r in results)]
    compiled = "compiled" in names
    header = ["case"] + [f"{n} median (min)" for n in names] + \
        ["cr/floor", "target"] + (["compiled/floor", "target"] if compiled else []) + \
        ["cr/torch", "torch/floor", "others", "check"]
    rows = []
    for r in results:
        cells = [r["label"] + (" [per op]" if r["unit"] == "op" else "")]
        for n in names:
            t = r["times"].get(n)
            cells.append("-" if t is None else f"{fmt_time(t['median'])} ({fmt_time(t['min'])})")
        ra = r["ratios"]
        cells += [fmt_ratio(ra["chainrule/floor"]),
                  verdict(ra["chainrule/floor"], r["target_vs_floor"])]
        if compiled:
            cells += [fmt_ratio(ra.get("compiled/floor")),
                      verdict(ra.get("compiled/floor"), r.get("compiled_target_vs_floor"))]
        cells += [fmt_ratio(ra["chainrule/torch"]), fmt_ratio(ra["torch/floor"])]
        share = r.get("others_cpu_share")
        cells.append("-" if share is None else f"{share:.0%}")
        bad = [n for n, c in r["check"].items() if not c["ok"]]
        cells.append("FAIL: " + ",".join(bad) if bad else "ok")
        rows.append(cells)
    return table(header, rows)


def backward_line(results) -> str:
    """The cost of the backward of ``a + b`` alone: (forward + backward) - forward with grad."""
    by_name = {r["name"]: r for r in results}
    if "add_backward" not in by_name or "add_grad" not in by_name:
        return ""
    both, fwd = by_name["add_backward"]["times"], by_name["add_grad"]["times"]
    parts = [f"{n} {fmt_time(both[n]['median'] - fwd[n]['median'])}" for n in both if n in fwd]
    return "backward of a + b alone (add_backward - add_grad medians): " + ", ".join(parts)


def memory_table(memory) -> str:
    header = ["training run", "impl", "peak RSS rise", "peak traced", "vs floor (traced)",
              "vs floor (RSS)", "target"]
    rows = []
    for case_name, per in memory.items():
        floor = per.get("floor", {})
        for name, m in per.items():
            if "error" in m:
                rows.append([case_name, name, "error: " + " ".join(m["error"]), "", "", "", ""])
                continue
            rt = _ratio(m.get("traced"), floor.get("traced")) if name != "floor" else None
            rr = _ratio(m.get("rss"), floor.get("rss")) if name != "floor" else None
            rows.append([case_name, name, fmt_mib(m.get("rss")), fmt_mib(m.get("traced")),
                         fmt_ratio(rt), fmt_ratio(rr),
                         verdict(rt, MEMORY_TARGET) if name == "chainrule" else ""])
    return table(header, rows)


def machine_lines(info) -> str:
    blas = info["numpy_blas"]
    second = (f"python {info['python']}   numpy {info['numpy']} with {blas['name']} "
              f"{blas['version']} ({blas['threads']} threads, {blas['architecture']})")
    if info.get("torch"):
        second += (f"   torch {info['torch']} with {info['torch_blas']} "
                   f"({info['torch_threads']} threads)")
    return "\n".join([
        f"date: {info['date']}   commit: {info.get('commit')}   cpu: {info['cpu']} "
        f"({info['cores']} cores)",
        second,
    ])


def busy_warning(load: float, cores: int) -> str:
    """A warning line when other processes keep the machine busy (timings then mean little)."""
    if load < 0.5 * cores:
        return ""
    return (f"WARNING: load average {load:.1f} on {cores} cores before the run: other processes "
            "are running; timings (not the checks) are unreliable. Rerun on a quiet machine.")


def others_line(share: float | None, results=()) -> str:
    """How much of the machine other processes took while the cases were timed."""
    if share is None:
        return ""
    line = (f"other processes used {share:.0%} of the CPUs while the cases ran "
            "(column `others`: while each case was timed)")
    noisy = [r["name"] for r in results if (r.get("others_cpu_share") or 0) > 0.1]
    if share > 0.1 or noisy:
        line = ("WARNING: " + line + "; timings (not the checks) of "
                + (", ".join(noisy) if noisy else "the run") + " are unreliable. Rerun quietly.")
    return line


def import_lines(imports) -> str:
    cr, np_ = imports.get("chainrule"), imports.get("numpy")
    met = "met" if cr["median"] <= IMPORT_TARGET_S else "NOT met"
    out = [f"import chainrule: median {fmt_time(cr['median'])}, min {fmt_time(cr['min'])} "
           f"(fresh interpreter, {len(cr['samples'])} runs)   target <= {IMPORT_TARGET_S} s {met}"]
    if np_:
        out.append(f"import numpy alone: median {fmt_time(np_['median'])}")
    return "\n".join(out)


def targets(results, memory, imports) -> list:
    """Every target of issue 7 with chainrule's figure and whether it is met."""
    out = []
    for r in results:
        if r["target_vs_floor"] is not None and r["ratios"]["chainrule/floor"] is not None:
            out.append({"what": f"{r['name']}: chainrule / floor",
                        "value": r["ratios"]["chainrule/floor"],
                        "target": r["target_vs_floor"], "met": r["target_met"]})
        if r.get("compiled_target_met") is not None:
            out.append({"what": f"{r['name']}: compiled / floor",
                        "value": r["ratios"]["compiled/floor"],
                        "target": r["compiled_target_vs_floor"],
                        "met": r["compiled_target_met"]})
    for case_name, per in memory.items():
        cr, floor = per.get("chainrule", {}), per.get("floor", {})
        cc = per.get("compiled", {})
        if cc.get("traced") and cr.get("traced"):
            out.append({"what": f"{case_name}: peak memory compiled / eager chainrule (traced)",
                        "value": cc["traced"] / cr["traced"], "target": 1.0,
                        "met": cc["traced"] <= cr["traced"]})
        ratio = _ratio(cr.get("traced"), floor.get("traced"))
        if ratio is not None:
            out.append({"what": f"{case_name}: peak memory chainrule / floor (traced)",
                        "value": ratio, "target": MEMORY_TARGET, "met": ratio <= MEMORY_TARGET})
    if imports.get("chainrule"):
        t = imports["chainrule"]["median"]
        out.append({"what": "import chainrule (s)", "value": t, "target": IMPORT_TARGET_S,
                    "met": t <= IMPORT_TARGET_S})
    return out


def targets_line(items) -> str:
    if not items:
        return ""
    missed = [t["what"] for t in items if not t["met"]]
    line = f"targets met: {len(items) - len(missed)} of {len(items)}"
    return line + ("; not met: " + ", ".join(missed) if missed else "")


def write_json(path: str, payload: dict) -> None:
    """Atomic: a temp file in the same folder, then os.replace (a device such as /dev/stdout
    is written directly, never replaced)."""
    if os.path.exists(path) and not os.path.isfile(path):
        with open(path, "w") as f:
            json.dump(payload, f, indent=2, default=float)
            f.write("\n")
        return
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".bench-", suffix=".json")
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=2, default=float)
            f.write("\n")
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
