"""The machine's process tree below a stack's parts, as the tests and benchmarks that start
them look at it (Linux /proc)."""

from __future__ import annotations

from pathlib import Path


def _table() -> dict[int, tuple[int, str]]:
    """Each live process: its parent and its command line (spaces between the arguments)."""
    table: dict[int, tuple[int, str]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if fields[0] != "Z":  # an exited process is no longer running anything
            table[int(stat.parent.name)] = (
                int(fields[1]), cmdline.replace(b"\0", b" ").decode(errors="replace").strip())
    return table


def descendants(pid: int) -> dict[int, tuple[int, str]]:
    """The live processes below `pid`, each with its parent and command line."""
    table = _table()
    children: dict[int, list[int]] = {}
    for child, (parent, _) in table.items():
        children.setdefault(parent, []).append(child)
    found, todo = {}, [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = table[child]
            todo.append(child)
    return found


def running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
