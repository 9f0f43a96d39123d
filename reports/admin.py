from django.contrib import admin
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from heritage.models import State
from reports.models import Citation, Source


class CitationInlineFormSet(BaseInlineFormSet):
    def clean(self):
        super().clean()
        event = self.instance
        if event.state != State.PUBLISHED or any(self.errors):
            return
        stances = [
            form.cleaned_data.get("stance")
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        problem = event.publication_problem(stances)
        if problem:
            raise ValidationError(problem, code="unsupported")


class CitationInline(admin.StackedInline):
    model = Citation
    formset = CitationInlineFormSet
    extra = 1
    autocomplete_fields = ["source"]
    fields = [
        ("source", "stance", "basis"),
        "quote",
        ("locator", "certainty"),
        ("claimed_level", "claimed_date"),
        "note",
    ]


@admin.register(Source)
class SourceAdmin(SimpleHistoryAdmin):
    list_display = ["title", "publisher", "kind", "published", "language", "event_count"]
    list_filter = ["kind", "language"]
    search_fields = ["title", "publisher", "url", "authors"]
    readonly_fields = ["citing_events"]
    fieldsets = [
        (None, {"fields": ["kind", "title", "publisher", "authors", "published", "language"]}),
        ("Where to find it", {"fields": ["url", "archived_url", "accessed", "note"]}),
        ("Text", {"fields": ["text"], "classes": ["collapse"]}),
        ("Cited by", {"fields": ["citing_events"]}),
    ]

    def get_queryset(self, request):
        return super().get_queryset(request).with_event_count()

    @admin.display(description="events citing it", ordering="event_count")
    def event_count(self, source):
        return source.event_count

    @admin.display(description="events citing it")
    def citing_events(self, source):
        citations = source.citations.select_related("event__site").order_by(
            "event__date_lower", "event_id"
        )
        rows = [
            (
                reverse("admin:heritage_damageevent_change", args=[c.event_id]),
                c.event,
                c.get_stance_display().lower(),
            )
            for c in citations
        ]
        if not rows:
            return "No event cites this source yet."
        return format_html(
            "<ul>{}</ul>", format_html_join("", '<li><a href="{}">{}</a> ({})</li>', rows)
        )


@admin.register(Citation)
class CitationAdmin(SimpleHistoryAdmin):
    list_display = ["event", "source", "stance", "basis", "claimed_level", "claimed_date"]
    list_filter = ["stance", "basis", "source__kind"]
    list_select_related = ["event__site", "source"]
    search_fields = ["quote", "source__title", "event__site__name", "event__summary"]
    autocomplete_fields = ["event", "source"]
