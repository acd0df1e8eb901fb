"""One key per household (a delivery point), for purchase limits per address: every spelling of one address
gives one key, so a script writing one household many ways gets no extra units.

The text is cleaned first: Unicode NFKC (full-width digits become digits), format characters dropped (zero-width
spaces and joiners), letters that only look Latin mapped to the Latin letter they imitate (the confusables of
Unicode UTS #39, e.g. a Cyrillic a, U+0430), case folded, dots inside words dropped ("Ma.in"). Then `usaddress` (a
maintained US address parser) finds the parts a carrier delivers by: the house number (leading zeros dropped),
the street name's first word by its Soundex code (a misspelled "Mian St" is "Main St"; the street type and the
directionals are left out: "Stret", "N Main" — rare twins in one ZIP share a limit, a bot cannot add households
by spelling), and the unit (two flats in one building are two households). The city is left out (the ZIP says
where), the ZIP counts by its five digits. A text the parser cannot read keeps its whole cleaned
spelling, USPS abbreviations applied.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import jellyfish
import usaddress
from confusable_homoglyphs import confusables

# USPS Publication 28 abbreviations (C1 street suffixes, C2 secondary units, directionals), the common ones: the
# fallback key of an address the parser cannot read.
ABBREVIATIONS = {
    "street": "st", "str": "st", "avenue": "ave", "av": "ave", "road": "rd", "boulevard": "blvd", "drive": "dr",
    "lane": "ln", "court": "ct", "place": "pl", "terrace": "ter", "circle": "cir", "highway": "hwy",
    "parkway": "pkwy", "square": "sq", "trail": "trl", "way": "way", "apartment": "apt", "suite": "ste",
    "unit": "apt", "number": "apt", "no": "apt", "building": "bldg", "floor": "fl", "north": "n", "south": "s",
    "east": "e", "west": "w", "northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw",
}  # fmt: skip
WORD = re.compile(r"[a-z0-9]+")
ALPHANUMERIC = re.compile(r"[^a-z0-9]")
UNIT_DESIGNATORS = {"apt", "ste", "bldg", "fl"}


def clean(text: str) -> str:
    """NFKC, no format characters, confusable letters as the Latin ones they imitate, case folded, no dots."""
    text = "".join(ch for ch in unicodedata.normalize("NFKC", text) if unicodedata.category(ch) != "Cf")
    looks_alike = confusables.is_confusable(text, greedy=True, preferred_aliases=["latin", "common"]) or []
    latin = {found["character"]: found["homoglyphs"][0]["c"] for found in looks_alike if found["homoglyphs"]}
    return "".join(latin.get(ch, ch) for ch in text).casefold().replace(".", "")


def normalise(text: str) -> str:
    """Words only (punctuation dropped), USPS abbreviations, single spaces; a unit designator without a unit after
    it ("1 Main St #", "Apt") is dropped, so it cannot make a second address."""
    words = [ABBREVIATIONS.get(word, word) for word in WORD.findall(clean(text).replace("#", " apt "))]
    kept = [
        word
        for i, word in enumerate(words)
        if word not in UNIT_DESIGNATORS or (i + 1 < len(words) and words[i + 1] not in UNIT_DESIGNATORS)
    ]
    return " ".join(kept)


def _token(value: str) -> str:
    """Letters and digits only, leading zeros dropped ("0012" -> "12", "# 04" -> "4")."""
    kept = ALPHANUMERIC.sub("", value)
    return (kept.lstrip("0") or "0") if kept else ""


def delivery_point(address: str) -> str:
    """The parts of a street address a carrier delivers by, or its whole normalised spelling when the parser
    cannot read it."""
    cleaned = clean(address)
    try:
        parts, kind = usaddress.tag(cleaned)
    except usaddress.RepeatedLabelError:
        return "text:" + normalise(address)
    if kind == "PO Box" and parts.get("USPSBoxID"):
        return f"box:{_token(parts['USPSBoxID'])}"
    number, street = parts.get("AddressNumber"), parts.get("StreetName")
    if not number or not street:
        return "text:" + normalise(address)
    name = _token(street.split()[0]) or street
    unit = _token(parts.get("OccupancyIdentifier", "") + parts.get("SubaddressIdentifier", ""))
    return f"{_token(number)}|{jellyfish.soundex(name)}|{unit}"


def address_key(shipping: dict[str, str]) -> str:
    """A stable key of the household (delivery point and five-digit ZIP); the name and the city are not in it."""
    parts = (delivery_point(shipping["address"]), clean(shipping["state"]).strip().upper(), shipping["zip"].strip()[:5])
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
