"""Uploaded materials are judged by their content and stored under a safe name."""

from __future__ import annotations

import io
import re
import zipfile

from storage.settings import get_settings
from tests.forms import conftest
from tests.forms.conftest import Forms

forms = conftest.forms  # the fixture: the forms app in-process on real SQLite

OWNER = "li.na@example.com"
HIRE = "zhang.wei@example.com"
PDF = b"%PDF-1.4\n" + b"x" * 100
EXE = b"MZ\x90\x00\x03\x00" + b"\x00" * 50 + b"This program cannot be run in DOS mode"


def docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def handoff_url(forms: Forms) -> str:
    return f"/handoff/customer-communication?t=" \
           f"{forms.token('handoff', OWNER, 'customer-communication')}"


def test_empty_and_disguised_files_are_refused_with_a_message(forms: Forms):
    forms.start_run()
    url = handoff_url(forms)
    before = forms.counts()
    response = forms.client.post(url, files={
        "file-communication-scripts": ("scripts.pdf", b"", "application/pdf"),
        "file-objection-cases": ("cases.pdf", EXE, "application/pdf"),
        "file-communication-assessment": ("form.txt", b"name\x00\x01\x02", "text/plain")})
    assert response.status_code == 422
    assert "文件是空的" in response.text
    assert response.text.count("文件内容与扩展名不符") == 4  # in the summary and at each field
    assert response.text.count('class="refused"') == 3
    assert forms.counts() == before
    assert not (get_settings().data_dir / "materials").exists()
    # The same hand-off with real files goes through: content, not the name, decides.
    response = forms.client.post(url, files={
        "file-communication-scripts": ("scripts.pdf", PDF, "application/octet-stream"),
        "file-objection-cases": ("cases.docx", docx(), "application/octet-stream"),
        "file-communication-assessment": ("form.md", "# 评估表\n".encode(), "text/plain")})
    assert response.status_code == 200, response.text
    assert sorted(forms.sql("select file_name, content_type from delivered_materials")) == [
        ("cases.docx",
         "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("form.md", "text/markdown"), ("scripts.pdf", "application/pdf")]


def multipart_with_raw_names(names: dict[str, bytes], boundary: str = "b0undary") -> bytes:
    """A multipart body whose file names are sent byte for byte (clients escape them)."""
    body = b""
    for field, name in names.items():
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                 f"filename=\"").encode() + name + b"\"\r\nContent-Type: application/pdf\r\n\r\n"
        body += PDF + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def test_file_names_are_stored_and_served_sanitised(forms: Forms):
    from tasks.learning import assign_ready_modules

    run_id = forms.start_run()
    names = {
        "file-communication-scripts": b"..\\..\\windows\\evil\x00name\x07.pdf",
        "file-objection-cases": b"../../etc/" + "客户案例".encode() + b"\x1b[31m.pdf",
        "file-communication-assessment": b"a" * 400 + b".pdf",
    }
    response = forms.client.post(
        handoff_url(forms), content=multipart_with_raw_names(names),
        headers={"Content-Type": "multipart/form-data; boundary=b0undary"})
    assert response.status_code == 200, response.text
    stored = dict(forms.sql("select material_code, file_name from delivered_materials"))
    assert stored["communication-scripts"] == "evilname.pdf"
    assert stored["objection-cases"] == "客户案例[31m.pdf"
    assert stored["communication-assessment"] == "a" * 116 + ".pdf"
    for name in stored.values():
        assert not re.search(r"[\x00-\x1f\x7f\\/]", name)
    # Files are kept under the material's code, inside the data directory.
    materials = get_settings().data_dir.resolve() / "materials"
    for (path,) in forms.sql("select file_path from delivered_materials"):
        assert path.startswith(str(materials / "customer-communication"))

    assert "customer-communication" in assign_ready_modules.fn(run_id)
    assignment = forms.sql("select id from assignments where module_code = "
                           "'customer-communication'")[0][0]
    study = forms.client.get(
        f"/study/{assignment}?t={forms.token('study', HIRE, str(assignment))}")
    assert "evilname.pdf" in study.text
    links = re.findall(r'href="(/study/\d+/materials/\d+\?t=[^"]+)"', study.text)
    headers = [forms.client.get(link.replace("&amp;", "&")).headers for link in links]
    dispositions = sorted(h["content-disposition"] for h in headers)
    assert 'attachment; filename="evilname.pdf"' in dispositions
    assert any(d.startswith("attachment; filename*=utf-8''") and "%E5%AE%A2" in d
               for d in dispositions)
    assert all(re.fullmatch(r"[\x20-\x7e]+", d) for d in dispositions)


def test_a_staging_folder_left_by_a_killed_upload_is_removed_later(forms: Forms):
    import os
    import time

    forms.start_run()
    staging = get_settings().data_dir.resolve() / "materials" / ".staging"
    old, fresh = staging / "killed-yesterday", staging / "in-flight"
    for folder in (old, fresh):
        folder.mkdir(parents=True)
        (folder / "communication-scripts.pdf").write_bytes(PDF)
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    response = forms.client.post(handoff_url(forms), files={
        f"file-{m}": (f"{m}.pdf", PDF, "application/pdf")
        for m in ["communication-scripts", "objection-cases", "communication-assessment"]})
    assert response.status_code == 200
    assert sorted(p.name for p in staging.iterdir()) == ["in-flight"]
