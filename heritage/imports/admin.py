"""The admin's spreadsheet pages: "Import records" (upload, a preview of what would be
added and changed with every problem named, then confirm) and the export of the
register in the same columns, linked from the sites' list.

Between the preview and the confirmation the upload is kept on the server, in a folder
named by its SHA-256 (IMPORT_UPLOAD_DIR), and the session holds only that hash: the
confirmation names it, and imports exactly the files the curator previewed, never a
copy sent back by the browser. The import runs as the curator, through the workflow:
it publishes nothing, and what changes the published record waits for an editor."""

import hashlib
import re
import shutil
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template import engines
from django.template.response import TemplateResponse
from django.urls import path

from heritage.imports import loading, reading, writing
from heritage.imports.tables import TABLES

IMPORT_PERMISSIONS = ["heritage.add_site", "heritage.add_sitename", "reports.add_source",
                      "heritage.add_damageevent", "reports.add_citation"]  # fmt: skip
EXPORT_PERMISSIONS = ["heritage.view_site", "heritage.view_sitename", "reports.view_source",
                      "heritage.view_damageevent", "reports.view_citation"]  # fmt: skip
SESSION_KEY = "import_records"
# An upload never confirmed is removed after this long.
KEPT_SECONDS = 24 * 3600
# Changes listed per table on the preview; the rest are counted.
LISTED = 200

# The sites' list with links to the two pages among its object tools. A template of its
# own, made here, so that the list keeps Django's and only gains the links.
LIST_WITH_LINKS = """{% extends "admin/change_list.html" %}
{% block object-tools-items %}{{ block.super }}
{% if may_import %}<li><a href="{% url 'admin:heritage_import_records' %}">Import records</a></li>{% endif %}
{% if may_export %}<li><a href="{% url 'admin:heritage_export_records' %}?format=xlsx">Export records (XLSX)</a></li>{% endif %}
{% endblock %}"""  # noqa: E501


def may_import(user):
    return user.is_active and user.is_staff and user.has_perms(IMPORT_PERMISSIONS)


def may_export(user):
    return user.is_active and user.is_staff and user.has_perms(EXPORT_PERMISSIONS)


def upload_dir():
    configured = getattr(settings, "IMPORT_UPLOAD_DIR", "")
    return Path(configured or Path(tempfile.gettempdir()) / "heritage-imports")


class SpreadsheetAdmin:
    """For a ModelAdmin (the sites'): import/ and export/ pages, linked from its list."""

    _list_template = None

    @property
    def change_list_template(self):
        if SpreadsheetAdmin._list_template is None:
            SpreadsheetAdmin._list_template = engines["django"].from_string(LIST_WITH_LINKS)
        return SpreadsheetAdmin._list_template

    def changelist_view(self, request, extra_context=None):
        links = {"may_import": may_import(request.user), "may_export": may_export(request.user)}
        return super().changelist_view(request, links | (extra_context or {}))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("import/", view(self.import_view), name="heritage_import_records"),
            path("export/", view(self.export_view), name="heritage_export_records"),
            *super().get_urls(),
        ]

    def import_view(self, request):
        if not may_import(request.user):
            raise PermissionDenied
        if request.method == "GET":
            return self._import_page(request)
        if request.method != "POST":
            return HttpResponseNotAllowed(["GET", "POST"])
        if "confirm" in request.POST:
            return self._confirm(request)
        uploads = request.FILES.getlist("files")
        if not uploads:
            return self._import_page(request, problems=["Choose a file to import first."])
        names = [_safe_name(upload.name) for upload in uploads]
        if len(set(names)) < len(names):
            twice = sorted({name for name in names if names.count(name) > 1})
            return self._import_page(
                request, problems=[f"Two files are named {', '.join(twice)}: one per table."]
            )
        total = sum(upload.size for upload in uploads)
        if total > reading.limit("IMPORT_MAX_BYTES"):
            problem = reading.too_large(", ".join(names), total)
            return self._import_page(request, problems=[problem])
        digest = _keep(uploads)
        request.session[SESSION_KEY] = digest
        try:
            report = _run(digest, request.user, dry_run=True)
        except reading.ImportRefused as error:
            _discard(digest)
            return self._import_page(request, problems=error.problems)
        if not report.changes:
            _discard(digest)  # nothing to confirm
        return self._import_page(request, report=report, digest=digest)

    def _confirm(self, request):
        digest = request.POST.get("upload", "")
        if not digest or digest != request.session.get(SESSION_KEY):
            return self._import_page(
                request,
                problems=[
                    "This preview is not the one this session uploaded, or it was "
                    "imported already: upload the file again."
                ],  # fmt: skip
            )
        del request.session[SESSION_KEY]
        try:
            report = _run(digest, request.user, dry_run=False)
        except reading.ImportRefused as error:
            return self._import_page(request, problems=error.problems)
        finally:
            _discard(digest)
        text = f"Imported {', '.join(report.files)}: {report.summary()}."
        if report.proposals:
            text += " What changes the published record waits in the review queue."
        self.message_user(request, text, messages.SUCCESS)
        return redirect("admin:heritage_import_records")

    def _import_page(self, request, report=None, digest="", problems=()):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import records",
            "tables": TABLES.values(),
            "report": report,
            "sections": _sections(report) if report else [],
            "digest": digest,
            "problems": problems,
            "limits": {
                "rows": f"{reading.limit('IMPORT_MAX_ROWS'):,}",
                "bytes": reading.size_text(reading.limit("IMPORT_MAX_BYTES")),
            },
            "may_export": may_export(request.user),
        }
        return TemplateResponse(request, "admin/heritage/import_records.html", context)

    def export_view(self, request):
        if not may_export(request.user):
            raise PermissionDenied
        kind = request.GET.get("format", "xlsx")
        if kind not in ("xlsx", "zip"):
            kind = "xlsx"
        stream = tempfile.TemporaryFile()  # noqa: SIM115 (FileResponse closes it)
        if kind == "xlsx":
            writing.write_workbook(stream)
        else:
            writing.write_zip(stream)
        stream.seek(0)
        name = f"heritage-register-{time.strftime('%Y-%m-%d')}.{kind}"
        return FileResponse(stream, as_attachment=True, filename=name)


def _sections(report):
    """Per table with rows to add or change: its name, and each kind of change as
    (what, the changes listed, how many more)."""
    sections = []
    for name, new, changed, _ in report.tables():
        if new or changed:
            kinds = [(what, rows[:LISTED], max(len(rows) - LISTED, 0))
                     for what, rows in (("new", new), ("changed", changed))]  # fmt: skip
            sections.append((name, kinds))
    return sections


def _safe_name(name):
    name = Path(name.replace("\\", "/")).name
    return re.sub(r"[^\w.-]", "_", name)[-100:] or "upload"


def _keep(uploads):
    """Keep the uploaded files under their SHA-256, for the confirmation: the hash."""
    _forget_old()
    digest = hashlib.sha256()
    for upload in sorted(uploads, key=lambda u: _safe_name(u.name)):
        content = hashlib.sha256()
        for chunk in upload.chunks():
            content.update(chunk)
        digest.update(_safe_name(upload.name).encode() + b"\0" + content.digest())
    digest = digest.hexdigest()
    folder = upload_dir() / digest
    if not folder.exists():
        upload_dir().mkdir(parents=True, exist_ok=True, mode=0o700)
        partial = upload_dir() / f".{digest}.{time.monotonic_ns()}"
        partial.mkdir(parents=True, mode=0o700)
        for upload in uploads:
            with open(partial / _safe_name(upload.name), "wb") as kept:
                for chunk in upload.chunks():
                    kept.write(chunk)
        partial.rename(folder)
    return digest


def _run(digest, user, dry_run):
    if not re.fullmatch(r"[0-9a-f]{64}", digest):
        raise reading.ImportRefused(["This upload is not kept any more: upload it again."])
    folder = upload_dir() / digest
    paths = sorted(folder.iterdir()) if folder.is_dir() else []
    if not paths:
        raise reading.ImportRefused(["This upload is not kept any more: upload it again."])
    if _digest(paths) != digest:
        raise reading.ImportRefused(["The kept upload has changed since: upload it again."])
    return loading.run(reading.read_paths(paths), user, dry_run=dry_run)


def _digest(paths):
    digest = hashlib.sha256()
    for kept in sorted(paths, key=lambda p: p.name):
        content = hashlib.sha256()
        with open(kept, "rb") as stream:
            for chunk in iter(lambda s=stream: s.read(1 << 20), b""):
                content.update(chunk)
        digest.update(kept.name.encode() + b"\0" + content.digest())
    return digest.hexdigest()


def _discard(digest):
    if re.fullmatch(r"[0-9a-f]{64}", digest):
        shutil.rmtree(upload_dir() / digest, ignore_errors=True)


def _forget_old():
    folder = upload_dir()
    if not folder.is_dir():
        return
    for kept in folder.iterdir():
        try:
            if time.time() - kept.stat().st_mtime > KEPT_SECONDS:
                shutil.rmtree(kept, ignore_errors=True)
        except OSError:
            continue
