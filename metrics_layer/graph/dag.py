"""The metric dependency DAG: ratio and derived metrics depend on the metrics they name."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["find_cycle", "find_cycles", "loop_members"]


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


def find_cycles(deps: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """One cycle (closed, first name repeated last) per group of names that depend on each
    other, so that every independent loop is reported; groups in name order.

    >>> find_cycles({"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"], "e": ["a"]})
    [['a', 'b', 'a'], ['c', 'd', 'c']]
    >>> find_cycles({"a": ["a"], "b": []})
    [['a', 'a']]
    """
    cycles: list[list[str]] = []
    done: set[str] = set()
    for group in _strong_groups(deps):
        if len(group) == 1 and group[0] not in deps.get(group[0], ()):
            continue
        members = set(group)
        inside = {name: [d for d in deps.get(name, ()) if d in members] for name in group}
        cycle = find_cycle(inside)
        if cycle and not done.intersection(cycle):
            cycles.append(cycle)
            done.update(cycle)
    return sorted(cycles)


def _strong_groups(deps: Mapping[str, Sequence[str]]) -> list[list[str]]:
    """The strongly connected groups of the graph (Tarjan's algorithm, without recursion)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    for root in sorted(deps):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            name, position = work.pop()
            if position == 0:
                index[name] = low[name] = len(index)
                stack.append(name)
                on_stack.add(name)
            children = [d for d in deps.get(name, ()) if d in deps]
            if position < len(children):
                work.append((name, position + 1))
                child = children[position]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[name] = min(low[name], index[child])
                continue
            if low[name] == index[name]:
                group: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == name:
                        break
                groups.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[name])
    return groups


def loop_members(deps: Mapping[str, Sequence[str]], cycle: Sequence[str]) -> list[str]:
    """Every name in the same loop as ``cycle`` (its strongly connected group), sorted: the
    metrics that depend on each other through it, on other paths too.

    >>> loop_members({"a": ["b"], "b": ["a", "c"], "c": ["b"], "d": ["a"]}, ["a", "b", "a"])
    ['a', 'b', 'c']
    """
    for group in _strong_groups(deps):
        if cycle and cycle[0] in group:
            return group
    return sorted(set(cycle))
