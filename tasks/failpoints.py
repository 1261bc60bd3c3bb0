"""Fault injection for crash tests: a named point where a pass can be made to stop and hang.

With JIELI_FAILPOINTS=after-gates, a pass that reaches `failpoint("after-gates")` writes a
marker file `failpoint-after-gates` in the data directory and hangs while the marker is
there, so that a test can kill the runner at exactly that point, or act while the pass is
under way and then let it go on by removing the marker. With
JIELI_FAILPOINTS=after-gates:raise the pass fails there instead (an exception, every time).
Unset (always, outside tests), a failpoint does nothing.
"""

from __future__ import annotations

import time

from storage.settings import get_settings


class FailpointError(RuntimeError):
    pass


def failpoint(name: str) -> None:
    settings = get_settings()
    points = settings.failpoints.split(",")
    if f"{name}:raise" in points:
        raise FailpointError(f"failpoint {name}")
    if name not in points:
        return
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    marker = settings.data_dir / f"failpoint-{name}"
    marker.write_text(name)
    # Hang rather than exit, so the test decides when and how the process dies, or whether
    # the pass goes on.
    while marker.exists():
        time.sleep(0.1)
