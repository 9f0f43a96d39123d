"""The intake engine, piece by piece: names, sentences, damage words, exclusions, dates."""

import datetime
import sys

import pytest

from reports.intake import Gazetteer, extract, find_dates, normalise, split_sentences

PUBLISHED = datetime.date(2015, 8, 31)  # a Monday

SITES = [
    ("palmyra", "city", ["Palmyra", "Tadmur"]),
    ("temple-of-bel", "temple", ["Temple of Bel", "معبد بل"], "palmyra"),
    (
        "temple-of-baalshamin",
        "temple",
        ["Temple of Baalshamin", "Baal Shamin", "Baal-Shamin", "معبد بعل شمين"],
        "palmyra",
    ),
    ("monumental-arch", "arch", ["Monumental Arch", "Arch of Triumph"], "palmyra"),
    ("tower-tombs", "necropolis", ["Tower tombs", "Valley of the Tombs"], "palmyra"),
    ("tadmur-prison", "prison", ["Tadmur prison"], "palmyra"),
    ("palmyra-museum", "museum", ["Palmyra Museum"], "palmyra"),
    ("aleppo", "city", ["Aleppo"]),
    ("aleppo-citadel", "castle", ["Citadel of Aleppo"], "aleppo"),
    ("great-mosque", "mosque", ["Great Mosque of Aleppo"], "aleppo"),
    ("other-mosque", "mosque", ["Mosque of al-Adiliyah"], "aleppo"),
    ("champs-elysees-cafe", "other", ["Café Élysée"], "aleppo"),
]


@pytest.fixture(scope="module")
def gazetteer():
    return Gazetteer(SITES)


def sites(text, gazetteer, **kwargs):
    return [c.site_key for c in extract(text, gazetteer, **kwargs)]


def one(text, gazetteer, published=PUBLISHED):
    claims = extract(text, gazetteer, published=published)
    assert len(claims) == 1, claims
    return claims[0]


# Names


def test_names_match_whatever_the_case(gazetteer):
    assert sites("Militants destroyed the TEMPLE OF BEL.", gazetteer) == ["temple-of-bel"]


def test_names_match_without_their_accents(gazetteer):
    assert sites("Shelling damaged the Cafe Elysee.", gazetteer) == ["champs-elysees-cafe"]


def test_names_match_with_hyphens_apostrophes_or_extra_spaces(gazetteer):
    assert sites("They blew up Baal–Shamin.", gazetteer) == ["temple-of-baalshamin"]
    assert sites("They blew up the Temple  of\nBel.", gazetteer) == ["temple-of-bel"]


def test_baal_shamin_and_baalshamin_are_the_same_temple(gazetteer):
    for text in [
        "IS destroyed Baalshamin.",
        "IS destroyed Baal Shamin.",
        "IS destroyed baal-shamin.",
    ]:
        assert sites(text, gazetteer) == ["temple-of-baalshamin"]


def test_the_temple_of_baal_shamin_is_not_mistaken_for_a_shorter_name(gazetteer):
    assert sites("They destroyed the temple of Baal Shamin.", gazetteer) == ["temple-of-baalshamin"]


def test_arabic_names_match(gazetteer):
    assert sites("Militants destroyed معبد بل on Sunday.", gazetteer) == ["temple-of-bel"]


def test_the_temples_of_x_and_y_names_both_temples(gazetteer):
    found = sites("Militants dynamited the temples of Baal Shamin and Bel.", gazetteer)
    assert sorted(found) == ["temple-of-baalshamin", "temple-of-bel"]


def test_a_bare_core_name_without_its_kind_word_is_not_a_match(gazetteer):
    assert sites("Fighters destroyed everything Bel had known.", gazetteer) == []


def test_normalise_folds_case_accents_and_separators():
    assert normalise("  The Café-Élysée’s  ") == "cafe elysee s"


# Offsets


def test_the_quote_is_the_sentence_at_its_offsets(gazetteer):
    text = "Headline here\n\nMr. Smith said so. On Sunday, IS blew up the Temple of Bel. Later."
    claim = one(text, gazetteer)
    assert claim.quote == "On Sunday, IS blew up the Temple of Bel."
    assert text[claim.start : claim.end] == claim.quote
    assert text[claim.match_start : claim.match_end] == "Temple of Bel"


def test_offsets_survive_accents_and_ligatures_before_the_claim(gazetteer):
    text = "Straße ﬁne Élysée. Militants demolished the Tadmur prison."
    claim = one(text, gazetteer)
    assert text[claim.start : claim.end] == claim.quote
    assert text[claim.match_start : claim.match_end] == "Tadmur prison"


def test_sentences_keep_abbreviations_and_quotes_together():
    text = 'Dr. Ali of the U.S. team said "It fell." Then it rained.\nA short Headline\nNext one.'
    spans = [text[a:b] for a, b in split_sentences(text)]
    assert spans == [
        'Dr. Ali of the U.S. team said "It fell."',
        "Then it rained.",
        "A short Headline",
        "Next one.",
    ]


# Damage words and levels


@pytest.mark.parametrize(
    ("sentence", "level"),
    [
        ("IS dynamited the Temple of Bel.", "destroyed"),
        ("IS blew up the Temple of Bel.", "destroyed"),
        ("The Temple of Bel was blown up.", "destroyed"),
        ("IS destroyed the Temple of Bel.", "destroyed"),
        ("The destruction of the Temple of Bel shocked the world.", "destroyed"),
        ("IS demolished the Temple of Bel.", "destroyed"),
        ("IS razed the Temple of Bel.", "destroyed"),
        ("IS levelled the Temple of Bel.", "destroyed"),
        ("IS leveled the Temple of Bel.", "destroyed"),
        ("IS pulverised the Temple of Bel.", "destroyed"),
        ("IS bulldozed the Temple of Bel.", "destroyed"),
        ("IS smashed the Temple of Bel.", "destroyed"),
        ("The Temple of Bel was heavily damaged.", "severe"),
        ("The Temple of Bel was partly destroyed.", "severe"),
        ("The Temple of Bel was damaged.", "unknown"),  # damage, extent not said
        ("The Temple of Bel was badly damaged.", "severe"),
        ("Several columns of the Temple of Bel were toppled.", "moderate"),
        ("IS blew up a section of the Temple of Bel's outer wall.", "moderate"),
        ("About 60 per cent of the Temple of Bel was destroyed.", "severe"),
        ("The Temple of Bel was left in ruins.", "destroyed"),
        ("Little more than a heap of stones remains of the Temple of Bel.", "destroyed"),
        ("The facade of the Temple of Bel caved in.", "severe"),
        ("Militants smashed statues in the Palmyra Museum.", "severe"),  # its contents
        ("IS defaced the Temple of Bel.", "moderate"),
        ("The Temple of Bel was slightly damaged.", "slight"),
        ("The Temple of Bel suffered minor damage.", "slight"),
        ("IS looted the Temple of Bel.", "unknown"),
        ("The army shelled the Temple of Bel.", "unknown"),
        ("Fighters torched the Temple of Bel.", "severe"),
    ],
)
def test_each_damage_word_implies_its_level(gazetteer, sentence, level):
    assert one(sentence, gazetteer).level == level


# Not claims


@pytest.mark.parametrize(
    "sentence",
    [
        "The Temple of Bel stood for 1,800 years.",  # history
        "Tourists crowded the Temple of Bel every spring.",  # tourism
        "Experts restored the arch of the Temple of Bel, destroyed in 2015.",  # restoration
        "The Temple of Bel will be rebuilt, damaged stones and all.",  # reconstruction
        "The Temple of Bel could be destroyed.",  # prediction
        "IS threatened to destroy the Temple of Bel.",  # threat
        "Militants may blow up the Temple of Bel.",
        "Fighters might demolish the Temple of Bel.",
        "Such an attack would destroy the Temple of Bel.",
        "IS vowed to destroy the Temple of Bel.",
        "Archaeologists feared the Temple of Bel had been destroyed.",
        "The Temple of Bel still stands, he added.",  # no finding: said of what was lost
        "The collection was intact when the militants took the Palmyra Museum.",  # before
        "IS denied responsibility for destroying the Temple of Bel.",  # blame, not damage
        "Was the Temple of Bel destroyed?",  # question
        "If IS reaches it, the Temple of Bel will be destroyed.",  # conditional
        "Fighters laid mines and booby traps around the Temple of Bel.",  # mines
        "IS retreated from Palmyra, leaving mines near the Temple of Bel.",
    ],
)
def test_these_are_not_claims(gazetteer, sentence):
    assert extract(sentence, gazetteer, published=PUBLISHED) == []


def test_in_may_is_a_month_not_a_modal(gazetteer):
    assert one("In May 2015 they blew up Tadmur prison.", gazetteer).date == "2015-05"


def test_a_city_named_as_the_location_is_not_claimed(gazetteer):
    assert sites("There was destruction in Palmyra on Sunday.", gazetteer) == []
    assert sites("IS blew up Tadmur prison in Palmyra.", gazetteer) == ["tadmur-prison"]


def test_a_denial_in_one_clause_leaves_the_other_clause_a_claim(gazetteer):
    text = "IS blew up the Temple of Bel, but the Palmyra Museum remains intact."
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert [(c.site_key, c.level) for c in claims] == [
        ("temple-of-bel", "destroyed"),
        ("palmyra-museum", "none"),
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "There was no damage to the Temple of Bel.",
        "The Temple of Bel remains intact.",
        "The Temple of Bel was not damaged.",
        "The Temple of Bel was unharmed by the blast.",
        "IS did not destroy the Temple of Bel.",
    ],
)
def test_a_named_monument_found_unharmed_is_a_claim_of_no_damage(gazetteer, sentence):
    claim = one(sentence, gazetteer)
    assert (claim.site_key, claim.level, claim.stance) == ("temple-of-bel", "none", "supports")


def test_a_denial_is_proposed_as_contradicting_the_report_it_denies(gazetteer):
    text = (
        "Activists said IS blew up the Temple of Bel on Sunday. "
        "Officials denied that the Temple of Bel had been destroyed."
    )
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert [(c.site_key, c.stance, c.level, c.date) for c in claims] == [
        ("temple-of-bel", "supports", "destroyed", "2015-08-30"),
        ("temple-of-bel", "contradicts", "destroyed", "2015-08-30"),
    ]


def test_denying_reports_tells_the_report_and_its_denial(gazetteer):
    text = "An official denied reports that the blast had damaged the Tadmur prison."
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert sorted(c.stance for c in claims) == ["contradicts", "supports"]


def test_a_city_is_claimed_only_for_damage_to_the_city_itself(gazetteer):
    assert sites("Shelling of Aleppo killed 12 people on Sunday.", gazetteer) == []
    assert sites("Monitors documented the damage to heritage in Palmyra.", gazetteer) == []
    assert sites("Bulldozers levelled Palmyra, the ancient city, on Sunday.", gazetteer) == [
        "palmyra"
    ]


# One claim per site and event


def test_the_headline_and_the_lede_are_one_claim_led_by_the_dated_lede(gazetteer):
    text = (
        "IS blows up Tadmur prison\n\n"
        "Islamic State militants blew up Tadmur prison on Saturday, activists said. "
        "Images showed smoke over the demolished prison."
    )
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert len(claims) == 1
    claim = claims[0]
    assert claim.quote.startswith("Islamic State militants blew up")
    assert claim.date == "2015-08-29"
    assert [text[a:b] for a, b in claim.quotes] == [
        "IS blows up Tadmur prison",
        "Images showed smoke over the demolished prison.",
    ]


def test_two_events_at_one_site_are_two_claims(gazetteer):
    text = (
        "Shelling damaged the Citadel of Aleppo in May 2013. "
        "In July 2015 a tunnel bomb brought down the Citadel of Aleppo's outer gate."
    )
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert [(c.site_key, c.date) for c in claims] == [
        ("aleppo-citadel", "2013-05"),
        ("aleppo-citadel", "2015-07"),
    ]


def test_a_sentence_continuing_a_story_takes_its_date(gazetteer):
    text = (
        "On Sunday militants blew up the Temple of Bel. "
        "Fighters also razed the Tadmur prison, residents said."
    )
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert [(c.site_key, c.date) for c in claims] == [
        ("temple-of-bel", "2015-08-30"),
        ("tadmur-prison", "2015-08-30"),
    ]


def test_the_story_date_is_not_carried_into_another_paragraph_or_into_background(gazetteer):
    text = (
        "On Sunday militants blew up the Temple of Bel. "
        "The Tadmur prison had been demolished earlier.\n\n"
        "The Palmyra Museum was looted."
    )
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert [(c.site_key, c.date) for c in claims] == [
        ("temple-of-bel", "2015-08-30"),
        ("tadmur-prison", ""),
        ("palmyra-museum", ""),
    ]


def test_images_of_two_days_date_what_they_show_between_them(gazetteer):
    text = (
        "Satellite images taken on 27 August 2015 showed the Temple of Bel standing. "
        "Images of 31 August 2015 show that the Temple of Bel has been destroyed."
    )
    claims = [c for c in extract(text, gazetteer, published=PUBLISHED) if c.level != "none"]
    assert [(c.site_key, c.date) for c in claims] == [("temple-of-bel", "2015-08-27/2015-08-31")]


def test_a_stated_day_beats_the_images(gazetteer):
    text = (
        "Images of 27 August 2015 and 31 August 2015 show the Temple of Bel was destroyed "
        "on Sunday."
    )
    assert one(text, gazetteer).date == "2015-08-30"


def test_a_kind_word_next_to_the_named_site_is_not_a_second_claim(gazetteer):
    text = (
        "Militants blew up the Temple of Baalshamin on Sunday. "
        "The temple had stood for two thousand years before it was destroyed."
    )
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert [c.site_key for c in claims] == ["temple-of-baalshamin"]


def test_a_heading_names_the_site_the_next_sentences_speak_of(gazetteer):
    text = (
        "Tadmur prison\n\n"
        "Images taken on 30 August 2015 show the site razed. It was standing in July."
    )
    claim = one(text, gazetteer)
    assert (claim.site_key, claim.level, claim.matched) == (
        "tadmur-prison",
        "destroyed",
        "Tadmur prison",
    )


# Dates


def dated(words, published=PUBLISHED):
    found = find_dates(f"IS blew it up {words}.", published)
    return found[0][2] if found else ""


@pytest.mark.parametrize(
    ("words", "edtf"),
    [
        ("on 30 August 2015", "2015-08-30"),
        ("on August 30, 2015", "2015-08-30"),
        ("on 2015-08-30", "2015-08-30"),
        ("in August 2015", "2015-08"),
        ("in late August 2015", "2015-08-21/2015-08-31"),
        ("in 2015", "2015"),
        ("around 30 August 2015", "2015-08-30~"),
        ("on 30 August", "2015-08-30"),
        ("in May", "2015-05"),
        ("on Sunday", "2015-08-30"),
        ("on Monday", "2015-08-31"),  # on or before the publication day
        ("last Monday", "2015-08-24"),
        ("yesterday", "2015-08-30"),
        ("today", "2015-08-31"),
        ("last week", "2015-08-24/2015-08-30"),  # the Monday-to-Sunday week before
        ("this week", "2015-08-31"),
        ("two days ago", "2015-08-29"),
        ("three weeks ago", "2015-08-07/2015-08-13"),
        ("earlier this month", "2015-08-01/2015-08-30"),
        ("last month", "2015-07"),
        ("over the weekend", "2015-08-29/2015-08-30"),
    ],
)
def test_each_date_form_gives_its_edtf(words, edtf):
    assert dated(words) == edtf


def test_relative_dates_without_a_publication_date_are_left_blank():
    assert dated("on Sunday", published=None) == ""
    assert dated("on 30 August 2015", published=None) == "2015-08-30"


def test_when_it_was_said_is_not_when_it_happened(gazetteer):
    claim = one("Officials said on Monday that IS blew up the Temple of Bel on Sunday.", gazetteer)
    assert claim.date == "2015-08-30"


def test_no_date_words_give_no_date(gazetteer):
    assert one("IS blew up the Temple of Bel.", gazetteer).date == ""


# Kind-only phrases


def test_a_kind_phrase_resolves_when_the_place_has_one_site_of_that_kind(gazetteer):
    claim = one("In Palmyra, IS blew up a triumphal arch.", gazetteer)
    assert claim.site_key == "monumental-arch"
    assert claim.confidence < one("IS blew up the Monumental Arch.", gazetteer).confidence


def test_a_kind_phrase_resolves_by_the_places_passed_in(gazetteer):
    claims = extract("Shelling damaged the citadel.", gazetteer, places=["aleppo"])
    assert [c.site_key for c in claims] == ["aleppo-citadel"]


def test_a_kind_phrase_is_left_for_the_curator_when_ambiguous(gazetteer):
    claims = extract("In Aleppo, fighters destroyed a mosque.", gazetteer)
    assert [(c.site_key, c.kind) for c in claims] == [(None, "mosque")]


def test_a_kind_phrase_without_a_place_is_left_for_the_curator(gazetteer):
    assert [c.site_key for c in extract("Fighters destroyed the prison.", gazetteer)] == [None]


def test_a_plural_kind_word_never_resolves_to_one_site(gazetteer):
    claims = extract("In Palmyra, IS destroyed the prisons.", gazetteer)
    assert all(c.site_key != "tadmur-prison" for c in claims)


# Confidence and shape


def test_hearsay_lowers_confidence(gazetteer):
    plain = one("IS blew up the Temple of Bel on Sunday.", gazetteer)
    hearsay = one("IS reportedly blew up the Temple of Bel on Sunday.", gazetteer)
    assert 0 < hearsay.confidence < plain.confidence <= 1


def test_one_claim_per_sentence_and_site(gazetteer):
    claims = extract(
        "IS destroyed the Temple of Bel and then blew up the Temple of Bel.", gazetteer
    )
    assert len(claims) == 1


def test_empty_text_gives_no_claims(gazetteer):
    assert extract("", gazetteer) == []
    assert extract("   \n ", gazetteer) == []


def test_the_reason_names_the_damage_word_and_the_date_words(gazetteer):
    reason = one("IS blew up the Temple of Bel on Sunday.", gazetteer).reason
    assert "blew up" in reason
    assert "on Sunday" in reason


PARTS = Gazetteer(
    [
        ("aleppo", "city", ["Aleppo"]),
        ("great-mosque", "mosque", ["Great Mosque of Aleppo", "Umayyad Mosque"], "aleppo"),
        ("minaret", "other", ["Minaret of the Great Mosque of Aleppo"], "aleppo", "great-mosque"),
        ("dura-europos", "city", ["Dura-Europos"]),
    ]
)


def test_a_part_is_named_through_its_whole():
    text = "The minaret of the Great Mosque of Aleppo was brought down on 24 April 2013."
    assert [c.site_key for c in extract(text, PARTS)] == ["minaret"]


def test_the_whole_and_its_part_are_both_claimed_when_both_were_hit():
    text = "Shelling on 24 April 2013 destroyed the Umayyad Mosque and its minaret."
    assert sorted(c.site_key for c in extract(text, PARTS)) == ["great-mosque", "minaret"]


def test_a_city_naming_the_monument_that_follows_is_not_claimed(gazetteer):
    claims = extract("Ancient Palmyra temple blown up by militants", gazetteer)
    assert "palmyra" not in [c.site_key for c in claims]


def test_an_ancient_city_nothing_is_part_of_is_a_monument():
    text = "Dura-Europos.\n\nImages of 2 April 2014 show the walled area covered in looting pits."
    claim = extract(text, PARTS)[0]
    assert (claim.site_key, claim.level) == ("dura-europos", "unknown")


@pytest.mark.parametrize(
    ("words", "level"),
    [
        ("covered in more than 3,700 looting pits", "severe"),
        ("pitted with hundreds of looting holes", "moderate"),
        ("scarred by looting pits", "unknown"),
    ],
)
def test_looting_is_measured_by_how_much(words, level):
    assert one(f"Images show the Tower tombs {words}.", Gazetteer(SITES)).level == level


def test_an_assessed_extent_is_the_level(gazetteer):
    assert one("We assess the damage to the Tadmur prison as severe.", gazetteer).level == "severe"


def test_undated_news_takes_the_date_its_lede_gives(gazetteer):
    text = (
        "Shelling hits Aleppo\n\n"
        "Rebel shelling of government-held districts of Aleppo killed at least 12 people on "
        "Sunday, a monitoring group said, as fighting spread to the old city.\n\n"
        "Opposition media reported that shells had struck the Citadel of Aleppo."
    )
    assert one(text, gazetteer).date == "2015-08-30"


SPELLINGS = Gazetteer(
    [
        ("mosul", "city", ["Mosul"]),
        ("clock-church", "church", ["Clock Church (Mosul)"], "mosul"),
        ("khalid-mosque", "mosque", ["Khaled bin al-Waleed mosque"], "mosul"),
        ("umayyad", "mosque", ["Umayyad Mosque of Mosul"], "mosul"),
        ("simeon", "church", ["Church of Saint Simeon"], "mosul"),
    ]
)


@pytest.mark.parametrize(
    ("sentence", "site"),
    [
        ("Militants blew up the Clock Church on Sunday.", "clock-church"),  # no "(Mosul)"
        ("Shelling damaged the Khaled Ibn Walid mosque.", "khalid-mosque"),
        ("Shelling damaged the Umayyad Mosque in Mosul.", "umayyad"),
        ("Shelling damaged Mosul's Umayyad Mosque.", "umayyad"),
        ("Shelling damaged the Church of St. Simeon.", "simeon"),
    ],
)
def test_a_name_is_found_however_the_article_spells_it(sentence, site):
    assert [c.site_key for c in extract(sentence, SPELLINGS)] == [site]


def test_places_in_a_list_of_three_are_each_claimed(gazetteer):
    text = (
        "Heritage sites in Palmyra, Aleppo and the Tadmur prison have all sustained major damage."
    )
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert sorted(c.site_key for c in claims) == ["aleppo", "palmyra", "tadmur-prison"]


def test_an_indefinite_kind_phrase_is_not_the_monument_named_before(gazetteer):
    text = (
        "The Great Mosque of Aleppo was shelled in May. "
        "On Sunday fighters blew up a mosque near the old souq."
    )
    claims = extract(text, gazetteer, published=PUBLISHED)
    assert [c.site_key for c in claims if c.date == "2015-08-30"] == [None]  # which mosque?


def test_a_definite_kind_phrase_is_the_monument_named_before(gazetteer):
    text = "Fighters entered the Palmyra Museum on Saturday. On Sunday they torched the museum."
    claim = one(text, gazetteer)
    assert (claim.site_key, claim.level, claim.date) == ("palmyra-museum", "severe", "2015-08-30")


def test_a_fire_that_swept_through_a_monument_is_severe_damage(gazetteer):
    assert one("A fire swept through the Palmyra Museum on Sunday.", gazetteer).level == "severe"


def test_a_part_named_by_several_of_its_words_is_read_the_same_every_time():
    gazetteer = Gazetteer(
        [
            ("aleppo", "city", ["Aleppo"]),
            ("mosque", "mosque", ["Great Mosque of Aleppo"], "aleppo"),
            ("tower", "other", ["Seljuk Tower", "Old Minaret"], "aleppo", "mosque"),
        ]
    )
    text = "Shelling destroyed the Seljuk minaret of the Great Mosque of Aleppo."
    assert [c.site_key for c in extract(text, gazetteer)] == ["tower"]


def test_two_names_each_shared_by_two_sites_are_two_claims_for_the_curator():
    gazetteer = Gazetteer(
        [
            ("homs-souq", "market", ["Old Souk"], "homs"),
            ("hama-souq", "market", ["Old Souk"], "hama"),
            ("homs-mosque", "mosque", ["Great Mosque"], "homs"),
            ("hama-mosque", "mosque", ["Great Mosque"], "hama"),
        ]
    )
    text = "Shelling destroyed the Great Mosque. Fire gutted the Old Souk."
    claims = extract(text, gazetteer)
    assert [(c.site_key, c.matched) for c in claims] == [
        (None, "Great Mosque"),
        (None, "Old Souk"),
    ]


def test_offsets_hold_after_a_letter_that_lowers_to_two():
    text = "İstanbul reporters said so. Militants blew up the Temple of Bel on Sunday."
    claim = one(text, Gazetteer(SITES))
    assert text[claim.match_start : claim.match_end] == "Temple of Bel"
    assert "blew up" in claim.reason


def test_a_sentence_of_many_dates_is_read_back_only_a_short_way_for_each(monkeypatch):
    from reports.intake import dates

    scanned = []
    pattern = dates._REPORTING_RE

    class Counting:
        def search(self, text, pos, endpos):
            scanned.append(endpos - pos)
            return pattern.search(text, pos, endpos)

    monkeypatch.setattr(dates, "_REPORTING_RE", Counting())
    dates.find_dates("On 5 May 2015 fighters were seen, " * 50)
    assert len(scanned) == 50
    assert max(scanned) <= 60


def test_a_run_of_words_with_no_full_stop_is_not_read_for_dates(monkeypatch):
    calls = []
    real = sys.modules["reports.intake.extract"].find_dates
    monkeypatch.setattr(
        sys.modules["reports.intake.extract"],
        "find_dates",
        lambda *args: calls.append(len(args[0])) or real(*args),
    )
    extract("on 5 May 2015 fighters were seen, " * 200 + "the Temple of Bel.", Gazetteer(SITES))
    assert calls == []
