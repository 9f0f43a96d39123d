"""Curators record damage events, with their citations, in the admin."""

import pytest
from django.urls import reverse

from heritage.dates import HELP_TEXT
from heritage.models import DamageEvent, SiteName
from heritage.models import through_workflow as workflow_command
from reports.models import Citation
from tests.helpers import (
    event_form,
    form_errors,
    make_actor,
    make_citation,
    make_event,
    make_site,
    make_source,
    move,
    publish,
)

pytestmark = pytest.mark.django_db

ADD_URL = reverse("admin:heritage_damageevent_add")
LIST_URL = reverse("admin:heritage_damageevent_changelist")


def test_a_curator_adds_an_event_with_its_citation(curator_client):
    site = make_site(name="Temple of Bel")
    source = make_source(publisher="Reuters", text="Militants blew up the  “Temple of Bel”.")
    response = curator_client.post(
        ADD_URL,
        event_form(
            site,
            [{"source": source.pk, "quote": 'blew up the "Temple of Bel"', "locator": "para 1"}],
        ),
    )
    assert response.status_code == 302, form_errors(response)
    event = DamageEvent.objects.get()
    assert (event.site, event.date, event.state) == (site, "2015-08-30", "draft")
    assert event.citations.get().source == source
    assert event.grade == "weak"
    assert event.history.count() == 1


def test_it_refuses_a_quote_missing_from_the_source_and_saves_nothing(admin_client):
    source = make_source(title="DGAM statement", text="The temple was damaged on Sunday.")
    response = admin_client.post(
        ADD_URL,
        event_form(make_site(), [{"source": source.pk, "quote": "The temple was destroyed"}]),
    )
    assert response.status_code == 200
    assert "does not occur in the stored text of “DGAM statement”" in form_errors(response)
    assert not DamageEvent.objects.exists()
    assert not Citation.objects.exists()


def test_a_quote_may_leave_words_out_with_an_ellipsis(admin_client):
    source = make_source(text="The cella, the heart of the temple, was blown up on Sunday.")
    response = admin_client.post(
        ADD_URL, event_form(make_site(), [{"source": source.pk, "quote": "The cella … blown up"}])
    )
    assert response.status_code == 302, form_errors(response)


def step(client, event, name, reason="Checked against the sources", version=None):
    """Take a workflow step from the event's change page, as its buttons do."""
    event.refresh_from_db()
    return client.post(
        reverse("admin:heritage_damageevent_step", args=[event.pk]),
        {"step": name, "reason": reason, "version": version or event.version},
        follow=True,
    )


def shown(response):
    return " ".join(str(m) for m in response.context["messages"])


def test_it_refuses_to_publish_an_event_no_citation_supports(editor_client):
    event = make_event(state="review")
    make_citation(event, stance="mentions")
    response = step(editor_client, event, "publish")
    assert "only be published with at least one citation that supports it" in shown(response)
    event.refresh_from_db()
    assert event.state == "review"


def test_an_editor_publishes_from_review_with_a_reason_kept_in_the_history(editor_client, editor):
    event = make_event()
    make_citation(event)
    event = move(event, "review")
    response = step(editor_client, event, "publish", reason="Two wire reports agree")
    assert "published" in shown(response)
    event.refresh_from_db()
    assert (event.state, event.published_by) == ("published", editor)
    latest = event.history.latest("history_date")
    assert latest.history_change_reason == "Publish: Two wire reports agree"
    assert latest.history_user == editor


def test_a_step_without_a_reason_is_refused_and_changes_nothing(editor_client):
    event = make_event(state="review")
    make_citation(event)
    response = step(editor_client, event, "publish", reason="")
    assert "Nothing done" in shown(response)
    event.refresh_from_db()
    assert event.state == "review"


def test_a_stale_step_is_refused_and_says_the_event_changed(editor_client):
    event = make_event(state="review")
    make_citation(event)
    opened = event.version
    event.refresh_from_db()
    event.summary = "Changed meanwhile"
    with workflow_command():
        event.save()
    response = step(editor_client, event, "publish", version=opened)
    assert "changed by someone else since you opened it" in shown(response)
    event.refresh_from_db()
    assert event.state == "review"


def test_a_curator_cannot_publish(curator_client):
    event = make_event(state="review")
    make_citation(event)
    response = step(curator_client, event, "publish")
    assert "Only an editor publishes an event" in shown(response)
    response = curator_client.post(
        LIST_URL,
        {"action": "publish", "_selected_action": [event.pk], "reason": "x"},
        follow=True,
    )
    event.refresh_from_db()
    assert event.state == "review"


def test_a_curator_cannot_edit_an_event_once_it_is_in_review(curator_client):
    event = make_event(state="review")
    url = reverse("admin:heritage_damageevent_change", args=[event.pk])
    response = curator_client.post(url, event_form(event.site, summary="Changed"))
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.summary == "Blown up"


def test_the_publish_action_publishes_the_supported_and_names_the_rest(editor_client):
    supported = make_event(summary="Supported")
    make_citation(supported)
    supported = move(supported, "review")
    unsupported = make_event(summary="Unsupported")
    make_citation(unsupported, stance="contradicts")
    unsupported = move(unsupported, "review")

    response = editor_client.post(
        LIST_URL,
        {
            "action": "publish",
            "_selected_action": [supported.pk, unsupported.pk],
            "reason": "Reviewed today",
            f"version-{supported.pk}": supported.version,
            f"version-{unsupported.pk}": unsupported.version,
        },
        follow=True,
    )
    supported.refresh_from_db()
    unsupported.refresh_from_db()
    assert (supported.state, unsupported.state) == ("published", "review")
    assert "1 event(s) published" in shown(response)
    assert "the others went ahead" in shown(response)
    assert "Unsupported" in shown(response)
    assert "at least one citation that supports it" in shown(response)


def test_the_review_action_sends_drafts_for_review_with_its_reason(curator_client, curator):
    event = make_event()
    curator_client.post(
        LIST_URL,
        {
            "action": "send_to_review",
            "_selected_action": [event.pk],
            "reason": "Ready",
            f"version-{event.pk}": event.version,
        },  # fmt: skip
    )
    event.refresh_from_db()
    assert (event.state, event.submitted_by) == ("review", curator)
    assert event.history.latest("history_date").history_change_reason == "Send for review: Ready"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"date": "30/08/2015"}, "date", "is not a date in EDTF"),
        ({"date": "2017-01-10/2016-12-26"}, "date", "ends before it begins"),
        ({"actor": "999999"}, "actor", "Select a valid choice"),
        ({"grade_override": "confirmed"}, "grade_override_reason", "Say why"),
    ],
)
def test_it_refuses_bad_input_with_a_message_and_saves_nothing(
    admin_client, fields, field, message
):
    response = admin_client.post(ADD_URL, event_form(make_site(), **fields))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert message in " ".join(errors[field])
    assert not DamageEvent.objects.exists()


def test_a_citation_with_a_malformed_claimed_date_is_refused(admin_client):
    response = admin_client.post(
        ADD_URL,
        event_form(make_site(), [{"source": make_source().pk, "claimed_date": "last week"}]),
    )
    assert response.status_code == 200
    assert "is not a date in EDTF" in form_errors(response)
    assert not DamageEvent.objects.exists()


def populate(events):
    actor = make_actor()
    for i in range(events):
        event = make_event(make_site(), actor=actor, date=f"2015-{i % 12 + 1:02d}")
        make_citation(event)
        make_citation(event, stance="mentions")


@pytest.mark.parametrize("events", [3, 30])
def test_the_event_list_costs_the_same_queries_however_many_rows(
    admin_client, django_assert_num_queries, events
):
    populate(events)
    # Expect 6 queries: the session, the user, the year filter's bounds, the count for the
    # paginator, the total for "show all", and the events with their site, actor and
    # citation count.
    with django_assert_num_queries(6):
        response = admin_client.get(LIST_URL)
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) == events


def test_the_event_list_finds_an_event_by_any_name_of_its_site(admin_client):
    site = make_site(name="Temple of Baalshamin")
    SiteName.objects.create(site=site, name="Baal Shamin", language="ar-Latn")
    SiteName.objects.create(site=site, name="معبد بعل شمين", language="ar")
    event = make_event(site)
    make_event(summary="Elsewhere")

    for term in ("Baal Shamin", "بعل شمين", "baalshamin"):
        response = admin_client.get(LIST_URL, {"q": term})
        assert list(response.context["cl"].result_list) == [event], term


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"level": "destroyed"}, {"2015"}),
        ({"grade": "confirmed"}, {"2016"}),
        ({"state": "published"}, {"2016"}),
        ({"year": "2015"}, {"2015"}),
        ({"year": "2016"}, {"2016"}),
        ({"year": "1066"}, set()),
        ({"year": "nonsense"}, {"2015", "2016"}),
    ],
)
def test_the_event_list_filters(admin_client, query, expected):
    make_event(summary="2015", date="2015-08-30", level="destroyed")
    event = make_event(summary="2016", date="2016-03~", level="severe")
    make_citation(event, basis="imagery")
    event.refresh_from_db()
    event = publish(event)

    response = admin_client.get(LIST_URL, query)
    assert response.status_code == 200
    assert {e.summary for e in response.context["cl"].result_list} == expected


def test_the_event_list_marks_only_the_events_whose_sources_disagree(admin_client):
    agreed = make_event(summary="Agreed")
    make_citation(agreed, claimed_level="destroyed")
    disputed = make_event(summary="Disputed")
    make_citation(disputed, claimed_level="destroyed")
    make_citation(disputed, claimed_level="slight")

    page = admin_client.get(LIST_URL).content.decode()
    assert page.count('<span class="disagree">disagree</span>') == 1


@pytest.mark.parametrize("year", ["²", "٢٠١٥", "99999", "0"])
def test_odd_year_values_filter_to_nothing_or_everything_without_an_error(admin_client, year):
    make_event()
    assert admin_client.get(LIST_URL, {"year": year}).status_code == 200


def test_the_year_filter_offers_only_years_in_which_events_begin_or_end(admin_client):
    make_event(date="1015-08-30")  # a typo for 2015
    make_event(date="2016-12-26/2017-01-10")
    response = admin_client.get(LIST_URL)
    year_filter = next(f for f in response.context["cl"].filter_specs if f.title == "year")
    assert [value for value, _ in year_filter.lookup_choices] == ["2017", "2016", "1015"]


def test_a_malformed_date_is_reported_once(admin_client):
    response = admin_client.post(ADD_URL, event_form(make_site(), date="last week"))
    assert response.context["adminform"].form.errors["date"] == [
        "“last week” is not a date in EDTF. " + HELP_TEXT
    ]


def test_the_event_page_costs_one_query_per_citation_beyond_a_fixed_few(
    admin_client, django_assert_num_queries
):
    event = make_event()
    for _ in range(4):
        make_citation(event)
    url = reverse("admin:heritage_damageevent_change", args=[event.pk])
    admin_client.get(url)  # fills the process-wide content-type cache
    # Expect 10 queries: the session, the user, the event with its site and actor, the
    # proposals waiting on it, its citations with their sources, the site widget's
    # selected option, and one per citation for its source widget's (autocomplete
    # widgets look up their own option).
    with django_assert_num_queries(10):
        response = admin_client.get(url)
    assert response.status_code == 200
