"""``python benchmarks/run.py``: run the benchmark suite (see benchmarks/README.md)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path


def main(argv: Sequence[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    if sys.path and Path(sys.path[0] or ".").resolve() == here:
        sys.path[0] = str(here.parent)
    elif str(here.parent) not in sys.path:
        sys.path.insert(0, str(here.parent))
    from benchmarks.suite import main as run_suite

    return run_suite(argv)


if __name__ == "__main__":
    raise SystemExit(main())
