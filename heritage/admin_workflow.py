"""What every curators' admin page shares: versions that refuse a stale form, a reason for
each change, saves through heritage.workflow, and history pages that obey the same rules
as the change page."""

from django import forms
from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import ActionLocation, IncorrectLookupParameters
from django.contrib.admin.utils import flatten_fieldsets, unquote
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from simple_history.admin import SimpleHistoryAdmin

from heritage import workflow
from heritage.models import PendingChange, StaleRecord


class NulSafeChangeListMixin:
    """ModelAdmin mixin. PostgreSQL cannot compare text with a NUL character, so a list
    filter or search holding one (?kind=%00) is an error there when the list is read, a
    500. Such a request is answered as the admin answers any filter it cannot apply:
    with the whole list (?e=1)."""

    def get_changelist_instance(self, request):
        query = request.GET.lists()
        if any("\x00" in key + "".join(values) for key, values in query):
            raise IncorrectLookupParameters
        return super().get_changelist_instance(request)


def is_kept(model):
    """Whether heritage.workflow keeps this model: events, citations, sources, and the
    reviewed records (sites, their names and pictures, actors)."""
    from heritage.models import DamageEvent, Reviewed
    from reports.models import Citation, Source

    return model in (DamageEvent, Citation, Source) or issubclass(model, Reviewed)


def changes_since(record, version):
    """What changed in `record` after `version`, by whom and when: the other person's
    change, shown beside a refused stale form."""
    history = record.history.order_by("-history_date", "-history_id")
    then = history.filter(version=version).first()
    now = history.first()
    if then is None or now is None or then.pk == now.pk:
        return []
    delta = now.diff_against(then)
    return [
        (change.field, change.old, change.new, now.history_user, now.history_date)
        for change in delta.changes
    ]


def stale_message(record, version):
    lines = changes_since(record, version)
    who = lines[0][3] if lines else None
    text = (
        f"{who or 'Someone'} changed this record since you opened it"
        + (f" ({lines[0][4]:%d %b %Y %H:%M} UTC)" if lines else "")
        + ". Your change was not saved: reload the page to see theirs, then make yours again."
    )
    if lines:
        text += " Their change: " + "; ".join(
            f"{f}: “{old}” → “{new}”" for f, old, new, *_ in lines
        )
    return text


class RecordForm(forms.ModelForm):
    """A ModelForm that carries the version it was opened at, and a reason for the
    change (kept in the history; required where the workflow says so)."""

    opened_version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    change_reason = forms.CharField(
        label="Reason for this change",
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text="Kept in the record's history. Required for a change to the published record.",
    )
    request = None  # set by RecordAdmin.get_form

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial.setdefault("opened_version", getattr(self.instance, "version", None))

    def clean(self):
        cleaned = super().clean()
        instance = self.instance
        if not instance.pk or instance._state.adding:
            return cleaned
        live = type(instance)._default_manager.filter(pk=instance.pk).first()
        version = cleaned.get("opened_version")
        if live is not None and hasattr(live, "version"):
            if version is None:
                raise forms.ValidationError(
                    "This form does not say which version of the record it was opened at: "
                    "reload the page and make your change again.",
                    code="stale",
                )
            if live.version != version:
                raise forms.ValidationError(stale_message(live, version), code="stale")
        reason = (cleaned.get("change_reason") or "").strip()
        if live is not None and not reason and self.has_changed() and workflow.needs_reason(live):
            self.add_error(
                "change_reason",
                "Say why you change it: the public sees this record, and your change "
                "waits for an editor's review with your reason.",
            )
        return cleaned

    def has_changed(self):
        # The reason and the version alone are not a change to the record.
        return bool(set(self.changed_data) - {"change_reason", "opened_version"})


class VersionedInlineForm(RecordForm):
    """A record on its parent's page (a citation on its event's, a name on its site's):
    the parent's form carries the reason."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.pop("change_reason")

    def clean(self):
        cleaned = forms.ModelForm.clean(self)
        version, instance = cleaned.get("opened_version"), self.instance
        if instance.pk and not instance._state.adding:
            live = type(instance)._default_manager.filter(pk=instance.pk).first()
            if live is not None and live.version != version:
                raise forms.ValidationError(
                    "Someone else changed this since you opened the page: reload it.",
                    code="stale",
                )
        return cleaned


class RecordAdmin(NulSafeChangeListMixin, SimpleHistoryAdmin):
    """An admin whose saves, deletions and reverts go through heritage.workflow (events,
    citations, sources and the reviewed reference records) or at least through the
    record's version, each with its reason."""

    form = RecordForm
    # Whether the workflow keeps this admin's model (is_kept()).
    kept_by_workflow = False
    object_history_form_template = "admin/record_history_form.html"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"request": request})

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not self.has_change_permission(request, obj):
            return fieldsets  # read-only: nothing to give a reason for
        named = set(flatten_fieldsets(fieldsets))
        extra = [name for name in ("change_reason", "opened_version") if name not in named]
        return [*fieldsets, ("Change", {"fields": extra})] if extra else fieldsets

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except (workflow.Refused, StaleRecord) as error:
            # Refused inside the save (a race the form's checks could not see): the
            # transaction is rolled back, and the page says why.
            self.message_user(request, "Not saved: " + " ".join(error.messages), messages.ERROR)
            return redirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        reason = form.cleaned_data.get("change_reason", "")
        version = form.cleaned_data.get("opened_version")
        if self.kept_by_workflow:
            outcome = workflow.save(obj, request.user, reason, version)
            request._workflow_outcome = outcome
            if outcome.pending:
                self.message_user(request, outcome.describe(), messages.WARNING)
            return
        if version is not None:
            obj.version = version
        obj._change_reason = reason.strip()
        obj.save()

    def save_formset(self, request, form, formset, change):
        if not is_kept(formset.model):
            return super().save_formset(request, form, formset, change)
        # The records of an inline (an event's citations) go through the workflow one by
        # one, with the reason given on the page and the version each form was opened at.
        reason = form.cleaned_data.get("change_reason", "")
        versions = {
            f.instance.pk: f.cleaned_data.get("opened_version")
            for f in formset.forms
            if f.instance.pk and getattr(f, "cleaned_data", None)
        }
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            outcome = workflow.delete(obj, request.user, reason, version=versions.get(obj.pk))
            if outcome.pending:
                self.message_user(
                    request, f"Deleting “{obj}”: {outcome.describe()}", messages.WARNING
                )
        for obj in instances:
            outcome = workflow.save(obj, request.user, reason, version=versions.get(obj.pk))
            if outcome.pending:
                self.message_user(request, f"“{obj}”: {outcome.describe()}", messages.WARNING)
        formset.save_m2m()

    def get_actions(self, request, action_location=ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location)
        if self.kept_by_workflow:
            # Deleting a record the workflow keeps goes one at a time through the delete
            # page, which gives the reason and makes a proposal where one is needed; the
            # bulk action would delete around it.
            actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj):
        if not self.kept_by_workflow:
            return super().delete_model(request, obj)
        outcome = workflow.delete(obj, request.user, request.POST.get("change_reason", ""))
        if outcome.pending:
            self.message_user(request, outcome.describe(), messages.WARNING)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except workflow.Refused as error:
            self.message_user(request, "Not deleted: " + " ".join(error.messages), messages.ERROR)
            return redirect(
                reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist")
            )

    def response_change(self, request, obj):
        outcome = getattr(request, "_workflow_outcome", None)
        if outcome is not None and outcome.pending:
            # The live record is unchanged: say so rather than "changed successfully".
            return redirect(request.path)
        return super().response_change(request, obj)

    def history_view(self, request, object_id, extra_context=None):
        # A record that is not there, or an id no record could have ("abc", a NUL), is
        # not found: django-simple-history would look it up as given and fail.
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such record.")
        return super().history_view(request, object_id, extra_context)

    # History: a user reverts only what they may change now, checked against the live
    # record on GET and on POST; reverting restores content, never the state, and goes
    # through the same save as the change page.

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        live = self.get_object(request, unquote(object_id))
        if live is None:
            raise Http404("No such record: it may have been deleted.")
        if not self.has_view_or_change_permission(request, live):
            raise PermissionDenied
        may_change = self.has_change_permission(request, live)
        if request.method == "POST" and not may_change:
            raise PermissionDenied("You may not change this record now, so you may not revert it.")
        historical = get_object_or_404(
            self.model.history.model, **{self.opts.pk.attname: live.pk, "history_id": version_id}
        )
        obj = historical.instance
        obj._state.adding = False
        for name in workflow.KEPT:
            # Content comes back; the state, the authors and derived values stay as now.
            if hasattr(live, name):
                setattr(obj, name, getattr(live, name))
        form_class = self.get_form(request, obj, change=True)
        if request.method == "POST":
            form = form_class(request.POST, request.FILES, instance=obj)
            if form.is_valid():
                try:
                    with transaction.atomic():
                        new_object = self.save_form(request, form, change=True)
                        self.save_model(request, new_object, form, change=True)
                except (workflow.Refused, StaleRecord) as error:
                    form.add_error(None, error.messages)
                else:
                    self.log_change(request, new_object, f"Reverted to version {version_id}.")
                    outcome = getattr(request, "_workflow_outcome", None)
                    if outcome is None or not outcome.pending:
                        self.message_user(request, "Reverted.", messages.SUCCESS)
                    return redirect(
                        reverse(
                            f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                            args=[live.pk],
                        )
                    )
        else:
            form = form_class(instance=obj, initial={"opened_version": live.version})
        fieldsets = self.get_fieldsets(request, live)
        admin_form = helpers.AdminForm(
            form,
            fieldsets,
            {},
            self.get_readonly_fields(request, obj) if may_change else flatten_fieldsets(fieldsets),
            model_admin=self,
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"Revert {live}" if may_change else f"View {live}",
            "adminform": admin_form,
            "object_id": object_id,
            "original": live,
            "is_popup": False,
            "media": self.media + admin_form.media,
            "errors": helpers.AdminErrorList(form, []),
            "app_label": self.opts.app_label,
            "original_opts": self.opts,
            "opts": self.opts,
            "changelist_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"
            ),
            "change_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[live.pk]
            ),
            "history_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_history", args=[live.pk]
            ),
            "revert_disabled": not may_change,
            "may_change": may_change,
            "version_id": version_id,
            "add": False,
            "change": True,
            "has_add_permission": self.has_add_permission(request),
            "has_view_permission": True,
            "has_change_permission": may_change,
            "has_delete_permission": False,
            "has_editable_inline_admin_formsets": False,
            "has_file_field": True,
            "has_absolute_url": False,
            "form_url": "",
            "save_as": False,
            "save_on_top": False,
            **(extra_context or {}),
        }
        return TemplateResponse(request, self.object_history_form_template, context)


def pending_table(proposal, target):
    """A proposal as a small table: each field, its public value, its proposed value."""
    if proposal.action == PendingChange.Action.ADD:
        return format_html("<p>A new citation, not yet public: {}</p>", target)
    if proposal.action == PendingChange.Action.DELETE:
        return format_html("<p>Delete it: {}</p>", target)
    rows = []
    for name, value in proposal.proposed_values().items():
        field = target._meta.get_field(name)
        public = getattr(target, field.attname)
        rows.append((field.verbose_name, public if public not in (None, "") else "—", value))
    return format_html(
        '<table class="pending"><thead><tr><th scope="col">Field</th><th scope="col">'
        'Public now</th><th scope="col">Proposed</th></tr></thead><tbody>{}</tbody></table>',
        format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
    )
