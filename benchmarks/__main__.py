"""``python -m benchmarks``: run the benchmark suite (see benchmarks/README.md)."""

from __future__ import annotations

from benchmarks.suite import main

raise SystemExit(main())
