"""One settings object for the whole of Jieli, read from JIELI_* environment variables."""

import os
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "jieli-development-secret-change-me"
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
MIN_SECRET_BYTES = 32


class SmtpSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = 8025
    user: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    sender: str = "Jieli 接力 <jieli@localhost>"
    timeout_seconds: float = 10.0


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="JIELI_", env_nested_delimiter="__", extra="ignore"
    )

    environment: str = "development"
    data_dir: Path = Path(".data")
    # Empty means: a SQLite file inside data_dir (see `storage_url`).
    database_url: str = ""
    prefect_api_url: str = "http://127.0.0.1:4200/api"
    # The database of the Prefect server `jieli up` starts. Empty means Prefect's own SQLite
    # file in data_dir/prefect; under many runs at once SQLite makes Prefect log "database is
    # locked", so beyond a few dozen hires give it PostgreSQL:
    # postgresql+asyncpg://user:password@host:5432/prefect (docs/DEPLOY.md).
    prefect_database_url: SecretStr | None = None
    # "user:password" for Prefect's basic auth: the server asks for it and every client sends
    # it. Required when the Prefect server listens beyond loopback (its API has no login).
    prefect_auth_string: SecretStr | None = None
    # How often a refused connection to Prefect is tried again by each call; None keeps
    # Prefect's own default (3, about 3.5 s). `jieli up` gives the forms app 0.
    prefect_connect_retries: int | None = Field(default=None, ge=0, le=10)
    forms_host: str = "127.0.0.1"
    # How many processes serve the forms app (uvicorn workers): one page takes a few ms of CPU,
    # so one process queues readers while a second core idles. Safe because the app keeps
    # nothing in memory that another process needs: sessions, sign-in rate limits, refusal
    # counts and used links are in storage, held uploads on disk.
    forms_workers: int = Field(default_factory=lambda: min(2, os.cpu_count() or 1), ge=1)
    forms_port: int = 8000
    # The address people reach the forms app at, used to build links in emails.
    public_base_url: str = "http://127.0.0.1:8000"
    smtp: SmtpSettings = SmtpSettings()
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    default_locale: str = "zh_CN"
    # The company's time zone: due dates in emails and pages are its calendar days.
    timezone: str = "Asia/Shanghai"
    # Empty means the default catalog shipped in storage/catalog.
    catalog_dir: Path | None = None
    # The deployment onboarding runs are created from ("onboarding/<name>"). The simulator uses
    # its own, so that a runner serving "onboarding" never takes a simulated run.
    deployment: str = "onboarding"
    # Housekeeping (tasks/housekeeping.py): the runner resumes runs someone acted on and sends
    # queued mail every `quick_chores_seconds`, does reminders and retries every
    # `timed_chores_seconds`; the visible `sweep` flow runs every `sweep_every_seconds`.
    quick_chores_seconds: float = 2.0
    timed_chores_seconds: float = 60.0
    sweep_every_seconds: int = 3600
    # How many flow passes the runner executes at once (each is a process); the others wait in
    # Prefect as Scheduled. Sized to the cores: more passes at once only share the CPU and
    # hold SQLite's write lock longer each.
    runner_limit: int = Field(default_factory=lambda: max(2, os.cpu_count() or 1), ge=1)
    # The person the `jieli` CLI acts as when no `--as EMAIL` is given (JIELI_ACTING_AS): the
    # CLI is held to the permission matrix like anyone else, so it must name someone.
    acting_as: str = ""

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> "Settings":
        # The default secret is public (it is in the repository): links signed with it can be
        # forged. It, and any secret short enough to guess, is allowed only in development
        # with the forms listening on loopback and links that stay on loopback.
        host = urlparse(self.public_base_url).hostname or ""
        exposed = (self.environment != "development" or self.forms_host not in LOOPBACK
                   or host not in LOOPBACK)
        secret = self.secret_key.get_secret_value()
        if not exposed:
            return self
        how = ('make one with `python -c "import secrets; print(secrets.token_urlsafe(48))"` '
               "and set it as JIELI_SECRET_KEY")
        where = (f"(environment {self.environment!r}, JIELI_FORMS_HOST {self.forms_host!r}, "
                 f"JIELI_PUBLIC_BASE_URL {self.public_base_url!r})")
        if secret == DEV_SECRET:
            raise ValueError(f"JIELI_SECRET_KEY is still the public development default; "
                             f"links can be forged with it beyond loopback {where}: {how}")
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"JIELI_SECRET_KEY has {len(secret.encode())} bytes; at least "
                             f"{MIN_SECRET_BYTES} are needed beyond loopback {where}: {how}")
        return self

    @property
    def storage_url(self) -> str:
        if self.database_url:
            return self.database_url
        data_dir = self.data_dir if self.data_dir.is_absolute() else Path.cwd() / self.data_dir
        return _sqlite_url(data_dir)


@lru_cache(maxsize=16)
def _sqlite_url(data_dir: Path) -> str:
    # Resolved once per directory: every transaction asks, and resolving makes a system call
    # per part of the path (each one lets another thread take the GIL, under load for ms).
    return f"sqlite:///{(data_dir / 'jieli.db').resolve()}"


_chosen: Settings | None = None  # set by `use_settings`


def get_settings() -> Settings:
    """The process's settings: the ones `use_settings` chose, else the environment's
    (JIELI_*), read once."""
    return _chosen if _chosen is not None else _from_environment()


@lru_cache
def _from_environment() -> Settings:
    return Settings()


def use_settings(settings: Settings | None) -> Settings | None:
    """Make `settings` the process's settings (None: the environment's again); returns the
    ones chosen before, for the caller to put back.

    For a process that holds several installations one after another: `jieli simulate` plays
    each scenario on storage of its own, and a test makes an installation of its own. The
    settings are passed in whole, never written to os.environ for `get_settings` to read
    again: what depends on them (the engine per storage URL, the catalog per settings) follows
    the settings object, so nothing needs clearing."""
    global _chosen
    before, _chosen = _chosen, settings
    return before
