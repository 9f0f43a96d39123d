from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import ActionLocation
from django.contrib.admin.utils import unquote
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from heritage.models import DamageEvent, State
from reports.models import Citation, Source, Stance


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

    def get_queryset(self, request):
        # Each inline's title names its event, site and source.
        return super().get_queryset(request).select_related("event__site", "source")

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

    def has_change_permission(self, request, obj=None):
        # A source's kind and publisher set the grades of the events citing it.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.editable_by(request.user))

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


class CitationForm(forms.ModelForm):
    def clean(self):
        cleaned = super().clean()
        citation = self.instance
        withdrawn = cleaned.get("stance") != Stance.SUPPORTS or (
            cleaned.get("event") and cleaned["event"].pk != citation.event_id
        )
        if citation.pk and withdrawn:
            problem = citation.withdrawal_problem()
            if problem:
                raise ValidationError(problem, code="last_support")
        return cleaned


@admin.register(Citation)
class CitationAdmin(SimpleHistoryAdmin):
    form = CitationForm
    list_display = ["event", "source", "stance", "basis", "claimed_level", "claimed_date"]
    list_filter = ["stance", "basis", "source__kind"]
    list_select_related = ["event__site", "source"]
    search_fields = ["quote", "source__title", "event__site__name", "event__summary"]
    autocomplete_fields = ["event", "source"]

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        # One at a time, so that each deletion passes the check in delete_view.
        actions = super().get_actions(request, action_location)
        actions.pop("delete_selected", None)
        return actions

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or obj.editable_by(request.user))

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or obj.editable_by(request.user))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "event" and not request.user.has_perm("heritage.publish_damageevent"):
            kwargs["queryset"] = DamageEvent.objects.filter(state=State.DRAFT)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def delete_view(self, request, object_id, extra_context=None):
        citation = self.get_object(request, unquote(object_id))
        problem = citation.withdrawal_problem() if citation else None
        if problem:
            self.message_user(request, problem, messages.ERROR)
            return redirect(reverse("admin:reports_citation_change", args=[citation.pk]))
        return super().delete_view(request, object_id, extra_context)
