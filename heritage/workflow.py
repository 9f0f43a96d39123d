"""The editorial workflow: the one place that says who may do what to the record.

An event is a draft, in review or published. Every path that changes an event's state
or anything the public sees (the admin's forms, actions and history pages, the API,
intake's accept, restoring a deleted event, management commands) calls this module; the
models refuse such a change made any other way (heritage.models.WorkflowBypass).

The rules, as README.md's "Roles" states them:

- Steps (TRANSITIONS): a curator or an editor sends a draft for review; an editor, or
  whoever sent it, returns it to draft; an editor publishes it (from review, or from
  draft when FOUR_EYES is off), if a citation supports it and its site and actor are
  reviewed; an editor withdraws a published event to draft. Every step has a reason.
- Four eyes (settings.FOUR_EYES, on by default): whoever drafted an event, or changed
  it or its evidence since it was last published, does not publish it; whoever wrote a
  proposal (or a part of it) does not approve it.
- Content: drafts change freely; an event in review, and its evidence, only by an
  editor; a published event, its citations, the sources they cite, and every reviewed
  site, site name, picture and actor change by a proposal (PendingChange) that an
  editor approves, with a reason. A new site, name, picture or actor is a proposal to
  add it. Until approval the public sees the record as last reviewed.

Each step locks the rows it changes (the event's, the site's) and checks its conditions
again inside the transaction, so that two people acting at once cannot both succeed
where only one may.
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
    Actor,
    DamageEvent,
    PendingChange,
    PublicStamp,
    Reviewed,
    Site,
    SiteImage,
    SiteName,
    State,
    history_batch,
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
    is_staff = False
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


def _bound_by_four_eyes(user):
    return four_eyes() and not isinstance(user, Command)


def _require_reason(reason, what="this"):
    reason = (reason or "").strip()
    if not reason:
        raise Refused(f"Give a reason for {what}: it is kept in the record's history.", "reason")
    return reason


def _citation_model():
    return DamageEvent._meta.get_field("citations").related_model


def _source_model():
    return _citation_model()._meta.get_field("source").related_model


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
        if _bound_by_four_eyes(user):
            if event.state == State.DRAFT:
                return "Send it for review first: another editor publishes it from review."
            if _same(user, event.drafted_by_id):
                return "You drafted this event: another editor must publish it (four eyes)."
            if user.pk in event.contributors:
                return (
                    "You changed this event or its evidence since it was last published: "
                    "another editor must publish it (four eyes)."
                )
        problem = event.publication_problem(stances)
        if problem:
            return problem
        if event.actor_id and not event.actor.approved:
            return (
                f"Its actor, “{event.actor}”, has not been reviewed yet: approve it in the "
                "review queue first."
            )
    return None


def steps_for(user, event):
    """Each step out of the event's state, with why `user` may not take it (or None)."""
    return [(s, refusal(user, s, event)) for s in TRANSITIONS if event.state in s.sources]


# Every lock here is FOR NO KEY UPDATE on PostgreSQL (the workflow never changes a key):
# it orders writers of one record as FOR UPDATE does, but leaves alone the key-share
# locks other transactions take to check their foreign keys to it. With FOR UPDATE, an
# editor renaming an actor (locked) while rebuilding its events' documents, and a curator
# correcting one of those events (its document locked, its actor's key checked at
# commit), waited for each other: a deadlock.


def _lock_event(pk):
    try:
        return DamageEvent.objects.select_for_update(no_key=True).get(pk=pk)
    except DamageEvent.DoesNotExist:
        raise Refused("This event no longer exists.", "condition") from None


def _lock(model, pk):
    try:
        return model._default_manager.select_for_update(no_key=True).get(pk=pk)
    except model.DoesNotExist:
        raise Refused(f"This {model._meta.verbose_name} no longer exists.", "condition") from None


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
    `step`, when the caller names one: "withdraw" is not "return"). `version` is the
    event's version the user saw: a step on an event changed since is refused. Returns
    the event as stored. Refused (nothing changed) when the step is not allowed now."""
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
        raise Refused(problem, code)
    reason = _require_reason(reason, "this step")
    now = timezone.now()
    fields = {"state"}
    if step.name == "submit":
        live.submitted_by, live.submitted_at = _person(user), now
        fields |= {"submitted_by", "submitted_at"}
    if step.name == "publish":
        live.published_by, live.published_at = _person(user), now
        live.contributors = []
        fields |= {"published_by", "published_at", "contributors"}
        # Publishing reviews the evidence as it stands.
        with through_workflow():
            live.citations.filter(approved=False).update(approved=True, updated=now)
    live.state = step.target
    _save(live, user, f"{step.label}: {reason}", fields)
    if step.name == "withdraw":
        _fold_proposals(live, user)
    if State.PUBLISHED in (step.target, *step.sources):
        PublicStamp.bump()
    return live


def _fold_proposals(event, user):
    """A withdrawn event is a draft again: the proposals waiting on it and on its
    citations become part of the draft (their authors count as its contributors, so
    none of them publishes it again alone); a proposal the record moved past since is
    dropped."""
    for proposal in PendingChange.objects.select_for_update(no_key=True).filter(
        event=event, status=PendingChange.Status.PENDING
    ):
        model = proposal.content_type.model_class()
        target = model._default_manager.filter(pk=proposal.object_id).first()
        applied = target is not None and (
            proposal.action == PendingChange.Action.ADD or target.version == proposal.base_version
        )
        if applied and proposal.action == PendingChange.Action.CHANGE:
            fields = _set_proposed(target, proposal)
            _save(target, user, f"Folded into the draft: {proposal.reason}", fields)
        elif applied and proposal.action == PendingChange.Action.DELETE:
            target._change_reason = f"Folded into the draft: {proposal.reason}"
            with through_workflow():
                target.delete()
        _contributed(DamageEvent.objects.filter(pk=event.pk), proposal.authors)
        note = "Folded into the draft when the event was withdrawn."
        if not applied:
            note = "Dropped when the event was withdrawn: the record had changed since."
        _decide(proposal, PendingChange.Status.SUPERSEDED, user, note)


def _save(record, user, reason, fields=None):
    record._change_reason = reason
    if _person(user):
        record._history_user = user
    with through_workflow():
        record.save(update_fields=fields)


def _contributed(events, user_ids):
    """Record `user_ids` among the contributors of these events (not published ones,
    whose contributors start afresh at publication)."""
    user_ids = [pk for pk in user_ids if pk is not None]
    if not user_ids:
        return
    for event in events.exclude(state=State.PUBLISHED).select_for_update(no_key=True):
        known = set(event.contributors)
        if not set(user_ids) <= known:
            event.contributors = sorted(known | set(user_ids))
            event.changed_by_id = user_ids[-1]
            with through_workflow():
                DamageEvent.objects.filter(pk=event.pk).update(
                    contributors=event.contributors, changed_by_id=event.changed_by_id
                )


def _evidence_changed(events, user):
    """Whoever changes a draft's evidence is, for four eyes, among its contributors."""
    DamageEvent.objects.filter(pk__in=[e.pk for e in events if e.state != State.PUBLISHED]).update(
        changed_by=_person(user)
    )
    _contributed(DamageEvent.objects.filter(pk__in=[e.pk for e in events]), [user.pk])


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
        "published_at", "version", "approved", "grade", "has_conflict", "contributors",
        "condition", "fingerprint"}  # fmt: skip
REVIEWED = (Site, SiteName, SiteImage, Actor)


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


def is_public(record):
    """Whether the public sees `record` as it is stored."""
    citation, source = _citation_model(), _source_model()
    if isinstance(record, DamageEvent):
        return record.state == State.PUBLISHED
    if isinstance(record, citation):
        return (
            record.approved
            and DamageEvent.objects.filter(pk=record.event_id, state=State.PUBLISHED).exists()
        )
    if isinstance(record, source):
        return source.objects.public().filter(pk=record.pk).exists()
    if isinstance(record, (SiteName, SiteImage)):
        return record.approved and Site.objects.filter(pk=record.site_id, approved=True).exists()
    if isinstance(record, Reviewed):
        return record.approved
    return False


@transaction.atomic
def save(record, user, reason="", version=None):
    """Save a new or changed record as `user`, by the rules above: applied at once where
    the user may, proposed for review where the public sees it. `version` is the
    record's version the user started from (a stale one is refused). Returns an
    Outcome; raises Refused."""
    citation, source = _citation_model(), _source_model()
    if isinstance(record, DamageEvent):
        return _save_event(record, user, reason, version)
    if isinstance(record, citation):
        return _save_citation(record, user, reason, version)
    if isinstance(record, source):
        return _save_source(record, user, reason, version)
    if isinstance(record, REVIEWED):
        return _save_reviewed(record, user, reason, version)
    raise TypeError(f"The workflow does not keep {type(record).__name__}.")


def _adding(record):
    return record.pk is None or record._state.adding


def _may(user, action, record):
    perm = f"{record._meta.app_label}.{action}_{record._meta.model_name}"
    if not user.has_perm(perm):
        raise Refused(
            f"You may not {action} a {record._meta.verbose_name} (it needs the “{perm}” "
            "permission).",
            "role",
        )


def _save_event(event, user, reason, version):
    if _adding(event):
        _may(user, "add", event)
        event.state = State.DRAFT
        event.drafted_by = event.changed_by = _person(user)
        event.contributors = [user.pk] if user.pk else []
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
        _may(user, "change", event)
        return _propose(live, PendingChange.Action.CHANGE, event, changed, user, reason, live)
    problem = _may_change(user, live.state, "This event")
    if problem:
        raise Refused(problem, "role")
    _apply(live, event, changed)
    live.changed_by = _person(user)
    _save(live, user, reason.strip(), {*changed, "changed_by"})
    _contributed(DamageEvent.objects.filter(pk=live.pk), [user.pk])
    live.refresh_from_db()
    return Outcome(live, changed=tuple(changed))


def _apply(live, record, changed):
    for field in changed.values():
        setattr(live, field.attname, field.value_from_object(record))


def _pending(record):
    return PendingChange.objects.filter(
        content_type=ContentType.objects.get_for_model(record),
        object_id=record.pk,
        status=PendingChange.Status.PENDING,
    ).first()


def _joins(proposal, user):
    """`user` changed what `proposal` holds: they are among its authors now."""
    if proposal is not None and user.pk and user.pk not in proposal.authors:
        proposal.authors = [*proposal.authors, user.pk]
        proposal.save(update_fields=["authors"])


def _save_citation(record, user, reason, version):
    citation = _citation_model()
    adding = _adding(record)
    live = None if adding else _lock(citation, record.pk)
    event_ids = sorted({record.event_id, *([live.event_id] if live else [])})
    events = {pk: _lock_event(pk) for pk in event_ids}  # in id order: no deadlock
    target = events[record.event_id]
    if adding:
        _may(user, "add", record)
        record.approved = False
        if target.state == State.PUBLISHED:
            _save(record, user, _require_reason(reason, "new evidence on a published event"))
            return _propose(record, PendingChange.Action.ADD, record, {}, user, reason, target)
        problem = _may_change(user, target.state, "Its event")
        if problem:
            raise Refused(problem, "role")
        _save(record, user, reason.strip() or "Added")
        _evidence_changed([target], user)
        return Outcome(record, changed=("created",))
    _check_version(live, version if version is not None else record.version)
    changed = changes(record, live)
    if not changed:
        return Outcome(live)
    _may(user, "change", record)
    source = events[live.event_id]
    for event in events.values():
        if event.state == State.REVIEW and not is_editor(user):
            raise Refused(
                "Its event is in review: only an editor changes its evidence now.", "role"
            )
    public = live.approved and source.state == State.PUBLISHED
    entering = target.pk != source.pk and target.state == State.PUBLISHED
    if public or entering:
        # What the public sees changes, or new evidence arrives at a published event:
        # the live citation stays as it is until an editor approves.
        problem = _withdrawal(live, record) if public else None
        if problem:
            raise Refused(problem, "condition")
        event = source if public else target
        return _propose(live, PendingChange.Action.CHANGE, record, changed, user, reason, event)
    _apply(live, record, changed)
    _save(live, user, reason.strip(), set(changed))
    # A proposed citation refined before review: whoever refines it is one of its authors.
    _joins(_pending(live), user)
    _evidence_changed(list(events.values()), user)
    return Outcome(live, changed=tuple(changed))


def _withdrawal(live, record):
    """Why changing `live` into `record` would withdraw the last support of its
    published event, or None."""
    if record.stance != "supports" or record.event_id != live.event_id:
        return live.withdrawal_problem()
    return None


def _source_cited_in(source_pk, state):
    return _citation_model().objects.filter(source_id=source_pk, event__state=state)


def _save_source(record, user, reason, version):
    source = _source_model()
    if _adding(record):
        _may(user, "add", record)
        _save(record, user, reason.strip() or "Added")
        return Outcome(record, changed=("created",))
    live = _lock(source, record.pk)
    _check_version(live, version if version is not None else record.version)
    changed = changes(record, live)
    if not changed:
        return Outcome(live)
    _may(user, "change", record)
    if source.objects.public().filter(pk=live.pk).exists():
        return _propose(live, PendingChange.Action.CHANGE, record, changed, user, reason, None)
    if _source_cited_in(live.pk, State.REVIEW).exists() and not is_editor(user):
        raise Refused(
            "An event in review cites this source: only an editor changes it now.", "role"
        )
    _apply(live, record, changed)
    _save(live, user, reason.strip(), set(changed))
    # A source is evidence for every event that cites it: whoever changes it changed
    # their evidence, and the proposals that cite it.
    citing = _citation_model().objects.filter(source=live)
    _contributed(DamageEvent.objects.filter(pk__in=citing.values("event_id")), [user.pk])
    for proposal in PendingChange.objects.filter(
        content_type=ContentType.objects.get_for_model(_citation_model()),
        object_id__in=citing.values("pk"),
        status=PendingChange.Status.PENDING,
    ):
        _joins(proposal, user)
    return Outcome(live, changed=tuple(changed))


def _reviewed_parent(record):
    """The record whose review a new name or picture waits on: its site, while that
    site is itself new."""
    if isinstance(record, (SiteName, SiteImage)):
        return Site.objects.filter(pk=record.site_id, approved=False).first()
    return None


def _save_reviewed(record, user, reason, version):
    model = type(record)
    if _adding(record):
        _may(user, "add", record)
        record.approved = False
        parent = _reviewed_parent(record)
        _save(record, user, reason.strip() or "Added")
        if parent is not None:
            # Reviewed with its new site, as part of it.
            _joins(_pending(parent), user)
            return Outcome(record, changed=("created",))
        reason = reason.strip() or f"New {record._meta.verbose_name}"
        return _propose(record, PendingChange.Action.ADD, record, {}, user, reason, None)
    live = _lock(model, record.pk)
    _check_version(live, version if version is not None else record.version)
    changed = changes(record, live)
    if not changed:
        return Outcome(live)
    _may(user, "change", record)
    if is_public(live):
        return _propose(live, PendingChange.Action.CHANGE, record, changed, user, reason, None)
    _apply(live, record, changed)
    _save(live, user, reason.strip(), set(changed))
    _joins(_pending(live) or _pending(_reviewed_parent(live) or live), user)
    return Outcome(live, changed=tuple(changed))


def needs_reason(record):
    """Whether a change to `record` as stored must say why: it changes what the public
    sees, so it is a proposal with its reason."""
    if isinstance(record, _citation_model()):
        return DamageEvent.objects.filter(pk=record.event_id, state=State.PUBLISHED).exists()
    return is_public(record)


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
    authors = [user.pk] if user.pk else []
    earlier = (
        PendingChange.objects.select_for_update(no_key=True)
        .filter(content_type=content_type, object_id=live.pk, status=PendingChange.Status.PENDING)
        .first()
    )
    if earlier is not None:
        if earlier.action == action == PendingChange.Action.CHANGE:
            # A field the later proposal leaves alone keeps the earlier one's value, and
            # the earlier one's authors stay authors of what is approved.
            values = earlier.changes | values
            authors = sorted(set(earlier.authors) | set(authors))
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
        authors=authors,
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
    proposal = PendingChange.objects.select_for_update(no_key=True).get(pk=proposal.pk)
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
    target = (
        model._default_manager.select_for_update(no_key=True).filter(pk=proposal.object_id).first()
    )
    if target is None:
        raise Refused("The record this proposal changes no longer exists.", "condition")
    return target


def review_refusal(user, proposal):
    """Why `user` may not approve `proposal`, or None."""
    if not is_editor(user):
        return "Only an editor reviews proposed changes."
    if _bound_by_four_eyes(user) and user.pk in {proposal.proposed_by_id, *proposal.authors}:
        return (
            "You proposed this change, or a part of it: another editor must review it (four eyes)."
        )
    return None


def _set_proposed(target, proposal):
    fields = set()
    for name, value in proposal.proposed_values().items():
        setattr(target, target._meta.get_field(name).attname, value)
        fields.add(name)
    return fields


def _review_problem(target):
    """Why `target` as it would be cannot stand in the public record, or None."""
    reviewed_sites = Site.objects.filter(approved=True)
    parent = target.parent_id if isinstance(target, Site) else None
    if parent and not reviewed_sites.filter(pk=parent).exists():
        return "Its parent place has not been reviewed yet: approve that first."
    site = target.site_id if isinstance(target, (SiteName, SiteImage)) else None
    if site and not reviewed_sites.filter(pk=site).exists():
        return "Its site has not been reviewed yet: approve the site first."
    if isinstance(target, DamageEvent) and target.state == State.PUBLISHED:
        problem = target.publication_problem()
        if problem:
            return problem
        if target.actor_id and not Actor.objects.filter(pk=target.actor_id, approved=True):
            return "Its actor has not been reviewed yet: approve it first."
    return None


@transaction.atomic
def approve(proposal, user, reason, version=None):
    """Apply a proposal to the record the public sees, as `user` (an editor who wrote
    no part of it), checking its conditions again now. `version` is the record's
    version the editor saw beside the proposal: one changed since is refused."""
    proposal = _lock_proposal(proposal)
    problem = review_refusal(user, proposal)
    if problem:
        raise Refused(problem, "role")
    reason = _require_reason(reason, "approving")
    target = _lock_target(proposal)
    _check_version(target, version)
    Action = PendingChange.Action
    if proposal.action != Action.ADD and target.version != proposal.base_version:
        raise Refused(
            f"“{target}” changed since this was proposed (version {proposal.base_version}, now "
            f"{target.version}): reject it, and propose the change again if it still holds.",
            "stale",
        )
    history_reason = f"Approved “{proposal.reason}” ({_author(proposal)}): {reason}"
    if proposal.action == Action.DELETE:
        problem = target.withdrawal_problem() if hasattr(target, "withdrawal_problem") else None
        if problem:
            raise Refused(problem, "condition")
        target._change_reason = history_reason
        try:
            with through_workflow():
                target.delete()
        except ProtectedError as error:
            raise Refused(
                f"“{target}” is still referred to by {len(error.protected_objects)} record(s).",
                "condition",
            ) from error
    else:
        fields = _set_proposed(target, proposal) if proposal.action == Action.CHANGE else set()
        if isinstance(target, _citation_model()):
            stored = type(target).objects.get(pk=target.pk)
            problem = _withdrawal(stored, target)
            if problem:
                raise Refused(problem, "condition")
            # Approved into a published event, it is reviewed evidence there.
            target.approved = DamageEvent.objects.get(pk=target.event_id).state == State.PUBLISHED
            fields.add("approved")
        elif hasattr(target, "approved"):
            target.approved = True
            fields.add("approved")
        problem = _review_problem(target)
        if problem:
            raise Refused(problem, "condition")
        try:
            target.full_clean()
        except ValidationError as error:
            raise Refused(
                "This proposal no longer passes the record's checks: " + " ".join(error.messages),
                "condition",
            ) from error
        _save(target, user, history_reason, fields)
        if isinstance(target, Site) and proposal.action == Action.ADD:
            _approve_with_site(target, user, history_reason)
    _decide(proposal, PendingChange.Status.APPROVED, user, reason)
    PublicStamp.bump()
    return target


def _approve_with_site(site, user, reason):
    """A new site's names and pictures, added with it, are reviewed with it."""
    for model in (SiteName, SiteImage):
        for record in model.objects.filter(site=site, approved=False):
            if _pending(record) is None:
                record.approved = True
                _save(record, user, reason, {"approved"})


def _author(proposal):
    return f"proposed by {proposal.proposed_by}" if proposal.proposed_by else "proposed"


@transaction.atomic
def reject(proposal, user, reason):
    """Decline a proposal (an editor), or withdraw it (its author). A proposed record
    that is not yet public is removed; the public record stays as it was."""
    proposal = _lock_proposal(proposal)
    own = _same(user, proposal.proposed_by_id)
    if not (is_editor(user) or own):
        raise Refused("Only an editor, or whoever proposed it, declines a proposal.", "role")
    reason = _require_reason(reason, "declining")
    if proposal.action == PendingChange.Action.ADD:
        target = _lock_target(proposal)
        if getattr(target, "approved", False):
            raise Refused("This record is part of the reviewed record now.", "condition")
        target._change_reason = f"Proposal declined: {reason}"
        with through_workflow():
            target.delete()
    status = PendingChange.Status.WITHDRAWN if own else PendingChange.Status.REJECTED
    _decide(proposal, status, user, reason)
    return proposal


# Deletion and restoring


@transaction.atomic
def delete(record, user, reason="", version=None):
    """Delete a record as `user`. A published event is withdrawn first; anything the
    public sees is proposed for deletion. Returns an Outcome; raises Refused."""
    citation = _citation_model()
    _may(user, "delete", record)
    if isinstance(record, DamageEvent):
        live = _lock_event(record.pk)
        _check_version(live, version)
        if live.state == State.PUBLISHED:
            raise Refused("Withdraw it from publication first, saying why.", "condition")
        _delete(live, user, reason)
        return Outcome(live, changed=("deleted",))
    if isinstance(record, citation):
        live = _lock(citation, record.pk)
        _check_version(live, version)
        event = _lock_event(live.event_id)
        if event.state == State.PUBLISHED and live.approved:
            problem = live.withdrawal_problem()
            if problem:
                raise Refused(problem, "condition")
            return _propose(live, PendingChange.Action.DELETE, live, {}, user, reason, event)
        proposal = _pending(live)
        if event.state == State.PUBLISHED and proposal is not None:
            # A proposed citation: deleting it withdraws (or declines) the proposal.
            return Outcome(live, proposal=reject(proposal, user, reason or "Withdrawn"))
        problem = _may_change(user, event.state, "Its event")
        if problem:
            raise Refused(problem, "role")
        _delete(live, user, reason)
        _evidence_changed([event], user)
        return Outcome(live, changed=("deleted",))
    if isinstance(record, _source_model()):
        # A source is public only while something public cites it, and a cited source
        # is never deleted: there is nothing to propose.
        live = _lock(type(record), record.pk)
        _delete(live, user, reason)
        return Outcome(live, changed=("deleted",))
    model = type(record)
    live = _lock(model, record.pk)
    _check_version(live, version)
    if is_public(live):
        return _propose(live, PendingChange.Action.DELETE, live, {}, user, reason, None)
    proposal = _pending(live)
    if proposal is not None:
        return Outcome(live, proposal=reject(proposal, user, reason or "Withdrawn"))
    _delete(live, user, reason)
    return Outcome(live, changed=("deleted",))


def _delete(live, user, reason):
    live._change_reason = reason.strip() or "Deleted"
    if _person(user):
        live._history_user = user
    try:
        # One batch: an event's citations, deleted with it, come back with it and no
        # other (restore()).
        with through_workflow(), history_batch():
            live.delete()
    except ProtectedError as error:
        count = len(error.protected_objects)
        raise Refused(
            f"This {live._meta.verbose_name} is cited or used {count} time(s) and cannot be "
            "deleted.",
            "condition",
        ) from error


@transaction.atomic
def restore(pk, user, reason):
    """Bring a deleted event back as a draft under its old id, with the citations
    deleted with it (in its history batch): restoring brings content back, never
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
    if record.actor_id and not Actor.objects.filter(pk=record.actor_id).exists():
        raise Refused("Its actor has been deleted since: add the actor again first.", "condition")
    event = record.instance
    event.state = State.DRAFT
    event.changed_by = _person(user)
    event.contributors = [user.pk] if user.pk else []
    event.submitted_by = event.submitted_at = event.published_by = event.published_at = None
    _save(event, user, f"Restored after deletion: {reason}")
    citation = _citation_model()
    deleted_with_it = citation.history.filter(event_id=pk, history_type="-")
    if record.history_batch:
        deleted_with_it = deleted_with_it.filter(history_batch=record.history_batch)
    else:  # deleted before batches were recorded
        deleted_with_it = deleted_with_it.filter(
            history_date__gte=record.history_date - CASCADE_WINDOW,
            history_date__lte=record.history_date + CASCADE_WINDOW,
        )
    deleted_with_it = deleted_with_it.exclude(id__in=citation.objects.values("pk"))
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


# What staff see of what waits


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
    citation_model, source_model = _citation_model(), _source_model()
    events = list(site.events.select_related("actor").order_by("date_lower", "date_upper", "id"))
    citations = list(citation_model.objects.filter(event__in=events).order_by("id"))
    proposals = pending_for([*events, *citations])
    events = previewed(events, proposals)
    citations = previewed(citations, proposals)
    # The sources as proposed too, read after the citations' proposals (which may point
    # a citation at another source).
    sources = {
        s.pk: s for s in source_model.objects.filter(pk__in={c.source_id for c in citations})
    }
    previewed(list(sources.values()), pending_for(list(sources.values())))
    by_event = {event.pk: [] for event in events}
    for citation in citations:
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
