"""One key per shipping address, for purchase limits per address: spellings of one address give one key.

Carriers normalise addresses with USPS data (CASS); offline, this keeps the part of it that a script varying
an address cheaply would use: case, punctuation, spacing, and the USPS street-suffix and unit abbreviations
("Street"/"St.", "Apartment"/"Apt"/"#"). The unit stays part of the key: two flats in one building are two
households. The ZIP counts by its five digits.
"""

from __future__ import annotations

import hashlib
import re

# USPS Publication 28 abbreviations (C1 street suffixes, C2 secondary units, directionals), the common ones.
ABBREVIATIONS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
    "lane": "ln", "court": "ct", "place": "pl", "terrace": "ter", "circle": "cir", "highway": "hwy",
    "parkway": "pkwy", "square": "sq", "trail": "trl", "way": "way", "apartment": "apt", "suite": "ste",
    "unit": "apt", "number": "apt", "no": "apt", "building": "bldg", "floor": "fl", "north": "n", "south": "s",
    "east": "e", "west": "w", "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}  # fmt: skip
WORD = re.compile(r"[a-z0-9]+")


UNIT_DESIGNATORS = {"apt", "ste", "bldg", "fl"}


def normalise(text: str) -> str:
    """Lower case, words only (punctuation dropped), USPS abbreviations, single spaces; a unit designator
    without a unit after it ("1 Main St #", "Apt") is dropped, so it cannot make a second address."""
    words = [ABBREVIATIONS.get(word, word) for word in WORD.findall(text.casefold().replace("#", " apt "))]
    kept = [
        word
        for i, word in enumerate(words)
        if word not in UNIT_DESIGNATORS or (i + 1 < len(words) and words[i + 1] not in UNIT_DESIGNATORS)
    ]
    return " ".join(kept)


def address_key(shipping: dict[str, str]) -> str:
    """A stable key of the shipping address (street, city, state, five-digit ZIP); the name is not part of it."""
    parts = (
        normalise(shipping["address"]),
        normalise(shipping["city"]),
        shipping["state"].strip().upper(),
        shipping["zip"].strip()[:5],
    )
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
