"""How long is a part of the stack down after kill -9? The supervisor of `jieli up` restarts it.

Starts the SMTP server under `Stack.supervise` on a free loopback port, kills it (SIGKILL)
several times in a row, and prints for each kill the seconds until the new server accepts
connections: the backoff (1 s, 2 s, 4 s … for deaths in a row) plus its start.

    .venv/bin/python benchmarks/supervised_restart.py           # 4 kills
"""

from __future__ import annotations

import argparse
import os
import signal
import tempfile
import threading
import time
from pathlib import Path

from deployments.stack import Stack, free_port
from storage.settings import Settings, SmtpSettings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--kills", type=int, default=4)
    args = parser.parse_args()
    stack = Stack(Settings(data_dir=Path(tempfile.mkdtemp(prefix="jieli-restart-")),
                           smtp=SmtpSettings(port=free_port())))
    stack.start_smtp()
    restarted = threading.Semaphore(0)

    def say(line: str) -> None:
        print(f"  {line}")
        if line.endswith("started again"):
            restarted.release()

    stopped = threading.Event()
    supervisor = threading.Thread(target=stack.supervise, args=(stopped, say))
    supervisor.start()
    figures = []
    try:
        for _ in range(args.kills):
            killed = time.monotonic()
            os.kill(stack.child("smtp").process.pid, signal.SIGKILL)
            restarted.acquire(timeout=120)  # ready: the supervisor saw the port open
            figures.append(time.monotonic() - killed)
    finally:
        stopped.set()
        supervisor.join()
        stack.stop()
    print("down after kill -9 (s):", ", ".join(f"{f:.2f}" for f in figures))


if __name__ == "__main__":
    main()
