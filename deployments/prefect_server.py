"""Prefect's server as `prefect server start` runs it, with every SQLite transaction that may
write begun IMMEDIATE.

Prefect begins such a transaction DEFERRED on SQLite unless the caller asked for row locks:
creating or resuming a flow run reads first, then inserts its state. When another connection
has written in between, SQLite answers the insert "database is locked" at once: a transaction
whose snapshot is stale cannot wait for the lock (busy_timeout does not apply). Prefect logs a
traceback ("Encountered error during state validation"), answers 503 and the client retries.
With 150 hires started one after another that was dozens of tracebacks in the server's log
(benchmarks/waiting_runs.py; PrefectHQ/prefect#18934 is the upstream report, open). Begun
IMMEDIATE, a transaction takes the write lock before it reads, so it waits its turn for up to
Prefect's busy_timeout (60 s) instead. Reads outside a transaction are not affected, and on
PostgreSQL nothing changes.

Prefect has no setting for the begin mode, hence this one replacement, made only while the
method still reads as expected (tests/deployments/test_prefect_server.py notices otherwise).
"""

from __future__ import annotations

import inspect
import logging
import sys
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from prefect.server.database import configurations

log = logging.getLogger("jieli.prefect_server")

# What `AioSqliteConfiguration.begin_transaction` does with `with_for_update` in the Prefect
# this was written for (3.9): choose the begin mode, nothing else.
EXPECTED = 'SQLITE_BEGIN_MODE.set("IMMEDIATE" if with_for_update else "DEFERRED")'


def applies() -> bool:
    """Whether this Prefect begins its SQLite transactions as the replacement expects."""
    return EXPECTED in inspect.getsource(configurations.AioSqliteConfiguration.begin_transaction)


def begin_sqlite_transactions_immediate() -> bool:
    """Make Prefect's SQLite transactions begin IMMEDIATE; False if this Prefect differs."""
    sqlite = configurations.AioSqliteConfiguration
    if not applies():
        log.warning("this Prefect begins its SQLite transactions differently; left as it is")
        return False
    deferred_or_immediate = sqlite.begin_transaction

    @asynccontextmanager
    async def immediate(self: Any, session: Any, with_for_update: bool = False
                        ) -> AsyncGenerator[Any, None]:
        async with deferred_or_immediate(self, session, with_for_update=True) as transaction:
            yield transaction

    sqlite.begin_transaction = immediate  # type: ignore[method-assign]
    return True


def main() -> None:
    begin_sqlite_transactions_immediate()
    from prefect.cli import app

    sys.argv = ["prefect", "server", "start", *sys.argv[1:]]  # Prefect's CLI reads sys.argv
    app()


if __name__ == "__main__":
    main()
