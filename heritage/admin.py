import datetime
import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.functions import ExtractYear
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from heritage import workflow
from heritage.admin_workflow import RecordAdmin, VersionedInlineForm, pending_table
from heritage.dates import EARLIEST, LATEST
from heritage.imports.admin import SpreadsheetAdmin
from heritage.models import (
    GRADE_EXPLANATIONS,
    Actor,
    DamageEvent,
    PendingChange,
    Site,
    SiteImage,
    SiteName,
    State,
    related_count,
)
from reports.admin import CitationInline
from reports.evidence.admin import BundleAdmin, bundle_response
from reports.evidence.bundles import BundleError, site_events
from reports.evidence.signing import BadKey
from reports.models import Citation, Claim, ClaimStatus


class SiteNameForm(VersionedInlineForm):
    class Meta:
        model = SiteName
        fields = ["name", "language"]


class SiteImageForm(VersionedInlineForm):
    class Meta:
        model = SiteImage
        fields = ["image", "caption", "credit", "licence", "taken"]


class SiteNameInline(admin.TabularInline):
    model = SiteName
    form = SiteNameForm
    fields = ["name", "language", "approved", "opened_version"]
    readonly_fields = ["approved"]
    extra = 1

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "name":
            # Arabic names are typed right to left; the browser picks the direction.
            field.widget.attrs["dir"] = "auto"
        return field


class SiteImageInline(admin.StackedInline):
    model = SiteImage
    form = SiteImageForm
    extra = 0
    fields = ["thumbnail", "image", "caption", ("credit", "licence", "taken"), "approved",
              "opened_version"]  # fmt: skip
    readonly_fields = ["thumbnail", "approved"]

    @admin.display(description="")
    def thumbnail(self, image):
        if not image.pk or not image.image:
            return "—"
        return format_html(
            '<img src="{}" alt="{}" width="{}" height="{}">',
            image.image.url,
            image.caption,
            *image.thumbnail_size(),
        )


@admin.register(Site)
class SiteAdmin(SpreadsheetAdmin, BundleAdmin, RecordAdmin):
    kept_by_workflow = True
    bundle_scope = "site"
    list_display = ["name", "kind", "parent", "latitude", "longitude", "event_count", "approved"]
    list_filter = ["approved", "kind", "location_precision", "sensitive"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug", "names__name", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    inlines = [SiteNameInline, SiteImageInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "parent", "description", "built"]}),
        ("Location", {"fields": [("latitude", "longitude"), "location_precision", "sensitive"]}),
        ("Identifiers", {"fields": ["unesco_ref", "wikidata", "pleiades"]}),
        ("Evidence", {"fields": ["evidence_bundle"]}),
    ]
    readonly_fields = ["evidence_bundle"]

    def bundle_events(self, site):
        return site_events(site)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(event_count=related_count(DamageEvent.objects.all(), "site"))
        )

    @admin.display(description="events", ordering="event_count")
    def event_count(self, site):
        return site.event_count


@admin.register(Actor)
class ActorAdmin(RecordAdmin):
    kept_by_workflow = True
    list_display = ["name", "approved"]
    search_fields = ["name", "description"]


class YearFilter(admin.SimpleListFilter):
    """Events that may have happened in a year: their date interval overlaps it."""

    title = "year"
    parameter_name = "year"

    def lookups(self, request, model_admin):
        # The years in which events begin or end: one typo in a date (1015 for 2015)
        # adds one stray year, not a thousand.
        events = DamageEvent.objects.order_by()
        starts = events.exclude(date_lower=EARLIEST).annotate(year=ExtractYear("date_lower"))
        ends = events.exclude(date_upper=LATEST).annotate(year=ExtractYear("date_upper"))
        years = (
            starts.values_list("year", flat=True)
            .union(ends.values_list("year", flat=True))
            .order_by("-year")
        )
        return [(str(year), str(year)) for year in years]

    def queryset(self, request, queryset):
        if not re.fullmatch(r"[0-9]{1,4}", self.value() or ""):
            return queryset
        year = int(self.value())
        if year < 1:
            return queryset.none()
        return queryset.overlapping(datetime.date(year, 1, 1), datetime.date(year, 12, 31))


class StepActionForm(helpers.ActionForm):
    """The event list's actions take a reason, as every step does."""

    reason = forms.CharField(
        required=False,
        label="Reason",
        widget=forms.TextInput(attrs={"size": 40, "placeholder": "Why (kept in the history)"}),
    )


class StepForm(forms.Form):
    step = forms.ChoiceField(choices=[(s.name, s.label) for s in workflow.TRANSITIONS])
    reason = forms.CharField(max_length=500)
    version = forms.IntegerField()


def take_steps(request, events, name, reason):
    """Take the step `name` for each event in a transaction of its own: those allowed
    proceed, and each refused one is named with why. Each at the version the list showed
    (DamageEventAdmin.opened), so that a step is never taken on an event changed since.
    Returns (done, refused)."""
    done, refused = [], []
    step = workflow.BY_NAME[name]
    for event in events:
        try:
            version = ids([request.POST.get(f"version-{event.pk}", "")])
            if not version:
                raise workflow.Refused(
                    "The list did not say which version you saw: reload it.", "stale"
                )
            workflow.transition(event, step.target, request.user, reason, version[0], name)
        except workflow.Refused as error:
            refused.append(f"“{event}”: {' '.join(error.messages)}")
        else:
            done.append(event)
    return done, refused


def report_steps(admin_view, request, done, refused, what):
    if done:
        admin_view.message_user(request, f"{len(done)} event(s) {what}.", messages.SUCCESS)
    if refused:
        admin_view.message_user(
            request,
            f"Not {what}, each for the reason given (the others went ahead): " + "; ".join(refused),
            messages.ERROR,
        )


@admin.register(DamageEvent)
class DamageEventAdmin(BundleAdmin, RecordAdmin):
    kept_by_workflow = True
    bundle_scope = "event"
    change_form_template = "admin/heritage/damageevent/change_form.html"
    list_display = [
        "site",
        "summary",
        "date",
        "level",
        "grade",
        "conflict",
        "state",
        "citation_count",
        "pending",
        "opened",
    ]
    list_display_links = ["site", "summary"]
    list_filter = ["state", "level", "cause", "grade", "kind", "has_conflict", YearFilter]
    search_fields = ["site__name", "site__names__name", "summary", "description"]
    autocomplete_fields = ["site", "actor"]
    readonly_fields = [
        "state",
        "authorship",
        "grade_explained",
        "has_conflict",
        "created",
        "updated",
        "evidence_bundle",
    ]
    inlines = [CitationInline]
    action_form = StepActionForm
    actions = ["send_to_review", "publish", "return_to_draft", "withdraw", "export_bundle"]
    fieldsets = [
        (None, {"fields": ["site", "kind", "summary", "date", "state", "authorship"]}),
        (
            "Damage",
            {"fields": [("level", "extent"), ("cause", "actor"), "condition_after", "description"]},
        ),
        (
            "Verification",
            {
                "fields": [
                    "grade_explained",
                    "has_conflict",
                    "grade_override",
                    "grade_override_reason",
                ]
            },
        ),
        ("Evidence", {"fields": ["evidence_bundle"]}),
        ("Record", {"fields": ["created", "updated"], "classes": ["collapse"]}),
    ]

    class Media:
        css = {"all": ["heritage/admin.css"]}

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .for_admin_list()
            .annotate(
                pending_count=Count(
                    "proposals", filter=Q(proposals__status="pending"), distinct=True
                )
            )
        )

    @admin.display(description="sources", ordering="has_conflict")
    def conflict(self, event):
        # Shown only when it matters: a mark on every agreeing row would drown the few.
        if event.has_conflict:
            return format_html('<span class="disagree">{}</span>', "disagree")
        return ""

    @admin.display(description="citations", ordering="citation_count")
    def citation_count(self, event):
        return event.citation_count

    @admin.display(description="to review")
    def pending(self, event):
        return event.pending_count or ""

    @admin.display(description="")
    def opened(self, event):
        # The version each row shows, sent with the list's actions.
        return format_html(
            '<input type="hidden" name="version-{}" value="{}">', event.pk, event.version
        )

    @admin.display(description="who")
    def authorship(self, event):
        if not event.pk:
            return "You draft it; it is saved as a draft."
        parts = []
        if event.drafted_by:
            parts.append(f"drafted by {event.drafted_by}")
        if event.changed_by and event.state != State.PUBLISHED:
            parts.append(f"last changed by {event.changed_by}")
        if event.submitted_by:
            parts.append(
                f"sent for review by {event.submitted_by} on {event.submitted_at:%d %b %Y}"
            )
        if event.published_by and event.state == State.PUBLISHED:
            parts.append(f"published by {event.published_by} on {event.published_at:%d %b %Y}")
        return "; ".join(parts).capitalize() or "—"

    @admin.display(description="grade")
    def grade_explained(self, event):
        if not event.pk:
            return "Derived from the citations once the event is saved."
        text = f"{event.get_grade_display()}: {GRADE_EXPLANATIONS[event.grade]}"
        if event.grade_override:
            evidence = event.evidence_grade()
            text += f" (set by a curator; the citations alone make it {evidence.label.lower()})"
        return text

    def has_publish_permission(self, request):
        return workflow.is_editor(request.user)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or workflow.change_refusal(request.user, obj) is None)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.state != State.PUBLISHED)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # What the workflow offers this user here, and what waits for review.
            proposals = list(
                obj.proposals.filter(status=PendingChange.Status.PENDING).select_related(
                    "proposed_by", "content_type"
                )
            )
            targets = _targets(proposals) if proposals else {}
            context |= {
                "steps": workflow.steps_for(request.user, obj),
                "step_url": reverse("admin:heritage_damageevent_step", args=[obj.pk]),
                "preview_url": reverse("heritage:preview-site", args=[obj.site.slug])
                + f"#event-{obj.pk}",
                "pending": [
                    (p, pending_table(p, targets[p.pk]), workflow.review_refusal(request.user, p))
                    for p in proposals
                    if p.pk in targets
                ],
                "queue_url": reverse("admin:heritage_review_queue"),
            }
        return super().render_change_form(request, context, add, change, form_url, obj)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("review/", view(self.review_queue_view), name="heritage_review_queue"),
            path("<int:pk>/step/", view(self.step_view), name="heritage_damageevent_step"),
            path("deleted/", view(self.deleted_view), name="heritage_damageevent_deleted"),
            path(
                "deleted/<int:pk>/restore/",
                view(self.restore_view),
                name="heritage_damageevent_restore",
            ),
            *super().get_urls(),
        ]

    def bundle_events(self, event):
        return DamageEvent.objects.filter(pk=event.pk)

    @admin.action(description="Download the evidence bundle of the selected events")
    def export_bundle(self, request, queryset):
        try:
            return bundle_response(
                request,
                DamageEvent.objects.filter(pk__in=queryset.values("pk")).order_by("pk"),
                {"events": request.GET.urlencode() or "selected"},
                "events-evidence",
            )
        except (BundleError, BadKey) as error:
            self.message_user(request, f"No bundle written: {error}", messages.ERROR)
            return None

    def step_view(self, request, pk):
        """One step of the workflow for one event, from its change page."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        event = get_object_or_404(DamageEvent, pk=pk)
        if not self.has_view_permission(request, event):
            raise PermissionDenied
        form = StepForm(request.POST)
        change_url = reverse("admin:heritage_damageevent_change", args=[pk])
        if not form.is_valid():
            problems = "; ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items())
            self.message_user(request, f"Nothing done: {problems}", messages.ERROR)
            return redirect(change_url)
        step = workflow.BY_NAME[form.cleaned_data["step"]]
        try:
            event = workflow.transition(
                event,
                step.target,
                request.user,
                form.cleaned_data["reason"],
                version=form.cleaned_data["version"],
                step=step.name,
            )
        except workflow.Refused as error:
            self.message_user(
                request, f"Not {step.done}: {' '.join(error.messages)}", messages.ERROR
            )
        else:
            self.log_change(request, event, f"{step.label}: {form.cleaned_data['reason']}")
            self.message_user(request, f"“{event}” {step.done}.", messages.SUCCESS)
        return redirect(change_url)

    def review_queue_view(self, request):
        """Everything waiting for an editor, oldest first: events in review, proposed
        changes to the published record, and claims read in articles. Approve or reject
        one or many at once, with one reason; each goes through the workflow alone."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            return self.decide_queue(request)
        supporting = Citation.objects.filter(event=OuterRef("pk"), stance="supports")
        events = (
            DamageEvent.objects.filter(state=State.REVIEW)
            .select_related("site", "submitted_by", "drafted_by")
            .annotate(citation_count=Count("citations"), supported=Exists(supporting))
            .order_by("submitted_at", "id")
        )
        proposals = list(
            PendingChange.objects.filter(status=PendingChange.Status.PENDING).select_related(
                "content_type", "proposed_by", "event__site"
            )
        )
        targets = _targets(proposals)
        claims = (
            Claim.objects.filter(status=ClaimStatus.PROPOSED)
            .select_related("source", "site")
            .order_by("created", "id")
        )
        publish = workflow.BY_NAME["publish"]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Review queue",
            "events": [
                (e, workflow.refusal(request.user, publish, e, ["supports"] * e.supported))
                for e in events
            ],
            "proposals": [
                (
                    p,
                    targets.get(p.pk),
                    pending_table(p, targets[p.pk]) if p.pk in targets else "",
                    workflow.review_refusal(request.user, p),
                )
                for p in proposals
            ],  # fmt: skip
            "claims": claims,
            "is_editor": workflow.is_editor(request.user),
        }
        return TemplateResponse(request, "admin/heritage/review_queue.html", context)

    def decide_queue(self, request):
        approve = "approve" in request.POST
        if not approve and "reject" not in request.POST:
            self.message_user(request, "Choose Approve or Reject.", messages.ERROR)
            return redirect("admin:heritage_review_queue")
        reason = request.POST.get("reason", "").strip()
        chosen = {name: ids(request.POST.getlist(name)) for name in ("event", "proposal", "claim")}
        if not any(chosen.values()):
            self.message_user(request, "Select something to decide first.", messages.ERROR)
            return redirect("admin:heritage_review_queue")

        def seen(kind, pk):
            """The version of the record the editor saw beside it on the queue page."""
            found = ids([request.POST.get(f"version-{kind}-{pk}", "")])
            if not found:
                raise workflow.Refused(
                    "The page did not say which version you saw: reload the queue.", "stale"
                )
            return found[0]

        done, refused = 0, []
        # Proposals first: a new site or actor approved with the event that needs it.
        for proposal in PendingChange.objects.filter(pk__in=chosen["proposal"]):
            try:
                if approve:
                    version = seen("proposal", proposal.pk)
                    workflow.approve(proposal, request.user, reason, version=version)
                else:
                    workflow.reject(proposal, request.user, reason)
                done += 1
            except workflow.Refused as error:
                refused.append(f"proposal {proposal.pk} ({proposal}): {' '.join(error.messages)}")
        for event in DamageEvent.objects.filter(pk__in=chosen["event"]).select_related("site"):
            name = "publish" if approve else "return"
            try:
                version = seen("event", event.pk)
                workflow.transition(event, None, request.user, reason, version=version, step=name)
                done += 1
            except workflow.Refused as error:
                refused.append(f"“{event}”: {' '.join(error.messages)}")
        for claim in Claim.objects.filter(pk__in=chosen["claim"]).select_related("source", "site"):
            try:
                if approve:
                    claim.accept(request.user, reason=reason)
                else:
                    claim.reject(request.user, reason)
                done += 1
            except ValidationError as error:
                refused.append(f"claim {claim.pk} ({claim}): {' '.join(error.messages)}")
        verb = "approved" if approve else "rejected"
        if done:
            self.message_user(request, f"{done} item(s) {verb}.", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                f"Not {verb}, each for the reason given (the others went ahead): "
                + "; ".join(refused),
                messages.ERROR,
            )
        return redirect("admin:heritage_review_queue")

    def deleted_view(self, request):
        """Deleted events, each with a button that brings it back."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Deleted events",
            "records": DamageEvent.deleted(),
        }
        return TemplateResponse(request, "admin/heritage/damageevent/deleted.html", context)

    def restore_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        try:
            event, lost = workflow.restore(pk, request.user, request.POST.get("reason", ""))
        except workflow.Refused as error:
            self.message_user(request, f"Not restored: {error.messages[0]}", messages.ERROR)
            return redirect("admin:heritage_damageevent_deleted")
        self.log_addition(request, event, "Restored after deletion.")
        text = f"Restored “{event}” with {event.citations.count()} citation(s), as a draft."
        if lost:
            text += f" {len(lost)} citation(s) could not come back: their source was deleted."
        self.message_user(request, text, messages.WARNING if lost else messages.SUCCESS)
        return redirect("admin:heritage_damageevent_change", event.pk)

    def _step_action(self, request, queryset, name):
        reason = request.POST.get("reason", "")
        done, refused = take_steps(request, queryset.select_related("site"), name, reason)
        report_steps(self, request, done, refused, workflow.BY_NAME[name].done)

    @admin.action(description="Send the selected drafts for review")
    def send_to_review(self, request, queryset):
        self._step_action(request, queryset, "submit")

    @admin.action(description="Publish the selected events", permissions=["publish"])
    def publish(self, request, queryset):
        self._step_action(request, queryset, "publish")

    @admin.action(description="Return the selected events to draft")
    def return_to_draft(self, request, queryset):
        self._step_action(request, queryset, "return")

    @admin.action(
        description="Withdraw the selected events from publication", permissions=["publish"]
    )
    def withdraw(self, request, queryset):
        self._step_action(request, queryset, "withdraw")


def ids(values):
    """Record ids from form values: plain ASCII digits a database can hold; the rest
    ("²", "٣", a number past any id) are no id at all."""
    return [int(v) for v in values if v and v.isascii() and v.isdigit() and int(v) < 2**63]


def _targets(proposals):
    """The record each proposal changes, by proposal id, in one query per kind of record."""
    wanted = {}
    for proposal in proposals:
        wanted.setdefault(proposal.content_type.model_class(), set()).add(proposal.object_id)
    found = {}
    for model, pks in wanted.items():
        rows = model._default_manager.filter(pk__in=pks)
        if model is Citation:
            rows = rows.select_related("event__site", "source")
        found[model] = {row.pk: row for row in rows}
    return {
        p.pk: found[p.content_type.model_class()][p.object_id]
        for p in proposals
        if p.object_id in found[p.content_type.model_class()]
    }
