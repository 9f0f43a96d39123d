"""Evidence bundles from the admin: a link on an event's and a site's page, and an
action on the list of events (the list as filtered)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from reports.evidence.bundles import BundleError, spooled
from reports.evidence.signing import BadKey


def bundle_response(request, events, scope, name):
    output = spooled(events, scope, request.user.get_username())
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    return FileResponse(
        output, as_attachment=True, filename=f"{name}-{stamp}.zip", content_type="application/zip"
    )


class BundleAdmin:
    """For a ModelAdmin of events or sites: `<id>/bundle/` downloads the bundle of the
    record (`bundle_events(obj)` says which events that is); `evidence_bundle` is the
    read-only field linking to it."""

    bundle_scope = ""

    def bundle_events(self, obj):
        raise NotImplementedError

    def get_urls(self):
        opts = self.model._meta
        view = self.admin_site.admin_view(self.bundle_view)
        name = f"{opts.app_label}_{opts.model_name}_bundle"
        return [path("<int:pk>/bundle/", view, name=name), *super().get_urls()]

    def bundle_view(self, request, pk):
        # A POST: an export is logged in the custody log, and a GET can be made by any
        # page the curator visits.
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        obj = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, obj):
            raise PermissionDenied
        scope = {self.bundle_scope: getattr(obj, "slug", obj.pk)}
        try:
            return bundle_response(
                request, self.bundle_events(obj), scope, f"{self.bundle_scope}-{pk}-evidence"
            )
        except (BundleError, BadKey) as error:
            self.message_user(request, f"No bundle written: {error}", messages.ERROR)
            opts = self.model._meta
            return redirect(f"admin:{opts.app_label}_{opts.model_name}_change", pk)

    @admin.display(description="evidence bundle")
    def evidence_bundle(self, obj):
        if not obj or not obj.pk:
            return "Once saved."
        opts = self.model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_bundle", args=[obj.pk])
        # A button of the change form sent elsewhere (formaction): a form inside the
        # change form is not allowed, and the form's CSRF token goes with it.
        return format_html(
            '<button type="submit" class="button evidence-bundle" formaction="{}" '
            'formmethod="post" formnovalidate>Download the evidence bundle</button> '
            "(a zip: the records, their citations and history, the captured sources, their "
            "custody log, signed with the register's key when one is configured).",
            url,
        )
