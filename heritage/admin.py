import datetime
import re

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models.functions import ExtractYear
from django.http import HttpResponseNotAllowed
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html
from simple_history.admin import SimpleHistoryAdmin

from heritage.dates import EARLIEST, LATEST
from heritage.models import (
    GRADE_EXPLANATIONS,
    Actor,
    DamageEvent,
    Site,
    SiteImage,
    SiteName,
    State,
    related_count,
)
from reports.admin import CitationInline, NulSafeChangeList


class SiteNameInline(admin.TabularInline):
    model = SiteName
    extra = 1

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "name":
            # Arabic names are typed right to left; the browser picks the direction.
            field.widget.attrs["dir"] = "auto"
        return field


class SiteImageInline(admin.StackedInline):
    model = SiteImage
    extra = 0
    fields = ["thumbnail", "image", "caption", ("credit", "licence", "taken")]
    readonly_fields = ["thumbnail"]

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
class SiteAdmin(NulSafeChangeList, SimpleHistoryAdmin):
    list_display = ["name", "kind", "parent", "latitude", "longitude", "event_count"]
    list_filter = ["kind", "location_precision"]
    list_select_related = ["parent"]
    search_fields = ["name", "slug", "names__name", "description"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]
    inlines = [SiteNameInline, SiteImageInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "kind", "parent", "description", "built"]}),
        ("Location", {"fields": [("latitude", "longitude"), "location_precision"]}),
        ("Identifiers", {"fields": ["unesco_ref", "wikidata", "pleiades"]}),
    ]

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
class ActorAdmin(NulSafeChangeList, SimpleHistoryAdmin):
    list_display = ["name"]
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


@admin.register(DamageEvent)
class DamageEventAdmin(NulSafeChangeList, SimpleHistoryAdmin):
    list_display = [
        "site",
        "summary",
        "date",
        "level",
        "grade",
        "conflict",
        "state",
        "citation_count",
    ]
    list_display_links = ["site", "summary"]
    list_filter = ["state", "level", "cause", "grade", "kind", "has_conflict", YearFilter]
    search_fields = ["site__name", "site__names__name", "summary", "description"]
    autocomplete_fields = ["site", "actor"]
    readonly_fields = ["grade_explained", "has_conflict", "created", "updated"]
    inlines = [CitationInline]
    actions = ["send_to_review", "publish", "return_to_draft"]
    fieldsets = [
        (None, {"fields": ["site", "kind", "summary", "date", "state"]}),
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
        ("Record", {"fields": ["created", "updated"], "classes": ["collapse"]}),
    ]

    class Media:
        css = {"all": ["heritage/admin.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).for_admin_list()

    @admin.display(description="sources", ordering="has_conflict")
    def conflict(self, event):
        # Shown only when it matters: a mark on every agreeing row would drown the few.
        if event.has_conflict:
            return format_html('<span class="disagree">{}</span>', "disagree")
        return ""

    @admin.display(description="citations", ordering="citation_count")
    def citation_count(self, event):
        return event.citation_count

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
        return request.user.has_perm("heritage.publish_damageevent")

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.editable_by(request.user))

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "state" and not self.has_publish_permission(request):
            kwargs["choices"] = [
                (State.DRAFT, State.DRAFT.label),
                (State.REVIEW, State.REVIEW.label),
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("deleted/", view(self.deleted_view), name="heritage_damageevent_deleted"),
            path(
                "deleted/<int:pk>/restore/",
                view(self.restore_view),
                name="heritage_damageevent_restore",
            ),
            *super().get_urls(),
        ]

    def deleted_view(self, request):
        """Deleted events, each with a button that brings it back."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Deleted events",
            "records": DamageEvent.deleted(),
            "may_publish": self.has_publish_permission(request),
        }
        return TemplateResponse(request, "admin/heritage/damageevent/deleted.html", context)

    def restore_view(self, request, pk):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_add_permission(request):
            raise PermissionDenied
        try:
            event, lost = DamageEvent.restore(pk, may_publish=self.has_publish_permission(request))
        except ValidationError as error:
            self.message_user(request, f"Not restored: {error.messages[0]}", messages.ERROR)
            return redirect("admin:heritage_damageevent_deleted")
        self.log_addition(request, event, "Restored after deletion.")
        text = f"Restored “{event}” with {event.citations.count()} citation(s)"
        text += f", as a {event.get_state_display().lower()}." if event.state else "."
        if lost:
            text += f" {len(lost)} citation(s) could not come back: their source was deleted."
        self.message_user(request, text, messages.WARNING if lost else messages.SUCCESS)
        return redirect("admin:heritage_damageevent_change", event.pk)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # The revert form has no citations inline, so the publish rule is checked here.
        if request.method == "POST" and request.POST.get("state") == State.PUBLISHED:
            event = self.get_object(request, unquote(object_id))
            problem = event.publication_problem() if event else None
            if problem:
                self.message_user(request, f"Not restored: {problem}", messages.ERROR)
                return redirect(request.path)
        return super().history_form_view(request, object_id, version_id, extra_context)

    @admin.action(description="Send the selected drafts for review")
    def send_to_review(self, request, queryset):
        updated = 0
        for event in queryset.filter(state=State.DRAFT):
            event.state = State.REVIEW
            event.save()
            updated += 1
        self.message_user(request, f"{updated} event(s) sent for review.", messages.SUCCESS)

    @admin.action(description="Publish the selected events", permissions=["publish"])
    def publish(self, request, queryset):
        published, refused = 0, []
        for event in queryset.exclude(state=State.PUBLISHED).select_related("site"):
            problem = event.publication_problem()
            if problem:
                refused.append(str(event))
                continue
            event.publish()
            published += 1
        if published:
            self.message_user(request, f"{published} event(s) published.", messages.SUCCESS)
        if refused:
            self.message_user(
                request,
                "Not published, because no citation supports them yet: "
                + "; ".join(refused)
                + ". Add a supporting citation to each, then publish.",
                messages.ERROR,
            )

    @admin.action(description="Return the selected events to draft", permissions=["publish"])
    def return_to_draft(self, request, queryset):
        count = 0
        for event in queryset.exclude(state=State.DRAFT):
            event.state = State.DRAFT
            event.save()
            count += 1
        self.message_user(request, f"{count} event(s) returned to draft.", messages.SUCCESS)
