"""Request bodies are bounded while they stream in, and a double hand-off keeps one folder.

The app is called as an ASGI application with a receive function that counts the bytes the app
takes, so a test sees how much of a large body was read before it was refused.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

from storage.settings import get_settings
from tests.forms import conftest
from tests.forms.conftest import Forms

forms = conftest.forms  # the fixture: the forms app in-process on real SQLite

OWNER = "li.na@example.com"
MATERIALS = ["communication-scripts", "objection-cases", "communication-assessment"]
MB = 1024 * 1024
BOUNDARY = "jieli-test-boundary"


@dataclass
class Answer:
    status: int = 0
    text: str = ""
    consumed: int = 0  # body bytes the app received


def multipart(parts: dict[str, tuple[str, Iterator[bytes]]]) -> Iterator[bytes]:
    """A multipart body, chunk by chunk: field -> (file name, content chunks)."""
    for field, (name, chunks) in parts.items():
        yield (f"--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{field}\"; "
               f"filename=\"{name}\"\r\nContent-Type: application/pdf\r\n\r\n").encode()
        yield from chunks
        yield b"\r\n"
    yield f"--{BOUNDARY}--\r\n".encode()


def pdf(size: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    yield b"%PDF-1.4\n"
    for start in range(0, size, chunk):
        yield b"x" * min(chunk, size - start)


async def call(url: str, chunks: Iterator[bytes], content_type: str,
               headers: dict[str, str] | None = None,
               hold: asyncio.Event | None = None,
               reading: asyncio.Event | None = None, method: str = "POST") -> Answer:
    """Send `chunks` to the forms app; with `hold`, the body waits until it is set."""
    from forms.app import app

    path, _, query = url.partition("?")
    answer = Answer()
    pending = next(chunks, None)
    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": query.encode(), "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "headers": [(b"content-type", content_type.encode()),
                    *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())],
    }

    async def receive() -> dict:
        nonlocal pending
        if reading is not None:
            reading.set()
        if hold is not None:
            await hold.wait()
        if pending is None:
            return {"type": "http.disconnect"}
        body, pending = pending, next(chunks, None)
        answer.consumed += len(body)
        return {"type": "http.request", "body": body, "more_body": pending is not None}

    async def send(message: dict) -> None:
        if message["type"] == "http.response.start":
            answer.status = message["status"]
        elif message["type"] == "http.response.body":
            answer.text += message.get("body", b"").decode()

    await app(scope, receive, send)
    return answer


def handoff_url(forms: Forms) -> str:
    return f"/handoff/customer-communication?t=" \
           f"{forms.token('handoff', OWNER, 'customer-communication')}"


def test_a_25_mb_handoff_is_refused_before_21_mb_are_read(forms: Forms):
    forms.start_run()
    url = handoff_url(forms)
    before = forms.counts()
    body = multipart({"file-communication-scripts": ("scripts.pdf", pdf(25 * MB))})
    answer = asyncio.run(call(url, body, f"multipart/form-data; boundary={BOUNDARY}"))
    assert answer.status == 413
    assert "提交的内容过大" in answer.text and "20 MB" in answer.text
    assert answer.consumed <= 21 * MB, f"{answer.consumed / MB:.1f} MB read"
    assert forms.counts() == before
    assert not (get_settings().data_dir / "materials").exists()
    # A declared length over the limit is refused before a byte is read, in English for her.
    declared = asyncio.run(call(
        url, multipart({"file-communication-scripts": ("s.pdf", pdf(25 * MB))}),
        f"multipart/form-data; boundary={BOUNDARY}",
        headers={"content-length": str(25 * MB), "accept-language": "en"}))
    assert declared.status == 413 and declared.consumed == 0
    assert "Too much was sent at once" in declared.text
    # Its language link leads back to the form (a GET), link token and all.
    assert f'href="/language/zh_CN?next={quote(url, safe="")}"' in declared.text
    # The link was not spent: the hand-off goes through afterwards.
    files = {f"file-{m}": (f"{m}.pdf", b"%PDF-1.4\n" + b"x" * 100) for m in MATERIALS}
    assert forms.client.post(url, files=files).status_code == 200


def test_the_sign_in_body_is_refused_after_a_few_kb(forms: Forms):
    before = forms.counts()
    email = b"email=" + b"a" * MB + b"@example.com"
    chunks = iter([email[i:i + 1024] for i in range(0, len(email), 1024)])
    answer = asyncio.run(call("/hr/sign-in", chunks, "application/x-www-form-urlencoded"))
    assert answer.status == 413
    assert answer.consumed <= 8 * 1024, f"{answer.consumed} bytes read"
    assert "未保存任何内容" in answer.text
    assert forms.counts() == before


def test_a_double_handoff_submit_leaves_one_folder(forms: Forms):
    forms.start_run()
    url = handoff_url(forms)
    content_type = f"multipart/form-data; boundary={BOUNDARY}"

    def body() -> Iterator[bytes]:
        return multipart({f"file-{m}": (f"{m}.pdf", pdf(1000)) for m in MATERIALS})

    async def both() -> tuple[Answer, Answer]:
        # The first submit has passed the link check and waits on its body while the second
        # one goes through; then the first one's body arrives.
        hold, reading = asyncio.Event(), asyncio.Event()
        first = asyncio.create_task(call(url, body(), content_type, hold=hold, reading=reading))
        await reading.wait()
        second = await call(url, body(), content_type)
        hold.set()
        return await first, second

    first, second = asyncio.run(both())
    assert second.status == 200 and first.status == 410
    assert "已经提交" in first.text
    materials = get_settings().data_dir / "materials"
    folders = [p for p in (materials / "customer-communication").iterdir()]
    assert len(folders) == 1 and len(list(folders[0].iterdir())) == 3
    assert not any((materials / ".staging").glob("*"))
    assert forms.sql("select count(*) from deliveries") == [(1,)]
