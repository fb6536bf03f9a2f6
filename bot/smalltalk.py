"""Recognising chit-chat (hi, thanks, bye, ok), questions about the bot itself, and requests
the bot declines (diagnosis, doses)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from bot.screening import fold, unaccented

SmallTalk = Literal["hello", "thanks", "bye", "ok"]
Decline = Literal["diagnosis", "dose"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# A message is small talk only when every word is chit-chat, so "hi! does physio help
# sciatica?" is still answered as a question. The words belong to a language (chosen by the
# knowledge base's ``language``): "vale" is "ok" in Spanish, and a Spanish list mixed into the
# English one would make English messages small talk by accident. Words are compared without
# accents ("adiós" and "adios" alike).
@dataclass(frozen=True)
class ChatWords:
    """One language's chit-chat: the words of each kind, and words that may come with them."""

    kinds: Mapping[SmallTalk, frozenset[str]]
    filler: frozenset[str]


_PRIORITY: Final[tuple[SmallTalk, ...]] = ("bye", "thanks", "hello", "ok")
_MAX_WORDS: Final = 8

ENGLISH_CHAT: Final = ChatWords(
    kinds={
        "bye": _words("bye goodbye byebye cya later goodnight night farewell ciao see"),
        "thanks": _words("thanks thank thx ty thankyou cheers appreciated appreciate ta"),
        "hello": _words("hi hello hey hiya howdy yo morning afternoon evening greetings"),
        "ok": _words(
            "ok okay k kk cool great good nice fine alright sure got gotcha understood perfect "
            "awesome lovely noted right brilliant excellent yes yeah yep no nope nah"
        ),
    },
    filler=_words(
        "there you so much very a lot again for it that this the bot all and oh well good "
        "great day then now soon really thats helpful help just ok okay i see to your yours"
    ),
)
SPANISH_CHAT: Final = ChatWords(
    kinds={
        "bye": _words(
            "adios chao chau hasta luego pronto manana vemos noches despido cuidate cuidese bye"
        ),
        "thanks": _words(
            "gracias graciass agradezco agradecido agradecida agradecidos mil muchisimas thanks"
        ),
        "hello": _words("hola holi holis buenas buenos dias tardes saludos hey ey hello hi"),
        "ok": _words(
            "vale ok okay okey oki bien perfecto genial entendido acuerdo claro bueno listo "
            "estupendo guay dale va ya excelente fenomenal chevere si no nop sale"
        ),
    },
    filler=_words(
        "muy muchas por todo a ti usted ustedes te le lo la el de y que tal pues entonces "
        "otra vez igualmente tambien eh oh ah bot nos me mucho super muchisimo senor senora "
        "amigo amiga tu su buen"
    ),
)
# By the knowledge base's ``language`` code; a language without lists reads English words.
CHAT_WORDS: Final[Mapping[str, ChatWords]] = {"en": ENGLISH_CHAT, "es": SPANISH_CHAT}


def small_talk(text: str, language: str = "en") -> SmallTalk | None:
    """The kind of chit-chat a message is, or None if it says anything more.

    ``language``: the code of the language the conversation is in (its word lists are used).
    """
    chat = CHAT_WORDS.get(language, ENGLISH_CHAT)
    words = unaccented(fold(text)).split()
    if not words or len(words) > _MAX_WORDS:
        return None
    known = set().union(*chat.kinds.values(), chat.filler)
    if any(word not in known for word in words):
        return None
    for kind in _PRIORITY:
        if any(word in chat.kinds[kind] for word in words):
            return kind
    return None


# Asking what the bot is: a person or a program, who made it. Answered honestly, never with a
# topic ("who programmed you" is no question about a treatment programme). Matched on folded
# text, accents removed.
_ABOUT_BOT: Final[Mapping[str, re.Pattern[str]]] = {
    "en": re.compile(
        r"\b(?:are|r) (?:you|u) (?:a |an |just a )?(?:real |actual )?"
        r"(?:person|human|bot|robot|machine|ai|computer|program|chatbot|chat ?gpt)\b"
        r"|\b(?:am i|are we) (?:talking|speaking|chatting|texting) (?:to|with) "
        r"(?:a |an )?(?:real |actual )?(?:person|human|bot|robot|machine|ai|computer)\b"
        r"|\bwho (?:made|built|programmed|created|wrote|designed|coded|runs|owns) "
        r"(?:you|u|this bot|this chat ?bot|this thing)\b"
        r"|^\s*what are (?:you|u)\s*\??\s*$"
    ),
    "es": re.compile(
        r"\b(?:eres|sos) (?:un |una )?(?:persona|humano|humana|bot|robot|maquina|ia|programa)\b"
        r"|\b(?:hablo|estoy hablando) con (?:un |una )?"
        r"(?:persona|humano|humana|bot|robot|maquina)\b"
        r"|\bquien te (?:hizo|creo|programo|diseno)\b"
    ),
}


def about_bot(text: str, language: str = "en") -> str | None:
    """If a message asks what the bot is ("are you a real person?", "who made you"), the rest
    of it (folded, maybe empty) to be answered as usual; None if it does not ask.

    ``language``: the conversation's language; its pattern is tried, and the English one.
    """
    folded = unaccented(fold(text))
    for pattern in (_ABOUT_BOT.get(language, _ABOUT_BOT["en"]), _ABOUT_BOT["en"]):
        if pattern.search(folded):
            return pattern.sub(" ", folded).strip()
    return None


# Asking which symptoms make back pain urgent ("when is back pain an emergency?", "what are the
# red flags?", "which symptoms mean A&E instead of physio?"). Only reached when the red-flag
# check found none in the message: the answer is the list of warning signs, not a topic.
_URGENT_PLACE = (
    r"(?:a e|a and e|accident and emergency|the er|er|emergency|the emergency room|hospital"
    r"|urgent care|999|911|112)"
)
_WARNING_SIGNS: Final[Mapping[str, re.Pattern[str]]] = {
    "en": re.compile(
        r"\b(?:what|which|list|tell me|explain)(?: \w+){0,3} "
        r"(?:red ?flags?|warning signs?|danger signs?)\b"
        r"|\b(?:red ?flags?|warning signs?|danger signs?) (?:for|of|to watch|to look)\b"
        r"|\bwhen (?:is|does|would|should) (?:back pain|backache|back ache|it|my back pain|"
        r"lower back pain|a bad back) (?:an? |be |become |turn into an? )?"
        r"(?:emergency|serious|dangerous|urgent)\b"
        r"|\bhow (?:do|can|would) (?:i|you) (?:know|tell) (?:if|when|whether) (?:back pain|it|"
        r"my back pain|my back|this) (?:is|needs|means) (?:an? )?(?:emergency|serious|urgent"
        r"|dangerous)\b"
        r"|\b(?:what|which)(?: \w+){0,3} (?:symptoms|signs)\b.{0,60}"
        r"\b(?:emergency|urgent|serious|dangerous|worry|worried|worrying)\b"
        r"|\b(?:what|which)(?: \w+){0,3} (?:symptoms|signs)\b.{0,60}\b(?:go to|see|call|visit) "
        + _URGENT_PLACE
        + r"\b"
        r"|\bwhen (?:should|do|would) (?:i|you|someone|people) (?:go to|see|call|visit) "
        + _URGENT_PLACE
        + r"\b"
        r"|\bwhat (?:is|are|s) (?:the )?cauda equina(?: syndrome)?\b"
    ),
    "es": re.compile(
        r"\bsenales? de alarma\b|\bsignos? de alarma\b|\bbanderas? rojas?\b"
        r"|\bcuando (?:es|se considera|hay que preocuparse|debo preocuparme)\b.{0,30}"
        r"\b(?:urgente|grave|emergencia|peligroso)\b"
        r"|\bcuando (?:es|son) (?:urgente|grave|una emergencia)\b"
        r"|\bcuando (?:debo|tengo que|hay que) ir a (?:urgencias|emergencias|el hospital"
        r"|un medico|el medico)\b"
        r"|\bque sintomas\b.{0,60}\b(?:urgencias|urgente|grave|emergencia|preocupar)\b"
    ),
}


def asks_warning_signs(text: str, language: str = "en") -> bool:
    """Whether a message asks which symptoms make back pain urgent, not about having one.

    ``language``: the conversation's language; its pattern is tried, and the English one.
    """
    folded = unaccented(fold(text))
    patterns = (_WARNING_SIGNS.get(language, _WARNING_SIGNS["en"]), _WARNING_SIGNS["en"])
    return any(pattern.search(folded) for pattern in patterns)


# Asking what is wrong, what a scan shows, or whether "it is" a named condition: the bot gives
# information, not a diagnosis. Phrases are matched on folded text (no apostrophes).
_DIAGNOSIS_EN: Final = re.compile(
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
_DOSE_EN: Final = re.compile(
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


# The same in Spanish, matched on folded text without accents ("que", "ciatica").
_DIAGNOSIS_ES: Final = re.compile(
    r"\b("
    r"diagnostic\w*|diagnosis"
    r"|que (me|le) (pasa|ocurre|sucede)"
    r"|que (me )?(puede|podria) (ser|estar pasando|pasar)"
    r"|que (es lo que )?tengo\b(?! que)"
    r"|(tendre|podria tener|puedo tener|sera|puede ser|podria ser|^es|^seria) (esto |eso )?"
    r"(una |un |algo )?(hernia|ciatica|artritis|artrosis|cancer|tumor|estenosis|infeccion|grave"
    r"|rinon|protrusion|lumbago)"
    r"|(lee|leer|leerme|interpreta|interpretar|interpretarme|explica|explicar|explicame|mira"
    r"|mirar|revisa|revisar)( me)? (mi |mis |la |el |los )?(resonancia|rmn|rm|escaner"
    r"|radiografia|tac|resultados?|informe|analisis|placas?)"
    r"|(mi|la|el|los) (resonancia|rmn|radiografia|escaner|informe|tac|resultados?) "
    r"(dice|dicen|muestra|muestran|indica|indican|significa|significan|pone)"
    r"|que (significa|quiere decir|dice) (mi |la |el )?(resonancia|rmn|radiografia|escaner"
    r"|informe|tac|resultado)"
    r")\b"
)
_DOSE_ES: Final = re.compile(
    r"\b("
    r"dosis|\d+ ?mg|miligramos?"
    r"|cuant[oa]s? (\w+ ){0,3}(debo|puedo|tengo que|hay que) tomar"
    r"|cuant[oa]s (pastillas|comprimidos|capsulas|sobres)"
    r"|(puedo|debo|podria|deberia) tomar(me)?"
    r"|es seguro tomar|tomar con|mezclar \w+ con"
    r"|(ibuprofeno|naproxeno|paracetamol|acetaminofen|aspirina|codeina|tramadol|gabapentina"
    r"|pregabalina|lyrica|diclofenaco|voltaren|oxicodona|morfina|opioides?|relajantes? musculares?"
    r"|ciclobenzaprina|diazepam|valium|corticoides?|esteroides?|prednisona|metamizol|nolotil"
    r"|enantyum|dexketoprofeno|antiinflamatorios?)"
    r")\b"
)


@dataclass(frozen=True)
class DeclineRules:
    """One language's patterns for what the bot declines, tried on folded text."""

    diagnosis: re.Pattern[str]
    dose: re.Pattern[str]
    accents: bool = True  # False: tried on the text with its accents removed


DECLINE_RULES: Final[Mapping[str, DeclineRules]] = {
    "en": DeclineRules(_DIAGNOSIS_EN, _DOSE_EN),
    "es": DeclineRules(_DIAGNOSIS_ES, _DOSE_ES, accents=False),
}


def declined(text: str, language: str = "en") -> Decline | None:
    """Whether a message asks for a diagnosis or for medicine advice (doses first).

    ``language``: the code of the language the conversation is in; its patterns are tried,
    and English ones too (drug names and "MRI" turn up in any language).
    """
    folded = fold(text)
    rules = DECLINE_RULES.get(language, DECLINE_RULES["en"])
    tried = [rules] if rules is DECLINE_RULES["en"] else [rules, DECLINE_RULES["en"]]
    forms = [folded if r.accents else unaccented(folded) for r in tried]
    if any(r.dose.search(f) for r, f in zip(tried, forms, strict=True)):
        return "dose"
    if any(r.diagnosis.search(f) for r, f in zip(tried, forms, strict=True)):
        return "diagnosis"
    return None
