"""A ``--json`` result as Markdown tables, for docs/benchmarks.md and the README.

    python -m bench --json results.json
    python -m bench.markdown results.json
"""

from __future__ import annotations

import argparse
import json

from .report import IMPORT_TARGET_S, MEMORY_TARGET, fmt_mib, fmt_ratio, fmt_time


def _md(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _met(ratio, target):
    if ratio is None or target is None:
        return ""
    return f"<= {target:g}x {'met' if ratio <= target else '**not met**'}"


def markdown(result: dict) -> str:
    m = result["machine"]
    blas = m["numpy_blas"]
    share = m.get("others_cpu_share")
    torch = (f", PyTorch {m['torch']} with {m['torch_blas']} ({m['torch_threads']} threads)"
             if m.get("torch") else "")
    out = [f"Measured {m['date']} at commit {m.get('commit')} on {m['cpu']} ({m['cores']} "
           f"cores), Python {m['python']}, NumPy {m['numpy']} with {blas['name']} "
           f"{blas['version']} ({blas['threads']} threads){torch}; {result['mode']} run"
           + (f", other processes used {share:.0%} of the CPUs meanwhile." if share is not None
              else "."), ""]
    names = [n for n in ("floor", "chainrule", "torch")
             if any(n in c["times"] for c in result["cases"])]
    rows = []
    for c in result["cases"]:
        row = [c["label"] + (" (per op)" if c["unit"] == "op" else "")]
        for n in names:
            t = c["times"].get(n)
            row.append("-" if t is None else f"{fmt_time(t['median'])} ({fmt_time(t['min'])})")
        r = c["ratios"]
        row += [fmt_ratio(r["chainrule/floor"]), _met(r["chainrule/floor"], c["target_vs_floor"]),
                fmt_ratio(r["chainrule/torch"]), fmt_ratio(r["torch/floor"])]
        rows.append(row)
    out.append(_md(["case"] + [f"{n} median (min)" for n in names]
                   + ["chainrule / floor", "target", "chainrule / torch", "torch / floor"], rows))
    if result.get("memory"):
        rows = []
        for case_name, per in result["memory"].items():
            floor = per.get("floor", {})
            for n, mem in per.items():
                ratio = (mem.get("traced") / floor["traced"]
                         if n == "chainrule" and mem.get("traced") and floor.get("traced")
                         else None)
                rows.append([case_name, n, fmt_mib(mem.get("rss")), fmt_mib(mem.get("traced")),
                             fmt_ratio(ratio), _met(ratio, MEMORY_TARGET)])
        out += ["", _md(["training run", "implementation", "peak RSS rise", "peak traced",
                         "chainrule / floor", "target"], rows)]
    imp = result.get("import", {}).get("chainrule")
    if imp:
        met = "met" if imp["median"] <= IMPORT_TARGET_S else "**not met**"
        out += ["", f"`import chainrule`: {fmt_time(imp['median'])} (median of "
                    f"{len(imp['samples'])} fresh interpreters; target <= {IMPORT_TARGET_S} s "
                    f"{met})."]
    return "\n".join(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.markdown",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("result", help="a file written by python -m bench --json")
    args = parser.parse_args(argv)
    with open(args.result) as f:
        print(markdown(json.load(f)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
