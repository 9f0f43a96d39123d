"""Curators keep the sources behind the events; a cited source cannot be deleted."""

import pytest
from django.urls import reverse

from reports.models import Source
from tests.helpers import make_citation, make_event, make_site, make_source

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:reports_source_changelist")


def test_deleting_a_cited_source_is_refused_with_the_reason(admin_client):
    source = make_source(title="UNOSAT analysis")
    make_citation(make_event(make_site(name="Temple of Bel")), source)
    url = reverse("admin:reports_source_delete", args=[source.pk])

    response = admin_client.post(url, {"post": "yes"})
    assert response.status_code == 200
    page = response.content.decode()
    assert "protected related objects" in page
    assert "Temple of Bel" in page
    assert Source.objects.filter(pk=source.pk).exists()


def test_the_bulk_delete_action_also_refuses_a_cited_source(admin_client):
    cited, uncited = make_source(), make_source()
    make_citation(make_event(), cited)
    admin_client.post(
        LIST_URL,
        {"action": "delete_selected", "_selected_action": [cited.pk, uncited.pk], "post": "yes"},
    )
    assert Source.objects.filter(pk=cited.pk).exists()


def test_an_uncited_source_can_be_deleted_and_stays_in_history(admin_client):
    source = make_source(title="Duplicate entry")
    admin_client.post(reverse("admin:reports_source_delete", args=[source.pk]), {"post": "yes"})
    assert not Source.objects.filter(pk=source.pk).exists()
    assert Source.history.filter(id=source.pk, history_type="-").exists()


def test_a_curator_may_not_delete_sources_at_all(curator_client):
    source = make_source()
    response = curator_client.post(
        reverse("admin:reports_source_delete", args=[source.pk]), {"post": "yes"}
    )
    assert response.status_code == 403


def test_the_change_page_lists_the_events_that_cite_the_source(admin_client):
    source = make_source()
    bel = make_event(make_site(name="Temple of Bel"), summary="Cella blown up")
    make_citation(bel, source)
    make_citation(make_event(make_site(name="Monumental Arch")), source, stance="mentions")

    response = admin_client.get(reverse("admin:reports_source_change", args=[source.pk]))
    page = response.content.decode()
    assert "Temple of Bel · Cella blown up" in page
    assert "Monumental Arch" in page
    assert "(mentions)" in page
    assert reverse("admin:heritage_damageevent_change", args=[bel.pk]) in page


@pytest.mark.parametrize(
    ("term", "expected"),
    [
        ("Temple of Bel", "Temple of Bel blown up"),
        ("reuters", "Temple of Bel blown up"),
        ("example.org/bel", "Temple of Bel blown up"),
        ("AFP", "Arch destroyed"),
    ],
)
def test_sources_are_found_by_title_publisher_and_url(admin_client, term, expected):
    make_source(title="Temple of Bel blown up", publisher="Reuters", url="https://example.org/bel")
    make_source(title="Arch destroyed", publisher="AFP", url="https://example.org/arch")
    response = admin_client.get(LIST_URL, {"q": term})
    assert [s.title for s in response.context["cl"].result_list] == [expected]


def test_two_sources_cannot_share_a_url_but_many_may_have_none(admin_client):
    make_source(url="https://example.org/report")
    make_source(url="")
    make_source(url="")
    response = admin_client.post(
        reverse("admin:reports_source_add"),
        {"kind": "news", "title": "Again", "url": "https://example.org/report", "published": ""},
    )
    assert response.status_code == 200
    assert "Another source already has this URL" in str(response.context["errors"])
    assert Source.objects.count() == 3


@pytest.mark.parametrize("sources", [2, 20])
def test_the_source_list_counts_citing_events_in_a_fixed_number_of_queries(
    admin_client, django_assert_num_queries, sources
):
    for _ in range(sources):
        source = make_source()
        event = make_event()
        make_citation(event, source)
        make_citation(event, source, stance="mentions")
        make_citation(make_event(), source)
    # Expect 6 queries: the session, the user, the language filter's choices, the count
    # for the paginator, the total for "show all", and the sources with their event counts.
    with django_assert_num_queries(6):
        response = admin_client.get(LIST_URL)
    rows = response.context["cl"].result_list
    assert len(rows) == sources
    assert {source.event_count for source in rows} == {2}
