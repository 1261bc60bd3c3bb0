"""Material files: what an upload really is, a safe name for it, and storing a hand-off's files.

A file is judged by its content, not its name: binary formats by their signature (puremagic,
a maintained pure-Python magic-number library), text formats as UTF-8 without NUL. Files are
written to a staging folder, the delivery is recorded and the link spent in one transaction,
and only then is the folder moved into place: a refused or failed hand-off leaves no file.

A browser cannot be told to choose a file again, so the files a refused hand-off accepted are
held for its link (`hold_uploads`) and handed off with its next submit unless replaced.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import shutil
import time
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import puremagic
from pydantic import HttpUrl, TypeAdapter, ValidationError

from storage import repo
from storage.settings import get_settings
from tasks.env import get_catalog
from tasks.handoff import DeliveryOutcome, record_materials, resume_unblocked

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_NAME_CHARS = 120
# Suffixes accepted (the most common first), and how their content is checked.
BINARY_ORDER = (".pdf", ".doc", ".docx", ".xls", ".xlsx", ".ppt", ".pptx", ".png", ".jpg",
                ".jpeg", ".zip")
BINARY_SUFFIXES = set(BINARY_ORDER)
TEXT_TYPES = {".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv",
              ".py": "text/x-python", ".ipynb": "application/x-ipynb+json"}
TEXT_SUFFIXES = set(TEXT_TYPES)
ACCEPTED_SUFFIXES = BINARY_ORDER + tuple(TEXT_TYPES)  # as the hand-off form lists them
STALE_STAGING_SECONDS = 24 * 3600  # also how long a refused hand-off's files are held
HEAD_BYTES = 8192
CHUNK_BYTES = 1024 * 1024


class FileRefused(ValueError):
    """An upload that cannot be a material: kind is empty | size | type."""

    def __init__(self, kind: str, detail: str = ""):
        super().__init__(f"{kind}: {detail}")
        self.kind, self.detail = kind, detail


@dataclass(frozen=True)
class Upload:
    """A checked material file: its safe name, detected type, and the open file to copy."""

    material_code: str
    file_name: str
    suffix: str
    content_type: str
    file: BinaryIO


@dataclass(frozen=True)
class HeldFile:
    """A checked file of a refused hand-off, kept for its link's next submit."""

    material_code: str
    file_name: str
    suffix: str
    content_type: str
    path: Path


class NotAWebAddress(ValueError):
    pass


_HTTP_URL = TypeAdapter(HttpUrl)
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")
_OTHER_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:(?!\d)")  # mailto:, but not host:8080


def web_address(text: str) -> str:
    """The text as an http(s) address: 'pan.example.com/s/1' becomes 'https://pan.example.com/s/1'.

    People type addresses as they see them in a browser's bar, without the scheme; such a one
    must at least name a domain (a dot in the host), so that a word is not taken for a host.
    """
    text = text.strip()
    bare = not _SCHEME.match(text)
    if bare and _OTHER_SCHEME.match(text):
        raise NotAWebAddress(text)
    try:
        url = _HTTP_URL.validate_python("https://" + text if bare else text)
    except ValidationError:
        raise NotAWebAddress(text) from None
    if bare and "." not in (url.host or "").strip("."):
        raise NotAWebAddress(text)
    return str(url)


def safe_file_name(name: str, fallback: str) -> str:
    """The name without folders, control characters, quotes or NUL, at most MAX_NAME_CHARS."""
    base = name.replace("\\", "/").split("/")[-1]
    kept = "".join(" " if ch.isspace() else ch for ch in base
                   if not unicodedata.category(ch).startswith("C") and ch not in '"<>|*?:')
    kept = " ".join(kept.split()).lstrip(". ")
    if not kept.strip("."):
        return fallback
    suffix = Path(kept).suffix if len(Path(kept).suffix) <= 10 else ""
    stem = kept[: len(kept) - len(suffix)] if suffix else kept
    return stem[: MAX_NAME_CHARS - len(suffix)].rstrip() + suffix


def _is_utf8_text(file: BinaryIO) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    while chunk := file.read(CHUNK_BYTES):
        if b"\x00" in chunk:
            return False
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError:
            return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def check_upload(*, material_code: str, name: str, file: BinaryIO, size: int) -> Upload:
    """The upload, checked: not empty, not over the limit, content of the type its name says."""
    file_name = safe_file_name(name, material_code)
    suffix = Path(file_name).suffix.lower()
    if size <= 0:
        raise FileRefused("empty")
    if size > MAX_FILE_BYTES:
        raise FileRefused("size", f"{size / 1048576:.1f} MB")
    if suffix not in BINARY_SUFFIXES | TEXT_SUFFIXES:
        raise FileRefused("type", suffix or file_name)
    file.seek(0)
    if suffix in TEXT_SUFFIXES:
        ok, content_type = _is_utf8_text(file), TEXT_TYPES[suffix]
    else:
        try:
            matches = puremagic.magic_string(file.read(HEAD_BYTES))
        except puremagic.PureError:
            matches = []
        fitting = [m for m in matches if m.extension.lower() == suffix]
        ok = bool(fitting)
        content_type = next((m.mime_type for m in fitting if m.mime_type),
                            "application/octet-stream")
    file.seek(0)
    if not ok:
        raise FileRefused("content", suffix)
    return Upload(material_code=material_code, file_name=file_name, suffix=suffix,
                  content_type=content_type[:100], file=file)


def _materials_dir() -> Path:
    return get_settings().data_dir.resolve() / "materials"


def _held_dir(link_nonce: str) -> Path:
    # The link's nonce is a secret of its holder: the folder is named by its hash, not by it.
    return _materials_dir() / ".held" / hashlib.sha256(link_nonce.encode()).hexdigest()[:32]


def hold_uploads(*, link_nonce: str, uploads: list[Upload]) -> None:
    """Keep a refused hand-off's accepted files for the next submit through the same link."""
    folder = _held_dir(link_nonce)
    _remove_stale_staging(folder.parent)
    for upload in uploads:
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob(f"{upload.material_code}.*"):
            old.unlink()
        with (folder / f"{upload.material_code}{upload.suffix}").open("wb") as out:
            shutil.copyfileobj(upload.file, out, CHUNK_BYTES)
        upload.file.seek(0)
        (folder / f"{upload.material_code}.json").write_text(json.dumps(
            {"file_name": upload.file_name, "suffix": upload.suffix,
             "content_type": upload.content_type}), encoding="utf-8")


def held_files(*, link_nonce: str) -> dict[str, HeldFile]:
    """The files held for this link, by material code."""
    folder = _held_dir(link_nonce)
    held: dict[str, HeldFile] = {}
    for meta in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        data = json.loads(meta.read_text(encoding="utf-8"))
        path = folder / f"{meta.stem}{data['suffix']}"
        if path.is_file():
            held[meta.stem] = HeldFile(meta.stem, data["file_name"], data["suffix"],
                                       data["content_type"], path)
    return held


def _remove_stale_staging(folder: Path) -> None:
    # Left by a process killed mid-upload. File times are the machine's, so this compares with
    # the machine's time, not Jieli's clock (which a simulation moves ahead).
    if not folder.is_dir():
        return
    for leftover in folder.iterdir():
        if time.time() - leftover.stat().st_mtime > STALE_STAGING_SECONDS:
            shutil.rmtree(leftover, ignore_errors=True)


def store_handoff(
    *, module_code: str, by_email: str, via: str, uploads: list[Upload | HeldFile],
    links: dict[str, str], note: str, link: repo.LinkUse | None,
) -> DeliveryOutcome:
    """Write the files to a staging folder, record the delivery (spending the link), then move
    the folder into place and resume the runs; on any failure no file is left (files held for
    the link stay held until it succeeds)."""
    materials = _materials_dir()
    _remove_stale_staging(materials / ".staging")
    staging = materials / ".staging" / uuid.uuid4().hex
    final = materials / module_code / staging.name
    items = [repo.MaterialItem(material_code=code, link=url) for code, url in links.items()]
    try:
        for upload in uploads:
            staging.mkdir(parents=True, exist_ok=True)
            stored = f"{upload.material_code}{upload.suffix}"
            if isinstance(upload, HeldFile):
                shutil.copyfile(upload.path, staging / stored)
            else:
                with (staging / stored).open("wb") as out:
                    shutil.copyfileobj(upload.file, out, CHUNK_BYTES)
            items.append(repo.MaterialItem(
                material_code=upload.material_code, file_name=upload.file_name,
                file_path=str(final / stored), size_bytes=(staging / stored).stat().st_size,
                content_type=upload.content_type))
        order = [m.code for m in get_catalog().modules[module_code].materials]
        items.sort(key=lambda i: order.index(i.material_code) if i.material_code in order
                   else len(order))
        outcome = record_materials(module_code=module_code, by_email=by_email, via=via,
                                   items=items, note=note, link=link)
        if uploads:
            final.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(final)
        if link is not None:
            shutil.rmtree(_held_dir(link.nonce), ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return resume_unblocked(outcome)


@contextmanager
def placed_uploads(module_code: str, uploads: list[Upload]) -> Iterator[list[repo.MaterialItem]]:
    """The uploads written to a staging folder, as the items to record (with the paths they
    will have); moved into place when the block ends, removed if it fails: a change of the
    materials that is not recorded leaves no file (tasks/module_versions.py)."""
    materials = _materials_dir()
    _remove_stale_staging(materials / ".staging")
    staging = materials / ".staging" / uuid.uuid4().hex
    final = materials / module_code / staging.name
    items = []
    try:
        for upload in uploads:
            staging.mkdir(parents=True, exist_ok=True)
            stored = f"{upload.material_code}{upload.suffix}"
            with (staging / stored).open("wb") as out:
                shutil.copyfileobj(upload.file, out, CHUNK_BYTES)
            items.append(repo.MaterialItem(
                material_code=upload.material_code, file_name=upload.file_name,
                file_path=str(final / stored), size_bytes=(staging / stored).stat().st_size,
                content_type=upload.content_type))
        yield items
        if uploads:
            final.parent.mkdir(parents=True, exist_ok=True)
            staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
