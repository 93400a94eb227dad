"""`make bench`: the whole chain under load on a fresh local stack; see README.md, "Performance"."""

from __future__ import annotations

import asyncio

from bench import chart, report
from bench.knobs import Knobs
from bench.load import play
from bench.stack import bench_stack


def main() -> None:
    knobs = Knobs.from_env()
    print(f"bench: {knobs}", flush=True)
    with bench_stack() as stack:
        results = asyncio.run(play(stack, knobs))
    report.print_table(results)
    report.write_json(results, report.RESULTS / "latest.json")
    chart.draw(results, report.RESULTS / "latest.png")
    print(f"\nwritten: {report.RESULTS / 'latest.json'}, {report.RESULTS / 'latest.png'}")


if __name__ == "__main__":
    main()
