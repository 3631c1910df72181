"""The metric dependency DAG: ratio and derived metrics depend on the metrics they name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["find_cycle"]


def find_cycle(deps: Mapping[str, Sequence[str]]) -> list[str]:
    """A cycle as a closed list of names (first repeated last), or [] when there is none.

    >>> find_cycle({"a": ["b"], "b": ["c"], "c": ["a"]})
    ['a', 'b', 'c', 'a']
    >>> find_cycle({"a": ["b"], "b": []})
    []
    """
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(name: str) -> list[str]:
        state[name] = 1
        stack.append(name)
        for dep in deps.get(name, ()):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep in deps and dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[name] = 2
        return []

    for name in sorted(deps):
        if name not in state:
            cycle = visit(name)
            if cycle:
                return cycle
    return []
