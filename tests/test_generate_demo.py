"""manage.py generate_demo: synthetic data at scale, with the real record's shapes."""

from collections import Counter
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count

from heritage.models import DamageEvent, Grade, Site, State, condition_after, through_workflow
from reports.models import Citation, Source, Stance

pytestmark = pytest.mark.django_db

SMALL = {"sites": 40, "events": 300, "sources": 100, "citations": 750}


def generate(seed=7, **sizes):
    sizes = {**SMALL, **sizes}
    arguments = [f"--{name}={count}" for name, count in sizes.items()]
    call_command("generate_demo", *arguments, f"--seed={seed}", "--no-progress", stdout=StringIO())


def snapshot():
    return (
        list(Site.objects.order_by("pk").values_list("slug", "condition", "latitude")),
        list(DamageEvent.objects.order_by("pk").values_list("site", "date", "level", "grade")),
        list(Citation.objects.order_by("pk").values_list("event", "source", "quote", "stance")),
        list(Source.objects.order_by("pk").values_list("title", "publisher", "fingerprint")),
    )


def test_it_makes_exactly_the_rows_asked_for():
    generate()
    assert Site.objects.count() == SMALL["sites"]
    assert DamageEvent.objects.count() == SMALL["events"]
    assert Source.objects.count() == SMALL["sources"]
    assert Citation.objects.count() == SMALL["citations"]


def wipe():
    # Emptying the register wholesale, as a fresh database would be: not an edit.
    with through_workflow():
        for model in (Citation, DamageEvent, Source):
            model.objects.all().delete()
        Site.objects.filter(parent__isnull=False).delete()
        Site.objects.all().delete()


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data():
    generate(seed=3)
    first = snapshot()
    wipe()
    generate(seed=3)
    assert snapshot() == first
    wipe()
    generate(seed=4)
    assert snapshot() != first


def test_its_shapes_are_the_real_records():
    generate()
    per_site = Counter(DamageEvent.objects.values_list("site", flat=True))
    busiest, *others = sorted(per_site.values(), reverse=True)
    # One site far busier than the rest, most with a handful.
    assert busiest == SMALL["events"] // 5
    assert others[len(others) // 2] < busiest / 5
    # A few sources cited far more often than the typical one.
    per_source = sorted(
        Source.objects.annotate(n=Count("citations")).values_list("n", flat=True), reverse=True
    )
    assert per_source[0] > 10 * per_source[len(per_source) // 2]
    # Texts of an article's length, and every quote taken from its source's text.
    texts = [len(text) for text in Source.objects.exclude(text="").values_list("text", flat=True)]
    assert texts
    assert 1_000 < sum(texts) / len(texts) < 10_000
    for citation in Citation.objects.exclude(quote="").select_related("source")[:200]:
        assert citation.source.contains_quote(citation.quote)


def test_its_derived_values_are_what_the_models_derive():
    generate()
    for event in DamageEvent.objects.order_by("?")[:60]:
        grade, conflict = event.grade, event.has_conflict
        event.refresh_verification()
        assert (event.grade, event.has_conflict) == (grade, conflict)
    for site in Site.objects.all():
        assert site.condition == (condition_after(site.events.published()) or "")
    # Every published event has a citation that supports it, as publishing requires.
    for event in DamageEvent.objects.filter(state=State.PUBLISHED):
        assert event.citations.filter(stance=Stance.SUPPORTS).exists()
    assert set(DamageEvent.objects.values_list("grade", flat=True)) >= {
        Grade.CONFIRMED,
        Grade.FAIR,
        Grade.WEAK,
    }


def test_a_curator_can_add_rows_after_it():
    generate()
    site = Site.objects.create(name="Added later", slug="added-later", kind="temple")
    assert site.pk == SMALL["sites"] + 1


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--events=5", "--sites=0"], "at least one site"),
        (["--citations=5", "--sources=0"], "events and sources"),
        (["--sites=-1"], "cannot be negative"),
    ],
)
def test_it_refuses_impossible_sizes(arguments, message):
    with pytest.raises(CommandError, match=message) as raised:
        call_command("generate_demo", *arguments, "--no-progress", stdout=StringIO())
    assert raised.value.returncode == 2
    assert not Site.objects.exists()


def test_it_never_mixes_demo_data_with_a_real_register(palmyra):
    before = DamageEvent.objects.count()
    with pytest.raises(CommandError, match="not empty"):
        generate()
    assert DamageEvent.objects.count() == before
