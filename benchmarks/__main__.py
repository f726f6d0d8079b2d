"""Run the benchmark scenarios, print a table and write benchmarks/results.json.

Each module in benchmarks/scenarios/ defines NAME, DESCRIPTION and `run() -> dict[str, Outcome]`
(one or more named results). Run all with `python -m benchmarks`, or some by module name.
"""

from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import sys
import time
from pathlib import Path

from benchmarks import scenarios
from benchmarks.common import Outcome

RESULTS = Path(__file__).with_name("results.json")


def _format(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("only", nargs="*", help="scenario modules to run (default: all)")
    args = parser.parse_args(argv)
    names = sorted(m.name for m in pkgutil.iter_modules(scenarios.__path__))
    if args.only:
        unknown = set(args.only) - set(names)
        if unknown:
            parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}; known: {', '.join(names)}")
        names = [n for n in names if n in args.only]
    results: dict[str, dict] = json.loads(RESULTS.read_text()) if RESULTS.exists() and args.only else {}
    failed = False
    for name in names:
        module = importlib.import_module(f"benchmarks.scenarios.{name}")
        print(f"== {name}: {module.DESCRIPTION}", flush=True)
        started = time.perf_counter()
        outcomes: dict[str, Outcome] = module.run()
        for key, outcome in outcomes.items():
            results[key] = outcome.as_json()
            failed |= not outcome.ok
            figures = "  ".join(f"{m}={_format(v)}" for m, v in outcome.metrics.items())
            print(f"   {key:<34} {figures}  target={_format(outcome.target)}  {'ok' if outcome.ok else 'MISSED'}")
            for note in outcome.notes:
                print(f"      {note}")
        print(f"   ({time.perf_counter() - started:.1f} s)", flush=True)
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"\nwrote {RESULTS}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
