"""The editorial workflow: the one place that says who may do what to the record.

An event is a draft, in review or published. Every path that changes an event's state
or anything the public sees (the admin's forms, actions and history pages, the API,
intake's accept, restoring a deleted event, management commands) calls this module; the
models refuse such a change made any other way (heritage.models.WorkflowBypass).

The rules, as README.md's "Roles" states them:

- Steps (TRANSITIONS): a curator or an editor sends a draft for review; an editor, or
  whoever sent it, returns it to draft; an editor publishes it (from review, or from
  draft when FOUR_EYES is off), if a citation supports it; an editor withdraws a
  published event to draft. Every step is given a reason.
- Four eyes (settings.FOUR_EYES, on by default): whoever drafted an event, or last
  changed its content or evidence, does not publish it; whoever proposed a change does
  not approve it.
- Content: drafts change freely; an event in review, and its evidence, only by an
  editor; a published event, its citations and the sources they cite change by a
  proposal (PendingChange) that an editor approves, with a reason. Until then the
  public sees the record as last reviewed.

Each step locks the event's row and checks its conditions again inside the transaction,
so that two people acting at once cannot both succeed where only one may.
"""

import dataclasses

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models.deletion import ProtectedError
from django.utils import timezone

from heritage.models import (
    CASCADE_WINDOW,
    LIST_CITATION_COLUMNS,
    DamageEvent,
    PendingChange,
    Site,
    State,
    through_workflow,
)


class Refused(ValidationError):
    """A step or change the workflow does not allow now; its message says why. `code`
    says what kind of refusal it is: "role" (not this user's to take), "condition"
    (the record does not meet it), "stale" (changed since it was read), "done" (already
    in that state), "reason" (a reason is required)."""


class Command:
    """A management command, acting for the register's maintainers: it may take any step
    a role may, under the same conditions (a supporting citation, a reason). It is not
    a person, so four eyes does not apply to it; history records its name."""

    is_authenticated = True
    is_active = True
    pk = None

    def __init__(self, name):
        self.name = name

    def has_perm(self, perm, obj=None):
        return True

    def __str__(self):
        return f"manage.py {self.name}"


def four_eyes():
    return settings.FOUR_EYES


def is_editor(user):
    return user.has_perm("heritage.publish_damageevent")


def is_curator(user):
    return user.has_perm("heritage.change_damageevent")


def _person(user):
    """The user to record as author: None for a command."""
    return user if getattr(user, "pk", None) else None


def _same(user, author_id):
    return author_id is not None and getattr(user, "pk", None) == author_id


def _require_reason(reason, what="this"):
    reason = (reason or "").strip()
    if not reason:
        raise Refused(f"Give a reason for {what}: it is kept in the record's history.", "reason")
    return reason


# Steps


@dataclasses.dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple
    target: str
    done: str  # what the event is once taken: "sent for review"


TRANSITIONS = (
    Transition("submit", "Send for review", (State.DRAFT,), State.REVIEW, "sent for review"),
    Transition("return", "Return to draft", (State.REVIEW,), State.DRAFT, "returned to draft"),
    Transition("publish", "Publish", (State.REVIEW, State.DRAFT), State.PUBLISHED, "published"),
    Transition(
        "withdraw",
        "Withdraw from publication",
        (State.PUBLISHED,),
        State.DRAFT,
        "withdrawn from publication",
    ),
)
BY_NAME = {step.name: step for step in TRANSITIONS}


def step_to(state, target):
    """The transition from `state` to `target`, or None."""
    return next((s for s in TRANSITIONS if state in s.sources and s.target == target), None)


def refusal(user, step, event, stances=None):
    """Why `user` may not take `step` on `event` as it is now, or None. `stances` are its
    citations' stances, where the caller has them (the queue reads them for every
    event at once)."""
    if event.state not in step.sources:
        if event.state == step.target and step.name != "withdraw":
            return f"This event is already {State(event.state).label.lower()}."
        return f"An event that is {State(event.state).label.lower()} cannot be {step.done}."
    if step.name == "submit" and not is_curator(user):
        return "Only a curator or an editor sends an event for review."
    if step.name == "return" and not (is_editor(user) or _same(user, event.submitted_by_id)):
        return "Only an editor, or whoever sent it for review, returns an event to draft."
    if step.name == "withdraw" and not is_editor(user):
        return "Only an editor withdraws a published event."
    if step.name == "publish":
        if not is_editor(user):
            return "Only an editor publishes an event."
        if four_eyes() and event.state == State.DRAFT and not isinstance(user, Command):
            return "Send it for review first: another editor publishes it from review."
        if four_eyes() and not isinstance(user, Command):
            if _same(user, event.drafted_by_id):
                return "You drafted this event: another editor must publish it (four eyes)."
            if _same(user, event.changed_by_id):
                return (
                    "You were the last to change this event or its evidence: another editor "
                    "must publish it (four eyes)."
                )
        return event.publication_problem(stances)
    return None


def steps_for(user, event):
    """Each step out of the event's state, with why `user` may not take it (or None)."""
    return [(s, refusal(user, s, event)) for s in TRANSITIONS if event.state in s.sources]


def _refusal_code(problem):
    return "done" if problem.startswith("This event is already") else "role"


def _lock_event(pk):
    try:
        return DamageEvent.objects.select_for_update().get(pk=pk)
    except DamageEvent.DoesNotExist:
        raise Refused("This event no longer exists.", "condition") from None


def _check_version(live, version):
    if version is not None and int(version) != live.version:
        raise Refused(
            f"“{live}” was changed by someone else since you opened it (version {version}, now "
            f"{live.version}). Reload it to see their change, then make yours again.",
            "stale",
        )


@transaction.atomic
def transition(event, target, user, reason, version=None, step=None):
    """Take the event to state `target` as `user`, with a reason (by the step named
    `step`, when the caller names one: "withdraw" is not "return"). Returns the event as
    stored. Refused (nothing changed) when the step is not allowed now."""
    live = _lock_event(event.pk)
    _check_version(live, version)
    if step is not None:
        step = BY_NAME[step]
        if live.state not in step.sources:
            problem = refusal(user, step, live)
            raise Refused(problem, "done" if live.state == step.target else "condition")
    else:
        step = step_to(live.state, target)
    if step is None:
        if live.state == target:
            raise Refused(f"This event is already {State(target).label.lower()}.", "done")
        raise Refused(
            f"An event that is {State(live.state).label.lower()} cannot become "
            f"{State(target).label.lower()}.",
            "condition",
        )
    problem = refusal(user, step, live)
    if problem:
        code = "condition" if step.name == "publish" and is_editor(user) else "role"
        raise Refused(problem, "done" if live.state == target else code)
    reason = _require_reason(reason, "this step")
    now = timezone.now()
    fields = {"state"}
    if step.name == "submit":
        live.submitted_by, live.submitted_at = _person(user), now
        fields |= {"submitted_by", "submitted_at"}
    if step.name == "publish":
        live.published_by, live.published_at = _person(user), now
        fields |= {"published_by", "published_at"}
        # Publishing reviews the evidence as it stands.
        live.citations.filter(approved=False).update(approved=True, updated=now)
    live.state = step.target
    _save(live, user, f"{step.label}: {reason}", fields)
    return live


def _save(record, user, reason, fields=None):
    record._change_reason = reason
    if _person(user):
        record._history_user = user
    with through_workflow():
        record.save(update_fields=fields)


# Content


@dataclasses.dataclass
class Outcome:
    """What became of a change: applied to the record, or a proposal waiting for review."""

    record: models.Model
    proposal: PendingChange | None = None
    changed: tuple = ()

    @property
    def pending(self):
        return self.proposal is not None and self.proposal.status == PendingChange.Status.PENDING

    def describe(self):
        if self.pending:
            return "Your change waits for an editor's review; the public record is unchanged."
        if self.proposal is not None:
            return "Applied and approved at once (four eyes is off)."
        return "Saved." if self.changed else "Nothing changed."


# Fields a user edits; the rest (state, authors, derived values) the register keeps.
KEPT = {"state", "drafted_by", "changed_by", "submitted_by", "submitted_at", "published_by",
        "published_at", "version", "approved", "grade", "has_conflict"}  # fmt: skip


def editable_fields(model):
    return [
        f
        for f in model._meta.concrete_fields
        if f.editable and not f.primary_key and f.name not in KEPT
    ]


def changes(record, live):
    """The editable fields whose value in `record` differs from `live`'s, by name."""
    return {
        f.name: f
        for f in editable_fields(type(record))
        if f.value_from_object(record) != f.value_from_object(live)
    }


def _lock(model, pk):
    try:
        return model._default_manager.select_for_update().get(pk=pk)
    except model.DoesNotExist:
        raise Refused(f"This {model._meta.verbose_name} no longer exists.", "condition") from None


def _citation_model():
    return DamageEvent._meta.get_field("citations").related_model


def _source_model():
    return _citation_model()._meta.get_field("source").related_model


def strictest(states):
    for state in (State.PUBLISHED, State.REVIEW, State.DRAFT):
        if state in states:
            return state
    return State.DRAFT


def _may_change(user, state, what):
    """Whether `user` changes `what` of an event in `state` directly (None), or why not."""
    if state == State.REVIEW and not is_editor(user):
        return f"{what} is in review: only an editor changes it now. Ask for it back in draft."
    if not is_curator(user):
        return "Only curators and editors change the record."
    return None


@transaction.atomic
def save(record, user, reason="", version=None):
    """Save a new or changed event, citation or source as `user`, by the rules above:
    applied at once where the user may, proposed for review where the public sees it.
    `version` is the record's version the user started from (a stale one is refused).
    Returns an Outcome; raises Refused."""
    citation, source = _citation_model(), _source_model()
    if isinstance(record, DamageEvent):
        return _save_event(record, user, reason, version)
    if isinstance(record, citation):
        return _save_citation(record, user, reason, version)
    if isinstance(record, source):
        return _save_source(record, user, reason, version)
    raise TypeError(f"The workflow does not keep {type(record).__name__}.")


def _save_event(event, user, reason, version):
    if event.pk is None or event._state.adding:
        if not user.has_perm("heritage.add_damageevent"):
            raise Refused("Only curators and editors add events.", "role")
        event.state = State.DRAFT
        event.drafted_by = event.changed_by = _person(user)
        _save(event, user, reason.strip() or "Drafted")
        return Outcome(event, changed=("created",))
    live = _lock_event(event.pk)
    _check_version(live, version if version is not None else event.version)
    if event.state != live.state:
        raise Refused("An event's state changes by a step (send for review, publish …).", "role")
    changed = changes(event, live)
    if not changed:
        return Outcome(live)
    if live.state == State.PUBLISHED:
        if not is_curator(user):
            raise Refused("Only curators and editors change the record.", "role")
        return _propose(live, PendingChange.Action.CHANGE, event, changed, user, reason, live)
    problem = _may_change(user, live.state, "This event")
    if problem:
        raise Refused(problem, "role")
    _apply(live, event, changed)
    live.changed_by = _person(user)
    _save(live, user, reason.strip(), {*changed, "changed_by"})
    return Outcome(live, changed=tuple(changed))


def _apply(live, record, changed):
    for field in changed.values():
        setattr(live, field.attname, field.value_from_object(record))


def _evidence_changed(events, user):
    """Whoever changes a draft's evidence is, for four eyes, its last changer."""
    DamageEvent.objects.filter(pk__in=[e.pk for e in events if e.state != State.PUBLISHED]).update(
        changed_by=_person(user)
    )


def _save_citation(record, user, reason, version):
    citation = _citation_model()
    adding = record.pk is None or record._state.adding
    live = None if adding else _lock(citation, record.pk)
    event_ids = sorted({record.event_id, *([live.event_id] if live else [])})
    events = [_lock_event(pk) for pk in event_ids]  # in id order: no deadlock
    state = strictest([e.state for e in events])
    if adding:
        if not user.has_perm("reports.add_citation"):
            raise Refused("Only curators and editors add citations.", "role")
        record.approved = False
        if state == State.PUBLISHED:
            _save(record, user, _require_reason(reason, "new evidence on a published event"))
            event = next(e for e in events if e.state == State.PUBLISHED)
            return _propose(record, PendingChange.Action.ADD, record, {}, user, reason, event)
        problem = _may_change(user, state, "Its event")
        if problem:
            raise Refused(problem, "role")
        _save(record, user, reason.strip() or "Added")
        _evidence_changed(events, user)
        return Outcome(record, changed=("created",))
    _check_version(live, version if version is not None else record.version)
    changed = changes(record, live)
    if not changed:
        return Outcome(live)
    if not user.has_perm("reports.change_citation"):
        raise Refused("Only curators and editors change citations.", "role")
    public = live.approved and any(
        e.state == State.PUBLISHED and e.pk == live.event_id for e in events
    )
    moving_into_published = any(
        e.state == State.PUBLISHED and e.pk == record.event_id != live.event_id for e in events
    )
    if public or moving_into_published:
        event = next(e for e in events if e.pk == live.event_id)
        return _propose(live, PendingChange.Action.CHANGE, record, changed, user, reason, event)
    if not live.approved and state == State.PUBLISHED:
        # A proposed citation, not yet reviewed: its proposer refines it before review.
        pass
    else:
        problem = _may_change(user, state, "Its event")
        if problem:
            raise Refused(problem, "role")
    _apply(live, record, changed)
    _save(live, user, reason.strip(), set(changed))
    _evidence_changed(events, user)
    return Outcome(live, changed=tuple(changed))


def _source_cited_in(source_pk, state):
    return _citation_model().objects.filter(source_id=source_pk, event__state=state)


def _save_source(record, user, reason, version):
    source = _source_model()
    if record.pk is None or record._state.adding:
        if not user.has_perm("reports.add_source"):
            raise Refused("Only curators and editors add sources.", "role")
        _save(record, user, reason.strip() or "Added")
        return Outcome(record, changed=("created",))
    live = _lock(source, record.pk)
    _check_version(live, version if version is not None else record.version)
    changed = changes(record, live)
    if not changed:
        return Outcome(live)
    if not user.has_perm("reports.change_source"):
        raise Refused("Only curators and editors change sources.", "role")
    if source.objects.public().filter(pk=live.pk).exists():
        return _propose(live, PendingChange.Action.CHANGE, record, changed, user, reason, None)
    if _source_cited_in(live.pk, State.REVIEW).exists() and not is_editor(user):
        raise Refused(
            "An event in review cites this source: only an editor changes it now.", "role"
        )
    _apply(live, record, changed)
    _save(live, user, reason.strip(), set(changed))
    return Outcome(live, changed=tuple(changed))


def needs_reason(record):
    """Whether a change to `record` as stored must say why: it changes what the public
    sees, so it is a proposal with its reason."""
    citation, source = _citation_model(), _source_model()
    if isinstance(record, DamageEvent):
        return record.state == State.PUBLISHED
    if isinstance(record, citation):
        return DamageEvent.objects.filter(pk=record.event_id, state=State.PUBLISHED).exists()
    if isinstance(record, source):
        return source.objects.public().filter(pk=record.pk).exists()
    return False


def change_refusal(user, record):
    """Why `user` may not change `record` at all now (read-only to them), or None. Where
    a change would be a proposal, they may make it."""
    citation, source = _citation_model(), _source_model()
    event = record if isinstance(record, DamageEvent) else None
    if isinstance(record, citation):
        event = record.event
    if event is not None and event.state == State.REVIEW and not is_editor(user):
        return "It is in review: only an editor changes it or its evidence now."
    if isinstance(record, source) and not is_editor(user):
        public = source.objects.public().filter(pk=record.pk).exists()
        if not public and _source_cited_in(record.pk, State.REVIEW).exists():
            return "An event in review cites this source: only an editor changes it now."
    return None


# Proposals


def _propose(live, action, record, changed, user, reason, event):
    """Keep a change to what the public sees as a proposal; approve it at once when the
    user is an editor and four eyes is off."""
    reason = _require_reason(reason, "a change to the published record")
    content_type = ContentType.objects.get_for_model(live)
    values = {name: field.value_to_string(record) for name, field in changed.items()}
    earlier = (
        PendingChange.objects.select_for_update()
        .filter(content_type=content_type, object_id=live.pk, status=PendingChange.Status.PENDING)
        .first()
    )
    if earlier is not None:
        if earlier.action == action == PendingChange.Action.CHANGE:
            # A field the later proposal leaves alone keeps the earlier one's value.
            values = earlier.changes | values
        _decide(earlier, PendingChange.Status.SUPERSEDED, user, "Replaced by a later proposal.")
    proposal = PendingChange.objects.create(
        content_type=content_type,
        object_id=live.pk,
        event=event,
        action=action,
        changes=values,
        base_version=live.version,
        reason=reason,
        proposed_by=_person(user),
    )
    if is_editor(user) and not four_eyes():
        approve(proposal, user, "Approved by its author (four eyes is off).")
        proposal.refresh_from_db()
    return Outcome(live, proposal=proposal, changed=tuple(changed))


def _decide(proposal, status, user, reason):
    proposal.status = status
    proposal.decided_by = _person(user)
    proposal.decided_at = timezone.now()
    proposal.decision_reason = reason
    proposal.save(update_fields=["status", "decided_by", "decided_at", "decision_reason"])


def _lock_proposal(proposal):
    proposal = PendingChange.objects.select_for_update().get(pk=proposal.pk)
    if proposal.status != PendingChange.Status.PENDING:
        raise Refused(
            f"This proposal has already been decided: {proposal.get_status_display().lower()}.",
            "done",
        )
    return proposal


def _lock_target(proposal):
    model = proposal.content_type.model_class()
    if proposal.event_id:
        _lock_event(proposal.event_id)
    target = model._default_manager.select_for_update().filter(pk=proposal.object_id).first()
    if target is None:
        raise Refused("The record this proposal changes no longer exists.", "condition")
    return target


def review_refusal(user, proposal):
    """Why `user` may not approve `proposal`, or None."""
    if not is_editor(user):
        return "Only an editor reviews proposed changes."
    if four_eyes() and not isinstance(user, Command) and _same(user, proposal.proposed_by_id):
        return "You proposed this change: another editor must review it (four eyes)."
    return None


@transaction.atomic
def approve(proposal, user, reason):
    """Apply a proposal to the record the public sees, as `user` (an editor other than
    its author), checking its conditions again now."""
    proposal = _lock_proposal(proposal)
    problem = review_refusal(user, proposal)
    if problem:
        raise Refused(problem, "role")
    reason = _require_reason(reason, "approving")
    target = _lock_target(proposal)
    Action = PendingChange.Action
    if proposal.action != Action.ADD and target.version != proposal.base_version:
        raise Refused(
            f"“{target}” changed since this was proposed (version {proposal.base_version}, now "
            f"{target.version}): reject it, and propose the change again if it still holds.",
            "stale",
        )
    history_reason = f"Approved “{proposal.reason}” ({_author(proposal)}): {reason}"
    if proposal.action == Action.DELETE:
        problem = target.withdrawal_problem()
        if problem:
            raise Refused(problem, "condition")
        target._change_reason = history_reason
        with through_workflow():
            target.delete()
    else:
        fields = set()
        if proposal.action == Action.CHANGE:
            for name, value in proposal.proposed_values().items():
                field = target._meta.get_field(name)
                setattr(target, field.attname, value)
                fields.add(name)
            if isinstance(target, _citation_model()):
                problem = _withdrawn_by(target, proposal)
                if problem:
                    raise Refused(problem, "condition")
        else:
            target.approved = True
            fields.add("approved")
        try:
            target.full_clean()
        except ValidationError as error:
            raise Refused(
                "This proposal no longer passes the record's checks: " + " ".join(error.messages),
                "condition",
            ) from error
        _save(target, user, history_reason, fields)
    _decide(proposal, PendingChange.Status.APPROVED, user, reason)
    return target


def _withdrawn_by(citation, proposal):
    stored = type(citation).objects.get(pk=citation.pk)
    if citation.stance != "supports" or citation.event_id != stored.event_id:
        return stored.withdrawal_problem()
    return None


def _author(proposal):
    return f"proposed by {proposal.proposed_by}" if proposal.proposed_by else "proposed"


@transaction.atomic
def reject(proposal, user, reason):
    """Decline a proposal (an editor), or withdraw it (its author). A proposed citation
    is removed; the public record stays as it was."""
    proposal = _lock_proposal(proposal)
    own = _same(user, proposal.proposed_by_id)
    if not (is_editor(user) or own):
        raise Refused("Only an editor, or whoever proposed it, declines a proposal.", "role")
    reason = _require_reason(reason, "declining")
    if proposal.action == PendingChange.Action.ADD:
        target = _lock_target(proposal)
        target._change_reason = f"Proposal declined: {reason}"
        with through_workflow():
            target.delete()
    status = PendingChange.Status.WITHDRAWN if own else PendingChange.Status.REJECTED
    _decide(proposal, status, user, reason)
    return proposal


# Deletion and restoring


@transaction.atomic
def delete(record, user, reason="", version=None):
    """Delete an event, citation or source as `user`. A published event is withdrawn
    first; a citation of a published event is proposed for deletion. Returns an
    Outcome; raises Refused."""
    citation = _citation_model()
    if isinstance(record, DamageEvent):
        live = _lock_event(record.pk)
        _check_version(live, version)
        if not user.has_perm("heritage.delete_damageevent"):
            raise Refused("Only an editor deletes events.", "role")
        if live.state == State.PUBLISHED:
            raise Refused("Withdraw it from publication first, saying why.", "condition")
        live._change_reason = reason.strip() or "Deleted"
        with through_workflow():
            live.delete()
        return Outcome(live, changed=("deleted",))
    if isinstance(record, citation):
        live = _lock(citation, record.pk)
        _check_version(live, version)
        event = _lock_event(live.event_id)
        if not user.has_perm("reports.delete_citation"):
            raise Refused("Only curators and editors delete citations.", "role")
        if event.state == State.PUBLISHED and live.approved:
            problem = live.withdrawal_problem()
            if problem:
                raise Refused(problem, "condition")
            return _propose(live, PendingChange.Action.DELETE, live, {}, user, reason, event)
        if event.state == State.PUBLISHED:  # a proposed citation: withdrawing it
            proposal = PendingChange.objects.filter(
                content_type=ContentType.objects.get_for_model(live),
                object_id=live.pk,
                status=PendingChange.Status.PENDING,
            ).first()
            if proposal is not None:
                return Outcome(live, proposal=reject(proposal, user, reason or "Withdrawn"))
        problem = _may_change(user, event.state, "Its event")
        if problem:
            raise Refused(problem, "role")
        live._change_reason = reason.strip() or "Deleted"
        with through_workflow():
            live.delete()
        _evidence_changed([event], user)
        return Outcome(live, changed=("deleted",))
    if isinstance(record, _source_model()):
        live = _lock(_source_model(), record.pk)
        if not user.has_perm("reports.delete_source"):
            raise Refused("Only an editor deletes sources.", "role")
        live._change_reason = reason.strip() or "Deleted"
        try:
            live.delete()
        except ProtectedError as error:
            count = len(error.protected_objects)
            raise Refused(
                f"This source is cited {count} time(s) and cannot be deleted.", "condition"
            ) from error
        return Outcome(live, changed=("deleted",))
    raise TypeError(f"The workflow does not keep {type(record).__name__}.")


@transaction.atomic
def restore(pk, user, reason):
    """Bring a deleted event back as a draft under its old id, with the citations
    deleted with it (within CASCADE_WINDOW of it): restoring brings content back, never
    a state, so an editor publishes it again by the usual step. Returns the event and
    the citations that could not come back because their source is gone."""
    if not user.has_perm("heritage.add_damageevent"):
        raise Refused("Only curators and editors restore events.", "role")
    reason = (reason or "").strip() or "brought back as a draft"
    if DamageEvent.objects.filter(pk=pk).exists():
        raise Refused("This event has not been deleted.", "condition")
    record = DamageEvent.history.filter(id=pk, history_type="-").order_by("-history_date").first()
    if record is None:
        raise Refused("No deleted event has this id.", "condition")
    if not Site.objects.filter(pk=record.site_id).exists():
        raise Refused("Its site has been deleted since: restore the site first.", "condition")
    event = record.instance
    event.state = State.DRAFT
    event.changed_by = _person(user)
    event.submitted_by = event.submitted_at = event.published_by = event.published_at = None
    _save(event, user, f"Restored after deletion: {reason}")
    citation = _citation_model()
    deleted_with_it = citation.history.filter(
        event_id=pk,
        history_type="-",
        history_date__gte=record.history_date - CASCADE_WINDOW,
        history_date__lte=record.history_date + CASCADE_WINDOW,
    ).exclude(id__in=citation.objects.values("pk"))
    deleted_with_it = list(deleted_with_it.order_by("id"))
    sources = set(
        _source_model()
        .objects.filter(pk__in={c.source_id for c in deleted_with_it})
        .values_list("pk", flat=True)
    )
    lost = []
    for cited in deleted_with_it:
        if cited.source_id in sources:
            restored = cited.instance
            restored.approved = False
            _save(restored, user, f"Restored with its event: {reason}")
        else:
            lost.append(cited)
    event.refresh_from_db()
    event.refresh_verification()
    return event, lost


def pending_for(records):
    """The pending proposals of these records, by (model, pk)."""
    by_type = {}
    for record in records:
        by_type.setdefault(ContentType.objects.get_for_model(record), []).append(record.pk)
    found = {}
    for content_type, pks in by_type.items():
        for proposal in PendingChange.objects.filter(
            content_type=content_type, object_id__in=pks, status=PendingChange.Status.PENDING
        ).select_related("proposed_by"):
            found[(content_type.model_class(), proposal.object_id)] = proposal
    return found


def previewed(records, proposals):
    """`records` (model instances) as they would be once `proposals` (by (model, pk))
    were approved, changed in memory only; those proposed for deletion left out."""
    kept = []
    for record in records:
        proposal = proposals.get((type(record), record.pk))
        if proposal is not None and proposal.action == PendingChange.Action.DELETE:
            continue
        if proposal is not None and proposal.action == PendingChange.Action.CHANGE:
            for name, value in proposal.proposed_values().items():
                setattr(record, record._meta.get_field(name).attname, value)
            record.preview_note = "Changes proposed, waiting for review."
        kept.append(record)
    return kept


def preview_events(site):
    """Every event of `site` as the public would see it once everything waiting were
    approved: drafts and events in review included, proposed changes applied, grades and
    conflict flags derived again from the evidence so changed. For staff only."""
    citation_model = _citation_model()
    events = list(site.events.select_related("actor").order_by("date_lower", "date_upper", "id"))
    citations = list(
        citation_model.objects.filter(event__in=events).select_related("source").order_by("id")
    )
    sources = {c.source_id: c.source for c in citations}
    proposals = pending_for([*events, *citations, *sources.values()])
    events = previewed(events, proposals)
    previewed(list(sources.values()), proposals)
    by_event = {event.pk: [] for event in events}
    for citation in previewed(citations, proposals):
        citation.source = sources[citation.source_id]
        if citation.event_id in by_event:
            by_event[citation.event_id].append(citation)
    notes = {State.DRAFT: "Draft: not public.", State.REVIEW: "In review: not public yet."}
    for event in events:
        evidence = by_event[event.pk]
        event.grade = event.verification(evidence)
        event.has_conflict = event.citations_conflict(evidence)
        if any(not c.approved and event.state == State.PUBLISHED for c in evidence):
            event.preview_note = "New evidence proposed, waiting for review."
        event.preview_note = notes.get(event.state) or getattr(event, "preview_note", "")
        event.citation_list = [_citation_row(c, LIST_CITATION_COLUMNS) for c in evidence]
    return events


def _citation_row(citation, columns):
    """A citation as with_citation_rows() reads it, from the instance."""
    row = {}
    for column in columns:
        if column.startswith("source__"):
            row[column] = getattr(citation.source, column.removeprefix("source__"))
        elif column in ("event", "source"):
            row[column] = getattr(citation, f"{column}_id")
        else:
            row[column] = getattr(citation, column)
    return row
