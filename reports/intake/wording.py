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
    (r"reduc\w+ (?:\w+ ){0,2}to rubble", "destroyed", "reduced to rubble"),
    (r"bulldoz\w*", "destroyed", "bulldozed"),
    (r"obliterat\w*|wiped out", "destroyed", "obliterated"),
    (r"smash\w*", "destroyed", "smashed"),
    (r"toppl\w*", "destroyed", "toppled"),
    (r"t(?:orn|ore|earing) down|pulled down|brought down", "destroyed", "torn down"),
    (r"(?:in|into) pieces|shattered", "destroyed", "in pieces"),
    (r"gutted|collaps\w*", "severe", "collapsed"),
    (r"torch(?:ed|ing)|set (?:on )?fire|set ablaze|burn(?:ed|t|ing)", "severe", "burned"),
    (r"damag\w*", "moderate", "damaged"),
    (r"defac\w*|vandali[sz]\w*|desecrat\w*", "moderate", "defaced"),
    (r"detonat\w*", "unknown", "detonated"),
    (r"loot\w*|plunder\w*|pillag\w*|ransack\w*", "unknown", "looted"),
    (r"shell(?:ed|ing)", "unknown", "shelled"),
    (r"bomb(?:ed|ing)|air ?strikes? (?:hit|struck)", "unknown", "bombed"),
    (
        r"hit by (?:\w+ ){0,2}(?:shells?|rockets?|mortars?|air ?strikes?|missiles?)",
        "unknown",
        "hit",
    ),
]
CUE_RE = re.compile(
    "|".join(f"(?P<c{i}>\\b(?:{p})\\b)" for i, (p, _, _) in enumerate(CUES)),
)

SEVERE_RE = re.compile(
    r"\b(?:heav(?:y|ily)|bad(?:ly)?|sever(?:e|ely)|serious(?:ly)?|extensive(?:ly)?|large(?:ly)?"
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
    r"fail\w*|unless|if|whether|den(?:y|ied|ies)|aim\w* to|sought to|seek\w* to|ready to|"
    r"prepar\w* to|prepar\w* for|pledg\w*|promis\w*|possibl[ey]|potential\w*|rigg\w*|"
    r"escaped|avoid\w*|spared)\b|n't\b"
)
INTACT_RE = re.compile(
    r"\b(?:intact|unharmed|undamaged|untouched|spared|still stand\w*|survived|unscathed|"
    r"no (?:\w+ )?damage|in good condition|escaped)\b"
)
SENTENCE_BLOCK_RE = re.compile(
    r"\b(?:den(?:y|ied|ies|ial)|untrue|false|fake|hoax|baseless|unfounded)\b"
    r"|^[\s\"“'‘]*(?:if|unless|should)\b"
)
RESTORATION_RE = re.compile(
    r"\b(?:restor\w*|reconstruct\w*|rebuil\w*|repair\w*|renovat\w*|reopen\w*|replica\w*|"
    r"re-?erect\w*|reassembl\w*|conserv\w*|cop(?:y|ies))\b"
)
HEARSAY_RE = re.compile(
    r"\b(?:reportedly|allegedly|according to|said to|claimed|claims|unconfirmed|rumou?r\w*|"
    r"reports? (?:that|say|said)|purportedly|apparently)\b"
)
PASSIVE_RE = re.compile(r"\b(?:was|were|been|being|is|are)\s+(?:\w+ly\s+)?$")
LOCATION_RE = re.compile(
    r"\b(?:in|at|near|around|outside|inside|from|to|towards?|into|across|within|across)"
    r"(?: the (?:\w+ )?(?:town|city|oasis|desert city|ancient city) of)?\s+$",
    re.IGNORECASE,
)
RELATIVE_RE = re.compile(r"\b(?:which|that|who|where|whose|when)\b")
CLAUSE_RE = re.compile(r";|\b(?:but|while|whilst|whereas|although|though|however|yet|meanwhile)\b")


def adjust_level(level, before):
    if level not in ("destroyed", "moderate"):
        return level
    tail = " ".join(before.split()[-3:])
    if TOTAL_RE.search(tail):
        return "destroyed"
    if SLIGHT_RE.search(tail):
        return "slight" if level == "moderate" else "severe"
    if SEVERE_RE.search(tail):
        return "severe"
    return level
