"""The words that say damage happened, how much, and the words that say it did not
(denial, threat, fear, restoration) or that it is hearsay."""

import re

CUES = [
    (r"dynamit\w*", "destroyed", "dynamited"),
    (r"bl(?:ew|own|owing|ows?) (?:\w+ ){0,3}?up", "destroyed", "blew up"),
    (r"destroy\w*|destruction", "destroyed", "destroyed"),
    (r"demoli\w*", "destroyed", "demolished"),
    (r"raz(?:ed|ing|es)|raze", "destroyed", "razed"),
    (r"levell?(?:ed|ing)", "destroyed", "levelled"),
    (r"flatten\w*", "destroyed", "flattened"),
    (r"pulveri[sz]\w*", "destroyed", "pulverised"),
    (
        r"reduc\w+ (?:\w+ ){0,2}to (?:rubble|ashes|dust)|burn(?:ed|t) to the ground",
        "destroyed",
        "reduced to rubble",
    ),
    (r"bulldoz\w*", "destroyed", "bulldozed"),
    (r"obliterat\w*|wiped out", "destroyed", "obliterated"),
    (r"smash\w*", "destroyed", "smashed"),
    (r"toppl\w*", "destroyed", "toppled"),
    (
        r"t(?:orn|ore|earing) down|pulled down|br(?:ought|ing|inging|ings) down",
        "destroyed",
        "torn down",
    ),
    (r"(?:in|into) pieces|shattered", "destroyed", "in pieces"),
    (
        r"left (?:\w+ ){0,2}in ruins?|(?:heap|pile|mound) of (?:stones|rubble)|no longer exists?"
        r"|only (?:the |its )?foundations (?:remain|are left|still stand)|(?:has|have) gone\b"
        r"|only (?:a few|two|three|four|five|a handful)(?: of (?:its|the))? (?:\w+ )?"
        r"(?:columns|walls|pillars|arches) (?:now |still )?(?:stand|remain)"
        r"|wreck\w*",
        "destroyed",
        "left in ruins",
    ),
    (r"cav(?:ed|ing) in", "severe", "caved in"),
    (
        r"(?:was|were|is|are|has|have|had)(?: not|n.t| never) (?:been )?spared",
        "unknown",
        "not spared",
    ),
    (
        r"ravag\w*|caught fire|engulfed|gutted by fire"
        r"|(?:blaze|fire|flames) (?:broke out|swept|spread|tore|raged)",
        "severe",
        "ravaged",
    ),
    # ("beheaded" is said of people here far more than of statues.)
    (r"hacked (?:away|off)|decapitated", "moderate", "hacked away"),
    (
        r"(?:looting|illegal|illicit) (?:pits?|holes?|dig\w*|excavations?)|pitted with"
        r"|(?:thieves|looters) (?:had )?dug|dug (?:by|into)",
        "unknown",
        "looting pits",
    ),
    (r"gutted|collaps\w*", "severe", "collapsed"),
    (r"torch(?:ed|ing)|set (?:on )?fire|set ablaze|burn(?:ed|t|ing)", "severe", "burned"),
    (r"damag\w*", "unknown", "damaged"),
    (r"defac\w*|vandali[sz]\w*|desecrat\w*", "moderate", "defaced"),
    (r"detonat\w*", "unknown", "detonated"),
    (r"loot\w*|plunder\w*|pillag\w*|ransack\w*", "unknown", "looted"),
    (r"shell(?:ed|ing)", "unknown", "shelled"),
    (r"bomb(?:ed|ing)|air ?strikes? (?:hit|struck)", "unknown", "bombed"),
    (
        r"hit by (?:\w+ ){0,2}(?:shells?|rockets?|mortars?|air ?strikes?|missiles?|barrel bombs?)"
        r"|(?:had|has|have|was|were|been) (?:\w+ )?(?:hit|struck)|hitting",
        "unknown",
        "hit",
    ),
]
CUE_RE = re.compile(
    "|".join(f"(?P<c{i}>\\b(?:{p})\\b)" for i, (p, _, _) in enumerate(CUES)),
)

SEVERE_RE = re.compile(
    r"\b(?:heav(?:y|ily)|bad(?:ly)?|sever(?:e|ely)|serious(?:ly)?|extensive(?:ly)?|large(?:ly)?"
    r"|huge|massive|enormous|grave(?:ly)?"
    r"|most(?:ly)?|part(?:ly|ially|ial)?|significant(?:ly)?|major|considerabl[ey]|much of)\W*$"
)
SLIGHT_RE = re.compile(r"\b(?:slight(?:ly)?|light(?:ly)?|minor|superficial(?:ly)?|little)\W*$")
TOTAL_RE = re.compile(r"\b(?:complete(?:ly)?|total(?:ly)?|entire(?:ly)?|fully|utterly)\W*$")

# Words before a damage word (same comma-free stretch) that make it not a report of
# damage: modality, threats, negation, fear.
BLOCK_RE = re.compile(
    r"\b(?:could|would|might|(?<!\bin )(?<!\d )may(?! \d)|will|shall|should|must|can|"
    r"cannot|won't|not|never|no|nor|without|threat\w*|vow\w*|plan\w*|intend\w*|want\w*|"
    r"tr(?:y|ies|ied|ying) to|"
    r"attempt\w* to|going to|about to|fear\w*|risk\w*|danger|warn\w*|prevent\w*|avert\w*|"
    r"fail\w*|unless|if|whether|den(?:y|ied|ies|ying)|aim\w* to|sought to|seek\w* to|ready to|"
    r"prepar\w* to|prepar\w* for|pledg\w*|promis\w*|possibl[ey]|potential\w*|rigg\w*|"
    r"escaped|avoid\w*|spared|talk\w* about|speak\w* of|think\w* (?:of|about))\b|n't\b"
)
# Words saying a site was found unharmed (proposed as level "none"). "Still stands" and
# "survived" are left out: they mostly set off what was lost ("only the gate still
# stands").
INTACT_RE = re.compile(
    r"\b(?:intact|unharmed|undamaged|untouched|unscathed|no (?:\w+ )?damage|in good condition"
    r"|no (?:visible )?change|unchanged|(?:has|have|had|to have) survived)\b"
    r"(?! (?:when|until|before)\b)"
)
SENTENCE_BLOCK_RE = re.compile(
    r"\b(?:untrue|false|fake|hoax|baseless|unfounded|responsib\w+|blam\w+|accus\w+)\b"
    r"|^[\s\"“'‘]*(?:if|unless|should)\b"
)
# A denial that damage happened: proposed as a citation that contradicts it.
DENIAL_RE = re.compile(r"\bden(?:y|ied|ies|ying|ial)\b")
# Negation alone (no modal, threat or fear): "was not damaged" says the site is unharmed.
NEGATION_RE = re.compile(r"\b(?:not|never|no|without)\b|n't\b")
# Restoration news (not damage), unless the word only describes a monument ("the
# reconstructed gate", "partly rebuilt in the 1960s").
RESTORATION_RE = re.compile(
    r"(?<!\bthe )(?<!\ba )(?<!\bits )(?<!\btheir )(?<!\bpartly )(?<!\bpartially )"
    r"\b(?:restor\w*|reconstruct\w*|rebuil\w*|repair\w*|renovat\w*|reopen\w*|replica\w*|"
    r"re-?erect\w*|reassembl\w*|conserv\w*|cop(?:y|ies))\b"
)
HEARSAY_RE = re.compile(
    r"\b(?:reportedly|allegedly|according to|said to|claimed|claims|unconfirmed|rumou?r\w*|"
    r"reports? (?:that|say|said)|purportedly|apparently)\b"
)
PASSIVE_RE = re.compile(r"\b(?:was|were|been|being|is|are)\s+(?:\w+ly\s+)?$")
LOCATION_RE = re.compile(
    r"\b(?:in|at|near|around|outside|inside|from|to|towards?|into|across|within|beside|below"
    r"|above|overlooking|behind|opposite)"
    r"(?: the (?:\w+ )?(?:town|city|oasis|desert city|ancient city) of)?(?: the| a| an)?"
    r"(?: (?:syria|iraq|turkey|the country|the region)'?s?)?\s+$",
    re.IGNORECASE,
)
# "a mosque", "another shrine": one not named before.
INDEFINITE_RE = re.compile(
    r"\b(?:a|an|another|one|two|three|four|five|several|some|other)\s+(?:(?!the\b)[\w-]+\s+){0,3}$",
    re.I,
)
# Where, in the plainest words: what a monument with parts may be the place of.
NEAR_RE = re.compile(r"\b(?:in|at|near|inside|outside|around|beside|below|above)(?: the)?\s+$")
# A place naming what follows it: "Damascus synagogue", "Deir ez-Zor's damaged Armenian
# memorial".
HERITAGE_NOUN_RE = re.compile(
    r"(?:['’]s)?(?:\s+(?!and\b|or\b|its\b)[\w-]+){0,3}?\s+(?:synagogues?|memorials?|libraries|"
    r"library|markets?|souqs?|souks?|bazaars?|palaces?|gates?|minarets?|domes?|monaster(?:y|ies)"
    r"|cathedrals?|churches|church|mosques?|shrines?|temples?|tombs?|mausoleums?|museums?|"
    r"madrasas?|hammams?|khans?|citadel|castle|walls?|ruins|sites?|heritage|antiquities"
    r"|statues?|lamassus?|reliefs?)\b",
    re.I,
)
# Past damage told as background: not the story the paragraph is telling.
BACKGROUND_RE = re.compile(
    r"\b(?:had (?:already|previously|earlier)|earlier|previously|in the past|once|before the war|"
    r"years? ago|last year|first occupation)\b"
)
RELATIVE_RE = re.compile(r"\b(?:which|that|who|where|whose|when)\b")
CLAUSE_RE = re.compile(r";|\b(?:but|while|whilst|whereas|although|though|however|yet|meanwhile)\b")


# What was lost was inside the building: a museum whose statues were smashed stands.
CONTENTS_RE = re.compile(
    r"^\W*(?:\w+\W+){0,3}?(?:statues?|busts?|reliefs?|artefacts?|artifacts?|objects?|cases|"
    r"collections?|books|manuscripts|mosaics|sculptures?|exhibits?|faces|heads)\b"
)
# A part of the monument: "a section of the outer wall", "several columns".
PART_RE = re.compile(
    r"\b(?:a (?:section|small part|portion|stretch|corner) of|some of|several|a few|"
    r"one of|two of|three of|a number of)\s+(?:\w+\s+){0,7}$"
)
# A large part of it: "destroyed part of the temple", "about a third of the old city".
LARGE_PART_RE = re.compile(
    r"\b(?:(?:large |most |much |the (?:\w+ )?)?(?:parts?|half|halves) of|a third of|"
    r"two thirds of|a quarter of|much of|most of)\s+(?:\w+\s+){0,7}$"
)
AFTER_LARGE_PART_RE = re.compile(
    r"^\W*(?:(?:large |most |much |the (?:\w+ )?)?(?:parts?|half) of|a third of|much of|"
    r"most of)\b"
)
AFTER_PART_RE = re.compile(
    r"^\W*(?:a (?:section|stretch|corner|portion|small part) of|several|a few|some of|one of)\b"
)
PERCENT_RE = re.compile(r"\b(\d{1,3}) ?(?:per ?cent|%)")


# "We assess the damage as severe", "damage assessed as moderate".
ASSESSED_RE = re.compile(
    r"^(?:\w*+\W++){0,8}?(?:as|was|is)\s+(slight|minor|moderate|severe|extensive|heavy|total)\b"
)
# How much looting: thousands of pits (or most of the site) is severe, dozens or
# hundreds moderate.
MANY_RE = re.compile(
    r"\b(?:thousands|[1-9],\d{3}|most of|across the (?:whole|entire))\b"
    r"|\b[1-9]\d{3,}\s+(?:\w+\s+){0,2}(?:pits?|holes?)\b"
)
SOME_RE = re.compile(r"\b(?:hundreds|dozens)\b|\b[1-9]\d{1,2}\s+(?:\w+\s+){0,2}(?:pits?|holes?)\b")
ASSESSED = {"slight": "slight", "minor": "slight", "moderate": "moderate", "severe": "severe",
            "extensive": "severe", "heavy": "severe", "total": "destroyed"}  # fmt: skip


def adjust_level(level, before, after="", label=""):
    """The level a damage word implies, given the words before it (and after it: what
    was damaged)."""
    assessed = ASSESSED_RE.match(after) if label == "damaged" else None
    if assessed:
        return ASSESSED[assessed.group(1)]
    if label == "looting pits":
        around = before[-80:] + " " + after[:80]
        if MANY_RE.search(around):
            return "severe"
        if SOME_RE.search(around):
            return "moderate"
        return level
    if level not in ("destroyed", "moderate", "unknown"):
        return level
    if level == "destroyed" and CONTENTS_RE.search(after):
        return "severe"
    percent = PERCENT_RE.search(before[-60:] + " " + after[:40])
    if level == "destroyed" and percent:
        share = int(percent.group(1))
        return "destroyed" if share >= 90 else "severe" if share >= 40 else "moderate"
    words_before = " ".join(before.split()[-8:]) + " "
    if level == "destroyed" and (PART_RE.search(words_before) or AFTER_PART_RE.search(after)):
        return "moderate"
    if level == "destroyed" and (
        LARGE_PART_RE.search(words_before) or AFTER_LARGE_PART_RE.search(after)
    ):
        return "severe"
    tail = " ".join(before.split()[-3:])
    if level == "unknown":
        # An outcome the word leaves open takes the degree said with it: "heavily
        # damaged", "minor damage", "heavily shelled".
        if SLIGHT_RE.search(tail):
            return "slight"
        if SEVERE_RE.search(tail):
            return "severe"
        return level
    if TOTAL_RE.search(tail):
        return "destroyed"
    if SLIGHT_RE.search(tail):
        return "slight" if level == "moderate" else "severe"
    if SEVERE_RE.search(tail):
        return "severe"
    return level
