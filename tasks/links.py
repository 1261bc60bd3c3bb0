"""Signed, expiring email links: a capability for one person, one action, one object.

The token carries only ids (no personal data) and an expiry taken from Jieli's clock, so that
virtual time in a simulation expires links as real time would.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from storage import clock
from storage.settings import get_settings

SALT = "jieli-link-v1"


@dataclass(frozen=True)
class LinkClaims:
    action: str  # handoff | study | quiz | appraise | sign-in | record
    person_id: int
    object_id: str
    expires_at: datetime
    nonce: str


@dataclass(frozen=True)
class Spent:
    """When a form was submitted (through a link, or otherwise), and by whom (a name)."""

    at: datetime
    by: str


class LinkInvalid(Exception):
    """The token was tampered with or is not a Jieli link."""


class LinkExpired(Exception):
    """The token is genuine but past its expiry."""


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key.get_secret_value(), salt=SALT)


def make_token(*, action: str, person_id: int, object_id: str, valid_for: timedelta) -> str:
    expires = int((clock.now() + valid_for).timestamp())
    payload = {"a": action, "p": person_id, "o": object_id, "e": expires,
               "n": secrets.token_urlsafe(12)}
    return str(_serializer().dumps(payload))


def read_token(token: str) -> LinkClaims:
    """The claims of a genuine, unexpired token; LinkInvalid or LinkExpired otherwise."""
    try:
        data = _serializer().loads(token)
        claims = LinkClaims(action=str(data["a"]), person_id=int(data["p"]),
                            object_id=str(data["o"]),
                            expires_at=datetime.fromtimestamp(int(data["e"]), clock.now().tzinfo),
                            nonce=str(data["n"]))
    except (BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkInvalid(str(exc)) from exc
    if clock.now() >= claims.expires_at:
        raise LinkExpired(claims.expires_at.isoformat())
    return claims


def make_link(*, path: str, action: str, person_id: int, object_id: str,
              valid_for: timedelta) -> str:
    token = make_token(action=action, person_id=person_id, object_id=object_id,
                       valid_for=valid_for)
    return f"{get_settings().public_base_url.rstrip('/')}{path}?t={token}"
