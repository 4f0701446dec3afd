"""Compare two ``--json`` results: what a change bought, case by case.

    python -m bench --json before.json
    ... change chainrule ...
    python -m bench --json after.json
    python -m bench.compare before.json after.json

For each case: chainrule's median before and after, after/before, and chainrule/floor in
each run (the ratio to the floor is the fairer comparison when the two runs were not on an
equally quiet machine).
"""

from __future__ import annotations

import argparse
import json

from .report import table, fmt_ratio, fmt_time


def compare(before: dict, after: dict, impl: str = "chainrule") -> str:
    old = {c["name"]: c for c in before["cases"]}
    rows = []
    for case in after["cases"]:
        prev = old.get(case["name"])
        new_t = case["times"].get(impl, {}).get("median")
        old_t = prev["times"].get(impl, {}).get("median") if prev else None
        old_r = prev["ratios"].get(f"{impl}/floor") if prev else None
        rows.append([case["label"] + (" [per op]" if case["unit"] == "op" else ""),
                     fmt_time(old_t), fmt_time(new_t),
                     fmt_ratio(new_t / old_t if new_t and old_t else None),
                     fmt_ratio(old_r), fmt_ratio(case["ratios"].get(f"{impl}/floor"))])
    header = ["case", f"{impl} before", "after", "after/before", "vs floor before", "after"]
    return table(header, rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.compare",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("before")
    parser.add_argument("after")
    parser.add_argument("--impl", default="chainrule", choices=("chainrule", "torch", "floor"))
    args = parser.parse_args(argv)
    with open(args.before) as f:
        before = json.load(f)
    with open(args.after) as f:
        after = json.load(f)
    print(f"before: {before['machine'].get('commit')} ({before['machine']['date']})   "
          f"after: {after['machine'].get('commit')} ({after['machine']['date']})")
    print(compare(before, after, args.impl))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
