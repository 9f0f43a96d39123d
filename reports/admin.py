import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.forms.models import BaseInlineFormSet
from django.http import Http404
from django.shortcuts import redirect
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from heritage import workflow
from heritage.admin_workflow import (
    NulSafeChangeListMixin,
    RecordAdmin,
    RecordForm,
    VersionedInlineForm,
)
from heritage.models import DamageEvent, Site, State
from reports.evidence import store
from reports.evidence.formats import CaptureError
from reports.models import (
    Capture,
    CaptureMethod,
    Citation,
    Claim,
    ClaimStatus,
    CustodyEntry,
    Source,
    Stance,
    article_fields,
    site_gazetteer,
)


class CitationInlineFormSet(BaseInlineFormSet):
    request = None  # set by CitationInline.get_formset

    def clean(self):
        super().clean()
        event = self.instance
        if event.state != State.PUBLISHED or any(self.errors):
            return
        touched = self.deleted_forms or any(
            form.has_changed() for form in self.forms if form not in self.deleted_forms
        )
        if touched and not (self.request and self.request.POST.get("change_reason", "").strip()):
            raise ValidationError(
                "Say why you change the evidence of a published event (the reason field "
                "below): your change waits for an editor's review with it.",
                code="reason",
            )
        # The evidence the event will have: its stored citations, as the submitted forms
        # change them (a formset need not hold every citation).
        stances = dict(event.citations.values_list("pk", "stance"))
        for form in self.forms:
            if not form.cleaned_data:
                continue
            if form.cleaned_data.get("DELETE"):
                stances.pop(form.instance.pk, None)
            else:
                stances[form.instance.pk or id(form)] = form.cleaned_data.get("stance")
        stances = list(stances.values())
        problem = event.publication_problem(stances)
        if problem:
            raise ValidationError(problem, code="unsupported")


class CitationInlineForm(VersionedInlineForm):
    class Meta:
        model = Citation
        fields = "__all__"


class CitationInline(admin.StackedInline):
    model = Citation
    form = CitationInlineForm
    formset = CitationInlineFormSet
    extra = 1
    autocomplete_fields = ["source"]

    def get_formset(self, request, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        return type(formset.__name__, (formset,), {"request": request})

    def get_queryset(self, request):
        # Each inline's title names its event, site and source.
        return super().get_queryset(request).select_related("event__site", "source")

    fields = [
        ("source", "stance", "basis"),
        "quote",
        ("locator", "certainty"),
        ("claimed_level", "claimed_date"),
        "note",
        "opened_version",
    ]


class ClaimReviewForm(forms.ModelForm):
    site = forms.ModelChoiceField(
        queryset=Site.objects.all(),
        to_field_name="slug",
        required=False,
        widget=forms.TextInput(attrs={"size": 24}),
        help_text="The site's slug, as in its address.",
    )
    event = forms.TypedChoiceField(
        label="Evidence for",
        required=False,
        coerce=int,
        empty_value=None,
        help_text="A new draft unless you choose one of the site's events. On a published "
        "event the citation waits for an editor's review.",
    )

    class Meta:
        model = Claim
        fields = ["site", "stance", "level", "date"]

    def __init__(self, *args, events=None, **kwargs):
        super().__init__(*args, **kwargs)
        # Shown and read back as the slug, not the id a ModelForm would put there.
        if self.instance.site_id:
            self.initial["site"] = self.instance.site.slug
        choices = [("", "A new draft event")]
        for event, overlaps in self.instance.candidate_events(events):
            note = "dates overlap" if overlaps else "other dates"
            choices.append((event.pk, f"{event.summary} · {event.date} · "
                                      f"{event.get_state_display().lower()} · {note}"))  # fmt: skip
        self.fields["event"].choices = choices
        self.fields["stance"].required = False  # left out, it stays as read

    def clean_stance(self):
        return self.cleaned_data.get("stance") or self.instance.stance


def marked_text(text, claims):
    """The source's text, escaped, with each claimed sentence in a <mark> that links to
    its review; sentences several claims share are marked once."""
    spans = {}
    for number, claim in enumerate(claims, start=1):
        spans.setdefault((claim.start, claim.end), []).append((number, claim))
    parts, position = [], 0
    for (start, end), found in sorted(spans.items()):
        if start < position:
            continue  # overlapping spans: the first one marks the text
        numbers = ", ".join(str(n) for n, _ in found)
        status = "proposed" if any(c.status == "proposed" for _, c in found) else found[0][1].status
        parts.append(conditional_escape(text[position:start]))
        parts.append(
            format_html(
                '<mark class="claim claim-{}" id="text-claim-{}" title="Claim {}">{}</mark>'
                '<sup><a href="#claim-{}">{}</a></sup>',
                status,
                found[0][1].pk,
                numbers,
                text[start:end],
                found[0][1].pk,
                numbers,
            )
        )
        position = end
    parts.append(conditional_escape(text[position:]))
    return mark_safe("".join(str(part) for part in parts))


class SourceForm(RecordForm):
    """A source, or an article brought in: its text pasted (HTML is reduced to its words)
    or a file uploaded (a page, a text, a PDF report, a WARC or WACZ web archive, an
    image). Either way what came in is kept as a capture (reports.evidence.store) and
    read as `manage.py ingest` reads it (Source.objects.bring_in): what it says of itself
    (title, date, publisher, authors, language, URL) fills the fields left empty, and an
    article already held is refused."""

    article_file = forms.FileField(
        required=False,
        label="Source file",
        help_text="An .html, .txt or .md article, a PDF report, a WARC or WACZ web archive, "
        "or an image. Kept as received, with its SHA-256; its text replaces the text below.",
    )

    class Meta:
        model = Source
        fields = [
            "kind", "title", "publisher", "authors", "published", "language", "url",
            "archived_url", "accessed", "note", "text",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.capture = None  # (bytes, file name, method, what was extracted) to keep
        if "title" in self.fields and not self.instance.pk:
            self.fields["title"].required = False  # the article's own, when it has one
            self.fields["title"].help_text = "Left empty, the article's headline."

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("article_file"), cleaned.get("text", "")
        adding = not self.instance.pk
        # A saved page pasted in; an e-mail address or "a < b" in a text is not one.
        pasted_html = bool(re.search(r"<(?:html|body|p|div|article)\b", text[:2000], re.I))
        if not upload and (
            not text.strip()
            or (not adding and ("text" not in self.changed_data or not pasted_html))
        ):
            # Editing a source leaves its text as written unless a file or a page is
            # brought in: reading it again would reflow it under the quotes.
            if adding and not cleaned.get("title"):
                self.add_error("title", "Give the source a title.")
            return cleaned
        try:
            if upload:
                store.check_size(upload.size)  # before reading it into memory
                data, name, method = upload.read(), upload.name, CaptureMethod.UPLOAD
            else:
                data, name, method = text.encode(), "", CaptureMethod.PASTE
            extracted = store.read(data, name)
        except CaptureError as error:
            self.add_error("article_file" if upload else "text", str(error))
            return cleaned
        if not adding and Source.objects.public().filter(pk=self.instance.pk).exists():
            # Taken at once, a capture would show on the public page and supersede the
            # one the published quotes are read in, before anyone reviewed the change.
            self.add_error(
                "article_file" if upload else "text",
                "Published events cite this source: a new file would change the evidence "
                "they rest on before an editor reviews it. Bring it in as a new source (a "
                "later version of the article is one) and cite that.",
            )
            return cleaned
        self.capture = (data, name, method, extracted)
        article = extracted.article
        if article is None:  # an image: kept, with no text to read
            if adding and not cleaned.get("title"):
                self.add_error("title", "Give the source a title: an image has none.")
            return cleaned
        cleaned["text"] = article.text
        if not adding:  # a new text for a source kept: its other fields stay as written
            Source.objects.refuse_held(article, exclude=self.instance.pk)
            return cleaned
        for field, value in article_fields(article, cleaned).items():
            if value and not cleaned.get(field):
                self.errors.pop(field, None)  # "required", now the article gave it
            cleaned[field] = value
        if not cleaned.get("title"):
            self.add_error("title", "Give the source a title: the article has no headline.")
        Source.objects.refuse_held(article, exclude=self.instance.pk)
        return cleaned


@admin.register(Source)
class SourceAdmin(RecordAdmin):
    kept_by_workflow = True
    form = SourceForm
    list_display = [
        "title", "publisher", "kind", "published", "language", "event_count", "claims_to_review",
    ]  # fmt: skip
    list_filter = ["kind", "language"]
    search_fields = ["title", "publisher", "url", "authors"]
    readonly_fields = ["citing_events", "claims", "captures_held"]
    actions = ["read_for_claims"]
    fieldsets = [
        (None, {"fields": ["kind", "title", "publisher", "authors", "published", "language"]}),
        ("Where to find it", {"fields": ["url", "archived_url", "accessed", "note"]}),
        ("Text", {"fields": ["article_file", "text", "claims", "captures_held"]}),
        ("Cited by", {"fields": ["citing_events"]}),
    ]

    def get_urls(self):
        review = self.admin_site.admin_view(self.review_claims)
        return [
            path("<path:object_id>/claims/", review, name="reports_source_claims"),
            *super().get_urls(),
        ]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if obj.pk and getattr(form, "capture", None):
            data, name, method, extracted = form.capture
            capture = store.take(
                obj, data, method=method, name=name, user=request.user, extracted=extracted
            )
            self.message_user(
                request, f"Kept as received: {capture.media_type}, SHA-256 {capture.sha256}."
            )
        if obj.pk and obj.text and not change:
            found = obj.propose_claims()
            if found:
                self.message_user(
                    request,
                    format_html(
                        '{} claim(s) read in the text: <a href="{}">review them</a>.',
                        len(found),
                        reverse("admin:reports_source_claims", args=[obj.pk]),
                    ),
                    messages.INFO,
                )
            for notice in obj.intake_notices():
                self.message_user(request, notice, messages.WARNING)

    @admin.action(description="Read the selected sources' texts for damage claims again")
    def read_for_claims(self, request, queryset):
        # Unreviewed claims are read afresh; reviewed ones stay (Source.reread_claims).
        gazetteer = site_gazetteer()
        read = found = 0
        for source in queryset.exclude(text=""):
            found += len(source.reread_claims(gazetteer))
            read += 1
        self.message_user(request, f"{read} source(s) read: {found} claim(s) to review.")

    @admin.display(description="kept as received")
    def captures_held(self, source):
        """Its captures, newest first: shown, never edited or removed (a field, not an
        inline, so that saving the source posts nothing of them)."""
        if not source.pk:
            return "Kept when the source is saved."
        captures = list(
            source.captures.only(
                "captured", "media_type", "size", "sha256", "method", "captured_by", "supersedes"
            ).order_by("-captured", "-pk")
        )
        if not captures:
            return "Nothing yet: a file or a pasted page is kept as received."
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            (
                (
                    f"{c.captured:%Y-%m-%d %H:%M} UTC" + (" (current)" if n == 0 else ""),
                    c.media_type,
                    filesizeformat(c.size),
                    c.get_method_display(),
                    c.captured_by or "—",
                    c.sha256,
                )
                for n, c in enumerate(captures)
            ),
        )
        return format_html(
            "<table><thead><tr><th>Captured</th><th>Kind</th><th>Size</th><th>How</th>"
            "<th>By</th><th>SHA-256</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="claims to review")
    def claims_to_review(self, source):
        return source.proposed_claims or ""

    @admin.display(description="claims read in the text")
    def claims(self, source):
        if not source.pk:
            return "Read when the source is saved."
        counts = dict(source.claims.values_list("status").annotate(n=models.Count("pk")).order_by())
        url = reverse("admin:reports_source_claims", args=[source.pk])
        return format_html(
            '{} to review, {} accepted, {} rejected. <a href="{}">Review the claims</a>',
            counts.get(ClaimStatus.PROPOSED, 0),
            counts.get(ClaimStatus.ACCEPTED, 0),
            counts.get(ClaimStatus.REJECTED, 0),
            url,
        )

    def review_claims(self, request, object_id):
        """One page per source: its text with each claim marked, and for each claim a
        form to correct its site, level or date, then accept or reject it."""
        source = self.get_object(request, unquote(object_id))
        if source is None:
            raise Http404("No such source.")
        if not (
            self.has_change_permission(request, source)
            and request.user.has_perm("reports.add_citation")
        ):
            raise PermissionDenied
        claims = list(source.claims.select_related("site", "citation__event"))
        # Every claimed site's events in one query, not one per claim.
        events = {}
        sites = {claim.site_id for claim in claims if claim.site_id}
        for event in DamageEvent.objects.filter(site__in=sites).order_by("-date_upper", "id"):
            events.setdefault(event.site_id, []).append(event)
        forms_by_claim = {
            claim.pk: ClaimReviewForm(
                instance=claim, prefix=f"claim-{claim.pk}", events=events.get(claim.site_id, [])
            )
            for claim in claims
        }
        if request.method == "POST":
            claim = next((c for c in claims if str(c.pk) == request.POST.get("claim")), None)
            if claim is None or claim.status != ClaimStatus.PROPOSED:
                self.message_user(request, "That claim has already been reviewed.", messages.ERROR)
                return redirect(request.path)
            form = ClaimReviewForm(
                request.POST,
                instance=claim,
                prefix=f"claim-{claim.pk}",
                events=events.get(claim.site_id, []),
            )
            forms_by_claim[claim.pk] = form
            if form.is_valid():
                try:
                    with transaction.atomic():
                        form.save()
                        reason = request.POST.get("reason", "")
                        if "accept" in request.POST:
                            event = form.cleaned_data.get("event")
                            chosen = DamageEvent.objects.get(pk=event) if event else None
                            citation = claim.accept(request.user, event=chosen, reason=reason)
                            done = format_html(
                                'Accepted: cited for <a href="{}">{}</a>{}.',
                                reverse(
                                    "admin:heritage_damageevent_change", args=[citation.event_id]
                                ),
                                citation.event,
                                ""
                                if citation.approved or citation.event.state != State.PUBLISHED
                                else ", where it waits for an editor's review",
                            )
                        elif "reject" in request.POST:
                            claim.reject(request.user, reason)
                            done = "Rejected."
                        else:
                            raise ValidationError("Choose Accept or Reject.")
                except ValidationError as error:
                    form.add_error(None, error.messages)
                else:
                    self.message_user(request, done, messages.SUCCESS)
                    return redirect(f"{request.path}#claim-{claim.pk}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "source": source,
            "title": f"Claims read in “{source.title}”",
            "marked_text": marked_text(source.text, claims),
            "notices": source.intake_notices(),
            "reviews": [(claim, forms_by_claim[claim.pk]) for claim in claims],
        }
        return TemplateResponse(request, "admin/reports/source/review_claims.html", context)

    def get_queryset(self, request):
        return super().get_queryset(request).with_event_count().with_claims_to_review()

    def has_change_permission(self, request, obj=None):
        # A source's kind and publisher set the grades of the events citing it.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or workflow.change_refusal(request.user, obj) is None)

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


class CitationForm(RecordForm):
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
class CitationAdmin(RecordAdmin):
    kept_by_workflow = True
    form = CitationForm
    list_display = ["event", "source", "stance", "basis", "claimed_level", "claimed_date"]
    list_filter = ["stance", "basis", "source__kind"]
    list_select_related = ["event__site", "source"]
    search_fields = ["quote", "source__title", "event__site__name", "event__summary"]
    autocomplete_fields = ["event", "source"]

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or workflow.change_refusal(request.user, obj) is None)

    def has_delete_permission(self, request, obj=None):
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or workflow.change_refusal(request.user, obj) is None)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "event" and not workflow.is_editor(request.user):
            # An event in review is the editors' until they return it.
            kwargs["queryset"] = DamageEvent.objects.exclude(state=State.REVIEW)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def delete_view(self, request, object_id, extra_context=None):
        citation = self.get_object(request, unquote(object_id))
        problem = citation.withdrawal_problem() if citation else None
        if problem:
            self.message_user(request, problem, messages.ERROR)
            return redirect(reverse("admin:reports_citation_change", args=[citation.pk]))
        return super().delete_view(request, object_id, extra_context)


class ViewOnly(NulSafeChangeListMixin, admin.ModelAdmin):
    """Evidence as received and its log: to read, never to change."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Capture)
class CaptureAdmin(ViewOnly):
    list_display = ["captured", "source", "media_type", "size", "sha256", "method", "captured_by"]
    list_filter = ["media_type", "method"]
    list_select_related = ["source"]
    search_fields = ["sha256", "source__title", "url", "original_name"]
    exclude = ["text", "pages", "file"]
    readonly_fields = ["stored_as"]

    @admin.display(description="stored as")
    def stored_as(self, capture):
        return capture.file.name


@admin.register(CustodyEntry)
class CustodyEntryAdmin(ViewOnly):
    list_display = ["position", "at", "action", "actor", "capture", "hash"]
    list_filter = ["action"]
    list_select_related = ["capture"]
    search_fields = ["hash", "actor", "capture__sha256"]
