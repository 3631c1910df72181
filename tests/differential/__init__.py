"""Differential property test: the library's rows against a plain-Python reference, on every engine.

Files, in the order a query flows through them:

- ``fixture.py``: the rows (teams, users, orders) as Python values, their literal SELECTs and the
  definitions (32 metrics); the four projects (time zone, week start) the queries are asked in.
- ``grammar.py``: a query and its ``where`` as plain values that write themselves as the text the
  library parses.
- ``strategies.py``: hypothesis strategies for valid queries over the fixture.
- ``reference.py``: the expected rows, computed in Python from the rules in docs/queries.md and
  docs/definitions.md (no SQL, nothing of the library's planner).
- ``engines.py``: one entry per engine (how to reach an empty database, aware timestamps, time
  zones) and the documented gaps whose comparisons are left out.
- ``test_differential.py``: DuckDB against the reference; every other engine against DuckDB.

Run it::

    pytest tests/differential -n 2                               # fixed examples, for CI
    pytest tests/differential -n 2 --hypothesis-profile=nightly  # 10,000 random ones per test
    make differential                                            # the same nightly search

A failure shows the shrunk query (``query([...], project=..., by=..., where=...)``) with the rows of
the engine, of DuckDB and of the reference. Decide which is wrong from the docs: a library bug
gets a fix and a test with hand-computed numbers in tests/soundness/ or tests/engines/; a reference
mistake is fixed in reference.py; a documented engine gap gets a ``Gap`` in engines.py.
"""
