"""A local SMTP server (aiosmtpd) keeping every message it receives in a Maildir."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox

from storage.settings import get_settings


def maildir_path() -> Path:
    return get_settings().data_dir.resolve() / "mail"


def main() -> None:
    logging.basicConfig(level=logging.INFO)
    smtp = get_settings().smtp
    controller = Controller(Mailbox(maildir_path()), hostname=smtp.host, port=smtp.port)
    controller.start()
    logging.getLogger("jieli.smtp").info("SMTP on %s:%s, Maildir %s", smtp.host, smtp.port,
                                         maildir_path())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
