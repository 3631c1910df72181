"""Benchmarks for metrics_layer: a script, not timed tests. Run ``python -m benchmarks``.

See benchmarks/README.md for what each number means; results go to docs/benchmarks.md.
"""
