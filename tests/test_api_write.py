"""Curators write through the API with the same rules as in the admin."""

import pytest
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from heritage.models import DamageEvent
from reports.models import Citation, Source
from tests.helpers import (
    ReadFirstClient,
    make_citation,
    make_event,
    make_site,
    make_source,
    move,
    publish,
)

pytestmark = pytest.mark.django_db


def client_for(user=None):
    client = ReadFirstClient(APIClient())
    if user:
        token = Token.objects.create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def new_event(place, **fields):
    return {"site": place.slug, "summary": "Cella blown up", "date": "2015-08-30",
            "level": "destroyed", "cause": "explosives"} | fields  # fmt: skip


def test_anonymous_clients_cannot_write():
    response = client_for().post("/api/v1/events/", new_event(make_site()), format="json")
    assert response.status_code in (401, 403)
    assert not DamageEvent.objects.exists()


def test_a_curator_with_a_token_adds_a_draft_and_its_citation(curator):
    api = client_for(curator)
    make_site(slug="temple-of-bel")
    response = api.post("/api/v1/events/", new_event(make_site(slug="bel-2")), format="json")
    assert response.status_code == 201, response.json()
    event = DamageEvent.objects.get(pk=response.json()["id"])
    assert (event.state, event.grade, event.date_upper.isoformat()) == (
        "draft",
        "unsupported",
        "2015-08-30",
    )

    source = make_source(text="The cella was blown up on Sunday.")
    response = api.post(
        "/api/v1/citations/",
        {"event": event.pk, "source": source.pk, "quote": "The cella was blown up"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    event.refresh_from_db()
    assert event.grade == "weak"


def test_a_quote_missing_from_the_source_is_a_400_on_quote(curator):
    source = make_source(text="The temple was damaged.")
    response = client_for(curator).post(
        "/api/v1/citations/",
        {"event": make_event().pk, "source": source.pk, "quote": "The temple was destroyed"},
        format="json",
    )
    assert response.status_code == 400
    assert "does not occur" in response.json()["quote"][0]
    assert not Citation.objects.exists()


@pytest.mark.parametrize(
    ("fields", "parameter"),
    [
        ({"date": "30/08/2015"}, "date"),
        ({"date": "2017-01-10/2016-12-26"}, "date"),
        ({"actor": "Nobody we know"}, "actor"),
        ({"site": "atlantis"}, "site"),
        ({"grade_override": "confirmed"}, "grade_override_reason"),
        # Text is a JSON string: DRF alone would store 0 as "0" and true as "True".
        ({"summary": 0}, "summary"),
        ({"description": True}, "description"),
        ({"reason": 7}, "reason"),
        # A reference is a slug or null; DRF alone would read "" as null.
        ({"actor": ""}, "actor"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_saves_nothing(curator, fields, parameter):
    response = client_for(curator).post(
        "/api/v1/events/", new_event(make_site(), **fields), format="json"
    )
    assert response.status_code == 400
    assert parameter in response.json()
    assert not DamageEvent.objects.exists()


def test_latitude_91_is_refused(curator):
    response = client_for(curator).post(
        "/api/v1/sites/",
        {
            "name": "Somewhere",
            "slug": "somewhere",
            "kind": "temple",
            "latitude": 91,
            "longitude": 38,
        },
        format="json",
    )
    assert response.status_code == 400
    assert "latitude" in response.json()


def test_only_an_editor_publishes_and_only_a_supported_event(curator, editor):
    event = make_event()
    publishing = {"state": "published", "reason": "Checked"}
    response = client_for(curator).patch(f"/api/v1/events/{event.pk}/", publishing, format="json")
    assert response.status_code == 403
    assert "Only an editor publishes" in response.json()["detail"]
    event = move(event, "review")

    editor_api = client_for(editor)
    response = editor_api.patch(f"/api/v1/events/{event.pk}/", publishing, format="json")
    assert response.status_code == 409
    assert "supports" in response.json()["state"][0]

    make_citation(event)
    response = editor_api.patch(
        f"/api/v1/events/{event.pk}/", {"state": "published"}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()

    response = editor_api.patch(f"/api/v1/events/{event.pk}/", publishing, format="json")
    assert response.status_code == 200
    assert DamageEvent.objects.get(pk=event.pk).state == "published"


def test_a_curator_cannot_change_an_event_or_its_evidence_once_in_review(curator):
    event = make_event(state="review")
    citation = make_citation(event)
    api = client_for(curator)
    assert (
        api.patch(f"/api/v1/events/{event.pk}/", {"summary": "x"}, format="json").status_code == 403
    )
    assert (
        api.patch(
            f"/api/v1/citations/{citation.pk}/", {"locator": "p. 2"}, format="json"
        ).status_code
        == 403
    )


def test_the_last_support_of_a_published_event_stays(editor):
    event = make_event()
    citation = make_citation(event)
    event.refresh_from_db()
    event = publish(event)
    api = client_for(editor)
    response = api.patch(f"/api/v1/citations/{citation.pk}/", {"stance": "mentions"}, format="json")
    assert response.status_code == 400
    response = api.delete(f"/api/v1/citations/{citation.pk}/")
    assert response.status_code == 409
    assert "only citation supporting" in response.json()["detail"]
    assert Citation.objects.filter(pk=citation.pk).exists()


def test_deleting_a_cited_source_is_a_409_with_the_reason(editor):
    source = make_source()
    make_citation(make_event(), source)
    response = client_for(editor).delete(f"/api/v1/sources/{source.pk}/")
    assert response.status_code == 409
    assert "cited" in response.json()["detail"]
    assert Source.objects.filter(pk=source.pk).exists()


def test_a_session_write_needs_the_csrf_token(curator):
    api = APIClient(enforce_csrf_checks=True)
    api.force_login(curator)
    response = api.post("/api/v1/events/", new_event(make_site()), format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]


def test_the_last_support_cannot_be_moved_to_another_event(editor, curator):
    event = make_event()
    citation = make_citation(event)
    event.refresh_from_db()
    event = publish(event)
    draft = make_event()
    for user in (editor, curator):
        response = client_for(user).patch(
            f"/api/v1/citations/{citation.pk}/", {"event": draft.pk}, format="json"
        )
        assert response.status_code in (400, 403), user
    assert Citation.objects.get(pk=citation.pk).event == event


def test_a_curators_retyping_of_a_cited_source_is_a_proposal_the_public_does_not_see(curator):
    event = make_event()
    source = make_source(kind="news")
    make_citation(event, source)
    event = publish(event)
    api = client_for(curator)
    response = api.patch(f"/api/v1/sources/{source.pk}/", {"kind": "satellite"}, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()
    response = api.patch(
        f"/api/v1/sources/{source.pk}/", {"kind": "satellite", "reason": "Imagery"}, format="json"
    )
    assert response.status_code == 202
    assert response.json()["record"]["kind"] == "news"
    assert Source.objects.get(pk=source.pk).kind == "news"
    event.refresh_from_db()
    assert event.grade == "weak"


def test_empty_identifiers_are_stored_as_null_like_the_admin_does(curator):
    api = client_for(curator)
    for slug in ("one", "two"):
        response = api.post(
            "/api/v1/sites/",
            {"name": slug, "slug": slug, "kind": "temple", "wikidata": "", "pleiades": ""},
            format="json",
        )
        assert response.status_code == 202, response.json()  # a new site waits for review


def test_a_write_answers_in_json_whatever_format_it_names(curator):
    response = client_for(curator).post(
        "/api/v1/events/?format=csv", new_event(make_site()), format="json"
    )
    assert response.status_code == 201
    assert response["Content-Type"] == "application/json"
    assert response.json()["summary"] == "Cella blown up"


def test_a_method_an_address_does_not_take_is_a_405_even_with_no_body(curator):
    event = make_event()
    response = client_for(curator).post(f"/api/v1/events/{event.pk}/")
    assert response.status_code == 405
    assert "POST" not in response["Allow"]


def test_a_reason_as_long_as_the_api_takes_is_kept_whole_in_the_history(curator):
    reason = "Checked against the satellite images of 27 August and 2 September. " * 7
    reason = reason[:500].strip()  # kept as given, less the spaces around it
    response = client_for(curator).post(
        "/api/v1/events/", new_event(make_site(), reason=reason), format="json"
    )
    assert response.status_code == 201, response.json()
    event = DamageEvent.objects.get(pk=response.json()["id"])
    assert event.history.latest().history_change_reason == reason
