#!/usr/bin/env python3
"""Median of several bench/run.py results as a Markdown table: `bench/summarize.py bench/results/*.json`."""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict


def main(paths: list[str]) -> None:
    runs: dict[str, list[dict]] = defaultdict(list)
    for path in paths:
        with open(path) as handle:
            report = json.load(handle)
        if report.get("pages"):
            runs[report["size"]].append(report)
    print("| size | page | who | CPU ms/req | req/s | p50 ms | p90 ms | p99 ms | SQL |")
    print("|---|---|---|---:|---:|---:|---:|---:|---:|")
    for size, reports in sorted(runs.items(), reverse=True):
        for name, by_who in reports[-1]["pages"].items():
            label = name.split(" (")[0]
            for who in by_who:
                samples = [
                    r["pages"][page][who]
                    for r in reports
                    for page in r["pages"]
                    if page.split(" (")[0] == label
                ]
                median = {
                    key: statistics.median(s[key] for s in samples)
                    for key in ("cpu_ms", "rps", "p50", "p90", "p99")
                }
                queries = reports[-1]["queries"][name][who]
                print(f"| {size} | {name} | {who} | {median['cpu_ms']:.1f} | {median['rps']:.0f} | {median['p50']:.0f} | "
                      f"{median['p90']:.0f} | {median['p99']:.0f} | {queries} |")  # fmt: skip
    for size, reports in sorted(runs.items(), reverse=True):
        imports = [r["import"] for r in reports if r.get("import")]
        dates = sorted({r["date"] for r in reports})
        print(f"\n{size}: {len(reports)} runs ({dates[0]} to {dates[-1]}), {reports[-1]['machine']}")
        for figures in imports:
            print(f"  import: {figures}")
        speeds = [r["reference_loop_s"] for r in reports if r.get("reference_loop_s")]
        if speeds:
            print(
                f"  reference loop (machine speed, lower is faster): {', '.join(f'{v:.3f} s' for v in speeds)}"
            )


if __name__ == "__main__":
    main(sys.argv[1:])
