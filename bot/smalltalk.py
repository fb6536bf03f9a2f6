"""Recognising chit-chat (hi, thanks, bye, ok) and requests the bot declines (diagnosis, doses)."""

from __future__ import annotations

import re
from typing import Final, Literal

from bot.screening import fold

SmallTalk = Literal["hello", "thanks", "bye", "ok"]
Decline = Literal["diagnosis", "dose"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A message is small talk only when every word is chit-chat, so "hi! does physio help
# sciatica?" is still answered as a question.
_KINDS: Final[dict[SmallTalk, frozenset[str]]] = {
    "bye": _words("bye goodbye byebye cya later goodnight night farewell ciao see"),
    "thanks": _words("thanks thank thx ty thankyou cheers appreciated appreciate ta"),
    "hello": _words("hi hello hey hiya howdy yo morning afternoon evening greetings"),
    "ok": _words(
        "ok okay k kk cool great good nice fine alright sure got gotcha understood perfect "
        "awesome lovely noted right brilliant excellent yes yeah yep no nope nah"
    ),
}
_FILLER: Final = _words(
    "there you so much very a lot again for it that this the bot all and oh well good great "
    "day then now soon really thats helpful help just ok okay i see to your yours"
)
_PRIORITY: Final[tuple[SmallTalk, ...]] = ("bye", "thanks", "hello", "ok")
_MAX_WORDS: Final = 8


def small_talk(text: str) -> SmallTalk | None:
    """The kind of chit-chat a message is, or None if it says anything more."""
    words = fold(text).split()
    if not words or len(words) > _MAX_WORDS:
        return None
    known = set().union(*_KINDS.values(), _FILLER)
    if any(word not in known for word in words):
        return None
    for kind in _PRIORITY:
        if any(word in _KINDS[kind] for word in words):
            return kind
    return None


# Asking what is wrong, what a scan shows, or whether "it is" a named condition: the bot gives
# information, not a diagnosis. Phrases are matched on folded text (no apostrophes).
_DIAGNOSIS: Final = re.compile(
    r"\b("
    r"diagnos\w*"
    r"|whats? (is )?(wrong|going on) with (me|my)"
    r"|what (is|could|might) (be )?(wrong|causing)"
    r"|what (do|does) (i|my \w+) have"
    r"|(do|could|might) i have (a |an )?(herniated|slipped|bulging|disc|sciatica|arthritis|cancer"
    r"|a tumou?r|stenosis|kidney|an? infection)"
    r"|is (it|this|that) (a |an )?(herniated|slipped|bulging|disc|sciatica|arthritis|cancer"
    r"|a tumou?r|stenosis|serious|kidney)"
    r"|(read|interpret|explain|look at) (my |the )?(mri|scan|x ?ray|ct|results?|report)"
    r"|(my|the) (mri|scan|x ?ray|ct|report) (says|shows|said|showed|mean)"
    r"|what does (my |the )?(mri|scan|x ?ray|ct|report|result)"
    r")\b"
)
_DOSE: Final = re.compile(
    r"\b("
    r"dose|doses|dosage|dosing|\d+ ?mg|milligrams?"
    r"|how (much|many|often) (\w+ ){0,3}(should|can|do) i take"
    r"|how (much|many) (pills|tablets|capsules)"
    r"|(can|should|could) i take"
    r"|safe to take|take with|mix \w+ with"
    r"|(ibuprofen|naproxen|paracetamol|acetaminophen|tylenol|advil|aleve|aspirin|codeine"
    r"|tramadol|gabapentin|pregabalin|lyrica|diclofenac|voltaren|oxycodone|morphine|opioids?"
    r"|muscle relaxants?|cyclobenzaprine|diazepam|steroids?|prednisone)"
    r")\b"
)


def declined(text: str) -> Decline | None:
    """Whether a message asks for a diagnosis or for medicine advice (doses first)."""
    folded = fold(text)
    if _DOSE.search(folded):
        return "dose"
    if _DIAGNOSIS.search(folded):
        return "diagnosis"
    return None
