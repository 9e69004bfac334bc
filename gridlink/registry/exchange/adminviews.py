"""The admin's "Import" and "Export" pages, added to a ModelAdmin by `ExchangeAdmin`.

Import: upload a file → the page shows the dry-run report (counts, and row / column /
message for every problem) → "Apply" writes it (or, when some rows have errors and the
user ticks the option, only the valid rows) and "Cancel" drops it. Between the two steps the
upload waits in `DATA_DIR/import-uploads/` (see `uploads`), named by a random token that
only the uploading session knows; every request to an import page first deletes the uploads
older than an hour.

Export: choose CSV or XLSX (and state a purpose for personal data) → the file downloads,
masked as on screen; exports of personal data are written to the access log.

Both pages call the same services as the command line: `registry_import`, `registry_export`.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridlink.core.audit import client_ip
from gridlink.core.errors import DomainError
from gridlink.registry.exchange.exporter import CONTENT_TYPES, registry_export
from gridlink.registry.exchange.importer import ImportReport, registry_import
from gridlink.registry.exchange.kinds import KindSpec, kind_spec
from gridlink.registry.exchange.readers import MAX_FILE_BYTES, file_format, too_big_error
from gridlink.registry.exchange.uploads import (
    TOKEN,
    purge_stale_uploads,
    upload_discard,
    upload_path,
    upload_store,
)

if TYPE_CHECKING:
    ModelAdminBase = admin.ModelAdmin[Any]
else:
    # ModelAdmin is generic only in the type stubs, not at run time.
    ModelAdminBase = admin.ModelAdmin

SESSION_KEY = "gridlink_pending_imports"
REPORT_ROWS_SHOWN = 1000


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "A .csv (UTF-8 or GB18030) or .xlsx file whose first row is the header."
        ),
    )

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        try:
            file_format(upload.name or "")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(too_big_error(upload.size).message)
        return upload


class ImportApplyForm(forms.Form):
    token = forms.RegexField(regex=TOKEN, widget=forms.HiddenInput)
    apply_valid = forms.BooleanField(
        required=False,
        label=gettext_lazy("Write the valid rows and leave out the rows with errors"),
    )


class ExportForm(forms.Form):
    fmt = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=[("xlsx", "XLSX (Excel)"), ("csv", "CSV (UTF-8)")],
        widget=forms.RadioSelect,
        initial="xlsx",
    )
    purpose = forms.CharField(
        label=gettext_lazy("Purpose"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("A case number or a task. Required for personal data; logged."),
    )


class ExchangeAdmin(ModelAdminBase):
    """A ModelAdmin with Import and Export pages for one kind of `gridlink.registry.exchange`."""

    exchange_kind: ClassVar[str]
    change_list_template = "admin/registry/exchange/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name=f"{name}_import"),
            path("export/", self.admin_site.admin_view(self.export_view), name=f"{name}_export"),
            *super().get_urls(),
        ]

    # --- import ---------------------------------------------------------------------------

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        purge_stale_uploads()
        spec = kind_spec(self.exchange_kind)
        upload_form = ImportUploadForm()
        report: ImportReport | None = None
        apply_form: ImportApplyForm | None = None
        if request.method == "POST" and "token" in request.POST:
            apply_form = ImportApplyForm(request.POST)
            if apply_form.is_valid() and "cancel" in request.POST:
                self._drop_pending(request, apply_form.cleaned_data["token"])
                messages.info(request, _("The upload was discarded; nothing was written."))
                return HttpResponseRedirect(request.path)
            if apply_form.is_valid():
                token = apply_form.cleaned_data["token"]
                report = self._run_pending(
                    request, token, apply_valid=apply_form.cleaned_data["apply_valid"]
                )
                if report is not None and report.applied:
                    self._drop_pending(request, token)
                    messages.success(request, report.summary())
                    return HttpResponseRedirect(self._changelist_url())
                if report is None:
                    apply_form = None
        elif request.method == "POST":
            upload_form = ImportUploadForm(request.POST, request.FILES)
            if upload_form.is_valid():
                token = self._keep_upload(request, upload_form.cleaned_data["file"])
                report = self._run_pending(request, token, apply_valid=False, dry_run=True)
                apply_form = ImportApplyForm(initial={"token": token}) if report else None
                upload_form = ImportUploadForm()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import %(kind)s") % {"kind": self.opts.verbose_name_plural},
            "spec": spec,
            "required_columns": [c for c in spec.columns if c in spec.required],
            "optional_columns": [c for c in spec.columns if c not in spec.required],
            "upload_form": upload_form,
            "apply_form": apply_form,
            "report": report,
            "errors_shown": report.errors[:REPORT_ROWS_SHOWN] if report else [],
            "errors_hidden": (
                max(len(report.errors) - REPORT_ROWS_SHOWN, 0) + report.errors_not_listed
                if report
                else 0
            ),
        }
        return TemplateResponse(request, "admin/registry/exchange/import.html", context)

    def _keep_upload(self, request: HttpRequest, upload: Any) -> str:
        token = upload_store(upload.chunks())
        pending = request.session.get(SESSION_KEY, {})
        pending[token] = {"kind": self.exchange_kind, "name": Path(upload.name).name}
        request.session[SESSION_KEY] = pending
        return token

    def _run_pending(
        self, request: HttpRequest, token: str, *, apply_valid: bool, dry_run: bool = False
    ) -> ImportReport | None:
        entry = request.session.get(SESSION_KEY, {}).get(token)
        stored = upload_path(token)
        if (
            not entry
            or entry.get("kind") != self.exchange_kind
            or stored is None
            or not stored.is_file()
        ):
            messages.error(request, _("That upload has expired. Upload the file again."))
            return None
        try:
            return registry_import(
                kind=self.exchange_kind,
                data=stored.read_bytes(),
                file_name=entry["name"],
                actor=request.user,
                dry_run=dry_run,
                apply_valid=apply_valid,
            )
        except DomainError as exc:
            messages.error(request, exc.message)
            self._drop_pending(request, token)
            return None

    def _drop_pending(self, request: HttpRequest, token: str) -> None:
        """Forget the upload and delete its file (only this session's own uploads)."""
        pending = request.session.get(SESSION_KEY, {})
        if pending.pop(token, None) is not None:
            upload_discard(token)
        request.session[SESSION_KEY] = pending

    def _changelist_url(self) -> str:
        return reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")

    # --- export ---------------------------------------------------------------------------

    def export_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        spec = kind_spec(self.exchange_kind)
        form = ExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            response = self._export(request, spec, form)
            if response is not None:
                return response
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Export %(kind)s") % {"kind": self.opts.verbose_name_plural},
            "spec": spec,
            "form": form,
        }
        return TemplateResponse(request, "admin/registry/exchange/export.html", context)

    def _export(
        self, request: HttpRequest, spec: KindSpec, form: ExportForm
    ) -> HttpResponse | None:
        fmt = form.cleaned_data["fmt"]
        buffer = io.BytesIO()
        try:
            result = registry_export(
                kind=spec.name,
                actor=request.user,
                fmt=fmt,
                out=buffer,
                purpose=form.cleaned_data["purpose"],
                ip=client_ip(request.META),
            )
        except DomainError as exc:
            form.add_error("purpose" if exc.field == "purpose" else None, exc.message)
            return None
        response = HttpResponse(buffer.getvalue(), content_type=CONTENT_TYPES[fmt])
        stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
        response["Content-Disposition"] = f'attachment; filename="{spec.name}-{stamp}.{fmt}"'
        response["X-Gridlink-Rows"] = str(result.rows)
        return response
