"""Text curators type, made safe to show beside other text.

Bidirectional controls (the embeddings, overrides and isolates of Unicode's bidi
algorithm) are invisible and change how everything after them is laid out: a site name
holding a right-to-left override reverses the rest of a published line. The register
drops them from every text it stores; Arabic names need none of them, as each is shown
in an element of its own with its direction (dir="rtl", <bdi>).
"""

import re

# LRE, RLE, PDF, LRO, RLO and LRI, RLI, FSI, PDI. The marks (LRM, RLM, ALM) are kept:
# they only hint a direction, and Arabic text uses them.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def without_bidi_controls(text):
    return BIDI_CONTROLS.sub("", text) if isinstance(text, str) else text


# What Django's json_script() escapes: JSON text put inside a <script> element as it is
# can then neither end the element nor open a comment.
SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}
