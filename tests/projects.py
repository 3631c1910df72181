"""Small definitions shared by the error-path tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

WriteProject = Callable[[dict[str, str]], Path]

# One source with a time dimension, a dimension and a count; its text is 12 lines long, so a
# metrics section written after it starts on line 13.
USERS_SOURCE = """\
sources:
  - name: users
    table: users
    time: signed_up_at
    entities:
      - {name: user, key: user_id, primary: true}
    dimensions:
      - {name: signed_up_at, type: time}
      - {name: country}
    measures:
      - {name: signups, agg: count}
"""
