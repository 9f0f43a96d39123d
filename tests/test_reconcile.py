"""OpenRefine reconciles a spreadsheet's monument names with the register's sites through
/api/v1/reconcile/ (W3C Reconciliation Service API 0.2)."""

import json
from pathlib import Path
from urllib.parse import urlencode

import jsonschema
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from heritage import workflow
from heritage.models import Site, SiteKind, SiteName
from tests.helpers import SETUP, make_site, reviewed

pytestmark = pytest.mark.usefixtures("palmyra")

URL = "/api/v1/reconcile/"
PREVIEW = "/api/v1/reconcile/preview/"
SCHEMAS = Path(__file__).parent / "reconcile_schemas"


def schema(name):
    return json.loads((SCHEMAS / name).read_text(encoding="utf-8"))


def valid(document, name):
    validator = jsonschema.Draft202012Validator(
        schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(document)
    return True


def ask(client, queries):
    """Queries as OpenRefine sends them: a form field `queries` holding JSON."""
    text = queries if isinstance(queries, str) else json.dumps(queries)
    return client.post(
        URL, urlencode({"queries": text}), content_type="application/x-www-form-urlencoded"
    )


def candidates(client, query=None, **fields):
    if query is not None:
        fields["query"] = query
    answer = ask(client, {"q0": fields})
    assert answer.status_code == 200, answer.content
    return answer.json()["q0"]["result"]


def ids(results):
    return [candidate["id"] for candidate in results]


def the_match(results):
    """The one candidate marked as the match, else None (and never more than one)."""
    matched = [candidate["id"] for candidate in results if candidate["match"]]
    assert len(matched) <= 1
    return matched[0] if matched else None


@pytest.fixture
def aleppo():
    """Syria > Aleppo > the Citadel of Aleppo: places above places."""
    syria = make_site(name="Syria", slug="syria", kind="country")
    aleppo = make_site(name="Aleppo", slug="aleppo", kind="city", parent=syria)
    return make_site(
        name="Citadel of Aleppo", slug="citadel-of-aleppo", kind="castle", parent=aleppo
    )


# The manifest


def test_a_plain_get_answers_the_manifest_the_specification_describes(client):
    answer = client.get(URL)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/json")
    assert valid(answer.json(), "manifest.json")


def test_the_manifest_offers_the_site_kinds_as_types_and_the_public_site_pages(client):
    manifest = client.get(URL).json()
    assert [kind["id"] for kind in manifest["defaultTypes"]] == SiteKind.values
    assert {"id": "temple", "name": "Temple"} in manifest["defaultTypes"]
    page = manifest["view"]["url"].replace("{{id}}", "temple-of-bel")
    assert page == "http://testserver/sites/temple-of-bel/"
    assert client.get(page).status_code == 200
    preview = manifest["preview"]
    assert (preview["width"], preview["height"]) == (400, 100)
    assert client.get(preview["url"].replace("{{id}}", "temple-of-bel")).status_code == 200
    assert manifest["identifierSpace"] == "http://testserver/sites/"


def test_the_manifest_leads_to_the_properties_a_query_may_use(client):
    suggest = client.get(URL).json()["suggest"]["property"]
    address = suggest["service_url"] + suggest["service_path"]
    assert address == "http://testserver/api/v1/reconcile/suggest/property/"

    def suggested(**params):
        answer = client.get(address, params)
        assert answer.status_code == 200
        return [item["id"] for item in answer.json()["result"]]

    assert suggested() == ["parent", "country"]
    assert suggested(prefix="Par") == ["parent"]
    assert suggested(prefix="place") == ["parent"]  # by its name, "Place it lies in"
    assert suggested(prefix="coun") == ["country"]
    assert suggested(prefix="P131") == []
    assert suggested(cursor="1") == ["country"]
    for cursor in ["-1", "x", "9" * 5000]:
        refused = client.get(address, {"cursor": cursor})
        assert (refused.status_code, refused.json()["field"]) == (400, "cursor")


# Matching


def test_an_answer_is_a_result_batch_the_specification_describes(client):
    answer = ask(client, {"q0": {"query": "Temple of Bel"}, "q1": {"query": "Xyzzy"}})
    assert answer.status_code == 200
    assert valid(answer.json(), "results.json")
    assert set(answer.json()) == {"q0", "q1"}


def test_a_site_s_own_name_is_a_match_with_its_kind_and_place(client):
    results = candidates(client, "Temple of Bel")
    assert results[0] == {
        "id": "temple-of-bel",
        "name": "Temple of Bel",
        "type": [{"id": "temple", "name": "Temple"}],
        "score": 100,
        "match": True,
        "description": "temple in Palmyra",
    }
    assert the_match(results) == "temple-of-bel"


@pytest.mark.parametrize(
    ("name", "site"),
    [
        ("معبد بل", "temple-of-bel"),
        ("Temple of Baal", "temple-of-bel"),
        ("Tadmor", "palmyra"),
        ("تدمر", "palmyra"),
        ("Kithot", "tower-of-kitot"),
        ("Qal'at Ibn Ma'n", "palmyra-castle"),
        ("قلعة فخر الدين المعني", "palmyra-castle"),
    ],
)
def test_another_name_the_register_holds_in_any_script_is_a_match(client, name, site):
    results = candidates(client, name)
    assert results[0]["id"] == site
    assert the_match(results) == site


@pytest.mark.parametrize(
    ("name", "site"),
    [
        ("TEMPLE OF BÉL", "temple-of-bel"),
        ("the temple of bel", "temple-of-bel"),
        ("  Temple   of Bel. ", "temple-of-bel"),
        ("Temple of Baal Shamin", "temple-of-baalshamin"),
        ("baal shamin", "temple-of-baalshamin"),
        ("Lion of Al Lat", "lion-of-al-lat"),
        ("tower-of-elahbel", "tower-of-elahbel"),
    ],
)
def test_case_accents_punctuation_hyphens_and_spacing_are_folded_away(client, name, site):
    results = candidates(client, name)
    assert the_match(results) == site
    assert results[0]["score"] >= 98


@pytest.mark.parametrize(
    ("name", "site"),
    [
        ("Baalshamin temple", "temple-of-baalshamin"),
        ("Temple of Balshamin", "temple-of-baalshamin"),
        ("Temple of Bel, Palmyra", "temple-of-bel"),
        ("Tower of Kittot", "tower-of-kitot"),
        ("Roman theater", "roman-theatre"),
    ],
)
def test_a_misspelling_or_other_wording_puts_the_right_site_first_without_a_match(
    client, name, site
):
    results = candidates(client, name)
    assert results[0]["id"] == site
    assert the_match(results) is None
    assert all(later["score"] < results[0]["score"] for later in results[1:])


def test_a_name_two_sites_share_is_a_match_for_neither_until_the_place_tells_them_apart(client):
    dura = make_site(name="Dura-Europos", slug="dura-europos", kind="city")
    make_site(name="Temple of Bel", slug="temple-of-bel-dura-europos", parent=dura)
    results = candidates(client, "Temple of Bel")
    assert set(ids(results[:2])) == {"temple-of-bel", "temple-of-bel-dura-europos"}
    assert [candidate["score"] for candidate in results[:2]] == [100, 100]
    assert the_match(results) is None
    in_dura = candidates(client, "Temple of Bel", properties=[{"pid": "parent", "v": "Dura"}])
    assert in_dura == []  # "Dura" names no place: only a place's name counts
    in_dura = candidates(
        client, "Temple of Bel", properties=[{"pid": "parent", "v": "Dura Europos"}]
    )
    assert the_match(in_dura) == "temple-of-bel-dura-europos"
    assert in_dura[0]["description"] == "temple in Dura-Europos"


def test_a_query_by_slug_finds_its_site(client):
    assert the_match(candidates(client, "tadmur-prison")) == "tadmur-prison"


def test_a_type_restricts_the_candidates_to_its_kinds(client):
    assert ids(candidates(client, "Palmyra"))[0] == "palmyra"
    assert ids(candidates(client, "Palmyra", type="museum")) == ["palmyra-museum"]
    both = candidates(client, "Palmyra", type=["castle", "museum"])
    assert set(ids(both)) == {"palmyra-castle", "palmyra-museum"}
    assert candidates(client, "Temple of Bel", type="tomb") == []


def test_a_parent_restricts_the_candidates_to_places_within_it_at_any_depth(client, aleppo):
    # The Tower of Kitot is in the tower tombs, which are in Palmyra.
    for place in ["Palmyra", "palmyra", "Tadmur", "Tower tombs", {"id": "palmyra"}]:
        within = candidates(client, "Tower of Kitot", properties=[{"pid": "parent", "v": place}])
        assert the_match(within) == "tower-of-kitot", place
    elsewhere = [{"pid": "parent", "v": "Aleppo"}]
    assert candidates(client, "Tower of Kitot", properties=elsewhere) == []
    # Any of several values; a place the register does not know is no place.
    several = [{"pid": "parent", "v": ["Aleppo", {"id": "Q5747", "name": "Palmyra"}]}]
    assert ids(candidates(client, "Tower of Kitot", properties=several))[0] == "tower-of-kitot"
    unknown = [{"pid": "parent", "v": "Atlantis"}]
    assert candidates(client, "Tower of Kitot", properties=unknown) == []


def test_a_country_and_a_list_of_places_restrict_by_the_places_above(client, aleppo):
    # "Citadel" is also another name of Palmyra Castle ("Palmyra Citadel").
    assert set(ids(candidates(client, "Citadel"))) >= {"citadel-of-aleppo", "palmyra-castle"}
    for restriction in [
        {"pid": "country", "v": "Syria"},
        {"pid": "parent", "v": "Syria"},
        {"pid": "parent", "v": "Aleppo, Syria"},
    ]:
        results = candidates(client, "Citadel", properties=[restriction])
        assert ids(results) == ["citadel-of-aleppo"], restriction
        assert results[0]["description"] == "castle in Aleppo, Syria"
    # Aleppo is in Syria, but it is no country.
    assert candidates(client, "Citadel", properties=[{"pid": "country", "v": "Aleppo"}]) == []


def test_properties_alone_list_every_site_they_admit(client):
    results = candidates(client, properties=[{"pid": "parent", "v": "Tower tombs"}], limit=10)
    assert ids(results) == ["tower-of-elahbel", "tower-of-iamliku", "tower-of-kitot"]
    assert the_match(results) is None


def test_the_limit_caps_the_candidates(client):
    in_palmyra = [{"pid": "parent", "v": "Palmyra"}]
    assert len(candidates(client, properties=in_palmyra)) == 5
    assert len(candidates(client, properties=in_palmyra, limit=100.0)) == 16
    assert ids(candidates(client, "Palmyra", limit=1)) == ["palmyra"]


@pytest.mark.parametrize("name", ["Colosseum", "Xyzzy", "Great Mosque of Aleppo", "   ", "…"])
def test_a_name_the_register_does_not_hold_has_no_candidates(client, name):
    assert candidates(client, name) == []


def test_a_site_or_name_awaiting_review_is_never_a_candidate(client):
    palmyra = Site.objects.get(slug="palmyra")
    make_site(approve=False, name="Temple of Nabu", slug="temple-of-nabu", parent=palmyra)
    assert not Site.objects.public().filter(slug="temple-of-nabu").exists()
    bel = Site.objects.get(slug="temple-of-bel")
    workflow.save(SiteName(site=bel, name="Bel sanctuary"), SETUP, "Proposed by a test")
    assert "temple-of-nabu" not in ids(candidates(client, "Temple of Nabu"))
    assert "temple-of-nabu" not in ids(candidates(client, "temple-of-nabu"))
    assert the_match(candidates(client, "Bel sanctuary")) is None
    within = candidates(client, properties=[{"pid": "parent", "v": "Palmyra"}], limit=100)
    assert "temple-of-nabu" not in ids(within)
    # Once reviewed, a name counts.
    reviewed(SiteName(site=bel, name="Sanctuary of Bel"))
    assert the_match(candidates(client, "Sanctuary of Bel")) == "temple-of-bel"


def test_a_get_with_queries_answers_as_a_post_does(client):
    queries = json.dumps({"q0": {"query": "Temple of Bel"}})
    by_get = client.get(URL, {"queries": queries})
    assert by_get.status_code == 200
    assert by_get.json() == ask(client, queries).json()


def test_a_batch_costs_two_queries_however_many_it_holds(client, django_assert_max_num_queries):
    names = ["Temple of Bel", "معبد بل", "Baalshamin temple", "Tadmor", "Xyzzy"]
    batch = {
        f"q{n}": {"query": name, "type": "temple"} if n % 2 else {"query": name}
        for n, name in enumerate(names * 2)
    }
    batch["q9"] = {"query": "Tower", "properties": [{"pid": "parent", "v": "Palmyra"}]}
    # Expect 2 queries: the public sites, their reviewed names (none per query or candidate)
    with django_assert_max_num_queries(2):
        answer = ask(client, batch)
    assert answer.status_code == 200
    assert len(answer.json()) == 10
    hundred = {f"q{n}": {"query": f"Temple {n}"} for n in range(100)}
    with CaptureQueriesContext(connection) as queries:
        assert ask(client, hundred).status_code == 200
    assert len(queries) == 2


# Input the service cannot read: a 400 naming the field, never a 500


def many(count):
    return {f"q{n}": {"query": "Temple of Bel"} for n in range(count)}


@pytest.mark.parametrize(
    ("queries", "field"),
    [
        ('{"q0": {"query": "Temple of Bel"}', "queries"),
        ("", "queries"),
        ("[" * 100_000, "queries"),
        ('["Temple of Bel"]', "queries"),
        ('"Temple of Bel"', "queries"),
        (many(101), "queries"),
        ({"q" * 101: {"query": "Temple"}}, "queries"),
        ({"q0": "Temple of Bel"}, "queries.q0"),
        ({"q0": {"query": "Bel"}, "q3": {"query": "x" * 501}}, "queries.q3.query"),
        ({"q0": {"query": 5}}, "queries.q0.query"),
        ({"q0": {"limit": 3}}, "queries.q0.query"),
        ({"q0": {"query": "Bel", "props": []}}, "queries.q0.props"),
        ({"q0": {"query": "Bel", "limit": 0}}, "queries.q0.limit"),
        ({"q0": {"query": "Bel", "limit": 101}}, "queries.q0.limit"),
        ({"q0": {"query": "Bel", "limit": "5"}}, "queries.q0.limit"),
        ({"q0": {"query": "Bel", "limit": 2.5}}, "queries.q0.limit"),
        ({"q0": {"query": "Bel", "limit": True}}, "queries.q0.limit"),
        ({"q0": {"query": "Bel", "type": "planet"}}, "queries.q0.type"),
        ({"q0": {"query": "Bel", "type": [5]}}, "queries.q0.type"),
        ({"q0": {"query": "Bel", "type_strict": "never"}}, "queries.q0.type_strict"),
        ({"q0": {"query": "Bel", "properties": {"parent": "Palmyra"}}}, "queries.q0.properties"),
        ({"q0": {"query": "Bel", "properties": ["Palmyra"]}}, "queries.q0.properties.0"),
        (
            {"q0": {"query": "Bel", "properties": [{"pid": "P131", "v": "Palmyra"}]}},
            "queries.q0.properties.0.pid",
        ),
        (
            {"q0": {"query": "Bel", "properties": [{"pid": ["parent"], "v": "Palmyra"}]}},
            "queries.q0.properties.0.pid",
        ),
        (
            {"q0": {"query": "Bel", "properties": [{"pid": "parent", "v": []}]}},
            "queries.q0.properties.0.v",
        ),
        (
            {"q0": {"query": "Bel", "properties": [{"pid": "parent", "v": {"name": "P"}}]}},
            "queries.q0.properties.0.v",
        ),
        (
            {"q0": {"query": "Bel", "properties": [{"pid": "parent", "v": None}]}},
            "queries.q0.properties.0.v",
        ),
    ],
)
def test_input_the_service_cannot_read_is_a_400_naming_the_field(client, queries, field):
    answer = ask(client, queries)
    assert answer.status_code == 400, answer.content
    assert answer.json()["field"] == field
    assert answer.json()["detail"]
    by_get = client.get(
        URL, {"queries": queries if isinstance(queries, str) else json.dumps(queries)}
    )
    assert (by_get.status_code, by_get.json()["field"]) == (400, field)


def test_a_post_without_queries_or_not_a_form_is_refused(client):
    answer = client.post(URL, "", content_type="application/x-www-form-urlencoded")
    assert (answer.status_code, answer.json()["field"]) == (400, "queries")
    as_json = client.post(URL, {"q0": {"query": "Bel"}}, content_type="application/json")
    assert as_json.status_code == 415


def test_a_query_id_that_is_not_text_is_refused_not_echoed(client):
    answer = ask(client, '{"\\ud800": {"query": "Temple of Bel"}}')
    assert (answer.status_code, answer.json()["field"]) == (400, "queries")
    answer = ask(client, '{"q0": {"query": "Temple of Bel", "\\ud800": 1}}')
    assert answer.status_code == 400
    assert answer.json()["field"] == "queries.q0.\\ud800"


# The preview


def test_the_preview_is_a_small_card_of_the_site_that_openrefine_may_frame(
    client, django_assert_max_num_queries
):
    # Expect 1 query: the site with its places (three levels up, in the same query)
    with django_assert_max_num_queries(1):
        answer = client.get(PREVIEW, {"id": "tower-of-kitot"})
    assert answer.status_code == 200
    assert answer["Content-Type"] == "text/html; charset=utf-8"
    card = answer.content.decode()
    assert "Tower of Kitot" in card
    assert "Tower tomb in Tower tombs, Palmyra" in card
    assert 'href="http://testserver/sites/tower-of-kitot/"' in card
    assert "Condition:" in card
    assert "<script" not in card
    assert "X-Frame-Options" not in answer
    assert "frame-ancestors *" in answer["Content-Security-Policy"]
    assert "script-src" not in answer["Content-Security-Policy"]  # default-src 'none'
    bel = client.get(PREVIEW, {"id": "temple-of-bel"}).content.decode()
    assert "Temple in Palmyra" in bel
    assert "Condition: Destroyed" in bel


def test_the_preview_escapes_what_it_shows(client):
    make_site(name='<script>alert("x")</script> & Co', slug="odd-name")
    card = client.get(PREVIEW, {"id": "odd-name"}).content.decode()
    assert "<script>alert" not in card
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in card


@pytest.mark.parametrize("slug", ["no-such-site", "temple-of-nabu", "", "../etc/passwd", "a\x00b"])
def test_the_preview_is_not_found_for_an_unknown_or_unreviewed_site(client, slug):
    palmyra = Site.objects.get(slug="palmyra")
    make_site(approve=False, name="Temple of Nabu", slug="temple-of-nabu", parent=palmyra)
    answer = client.get(PREVIEW, {"id": slug})
    assert answer.status_code == 404
    assert answer["Content-Type"].startswith("text/html")
    assert "Temple of Nabu" not in answer.content.decode()
