"""Fault injection for crash tests: a named point where a pass can be made to stop and hang.

A test arms points by writing them, comma-separated, to the file `failpoints` in the data
directory; each point reads that file when reached, so points are armed and disarmed under a
running runner (starting a runner for them cost it and its fork server seconds of CPU). With
`after-gates` armed, a pass that reaches `failpoint("after-gates")` writes a marker file
`failpoint-after-gates` in the data directory and hangs while the marker is there and the
point armed, so that a test can kill the runner at exactly that point, or act while the pass
is under way and then let it go on. With `after-gates:raise` the pass fails there instead (an
exception, every time). Without the file (always, outside tests) a failpoint does nothing.
"""

from __future__ import annotations

import time

from storage.settings import get_settings


class FailpointError(RuntimeError):
    pass


ARMED_FILE = "failpoints"  # in the data directory


def _armed() -> list[str]:
    try:
        armed = (get_settings().data_dir / ARMED_FILE).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return armed.split(",")


def failpoint(name: str) -> None:
    points = _armed()
    if f"{name}:raise" in points:
        raise FailpointError(f"failpoint {name}")
    if name not in points:
        return
    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    marker = settings.data_dir / f"failpoint-{name}"
    marker.write_text(name)
    # Hang rather than exit, so the test decides when and how the process dies, or whether
    # the pass goes on (the marker removed, or the point disarmed).
    while marker.exists() and name in _armed():
        time.sleep(0.1)
