"""A word and word-pair model of urgent messages: a softer net under the red-flag check.

The check (`bot/safety.py`) decides what is urgent, phrase by phrase, so an admin can read
and change every reason. People still describe emergencies in words no phrase has yet. This
model learns from labelled messages (`knowledge/examples.yaml`: each red-flag category's
urgent messages against ordinary ones) and, when a message the check let through reads like
an urgent one, names the category, so the bot adds a line on where to go. It never sends
anyone to urgent care by itself: its mistakes cost one line of text, not a stopped
conversation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Final

from bot.matching import (
    Normaliser,
    example_features,
    learned_counts,
    nb_floors,
    nb_gain,
    nb_posteriors,
)

# The class of everything that is not urgent.
ORDINARY: Final = ""


class UrgencyModel:
    """Naive Bayes over red-flag categories and the ordinary class; :meth:`category_of`.

    ``ordinary`` counts the features of ``ordinary_texts`` messages that are not urgent.
    """

    def __init__(
        self,
        urgent: Mapping[str, Sequence[str]],
        ordinary: Counter[str],
        ordinary_texts: int,
        normaliser: Normaliser,
        threshold: float,
        max_chars: int = 1000,
    ) -> None:
        self.normaliser = normaliser
        self.threshold = threshold
        self.max_chars = max_chars
        counts: dict[str, Counter[str]] = {ORDINARY: ordinary}
        sizes: list[int] = [ordinary_texts]
        for category, texts in urgent.items():
            if texts:
                counts[category] = learned_counts(normaliser, [t[:max_chars] for t in texts])
                sizes.append(len(texts))
        self.classes: tuple[str, ...] = tuple(counts)
        self.counts: tuple[Counter[str], ...] = tuple(counts.values())
        self.ordinary = ordinary
        # The urgent classes' features, each with the classes that use it and its gain there:
        # a message visits only those. The ordinary class (tens of thousands of features) is
        # looked up directly, not indexed: that would cost more load time than it saves.
        self.urgent_by_feature: dict[str, list[tuple[int, float]]] = {}
        for number, own in enumerate(self.counts[1:], start=1):
            for feature, n in own.items():
                users = self.urgent_by_feature.get(feature)
                if users is None:
                    self.urgent_by_feature[feature] = [(number, nb_gain(n))]
                else:
                    users.append((number, nb_gain(n)))
        # log P(unseen feature | class); a feature seen n times adds log((n + alpha) / alpha).
        self.floors: tuple[float, ...] = nb_floors(self.counts)
        # Each class's share of the messages: most are ordinary, so a short message with one
        # night or fall word ("does stretching help at night?") needs more than that word.
        self.priors: tuple[float, ...] = tuple(math.log(n / sum(sizes)) for n in sizes)

    @property
    def trained(self) -> bool:
        """False without urgent examples: then it never names a category."""
        return len(self.classes) > 1

    def urgency(self, text: str) -> tuple[float, str | None]:
        """The posterior that ``text`` is urgent (any category), and the likeliest category."""
        if not self.trained:
            return 0.0, None
        gains = [0.0] * len(self.classes)
        size = 0
        ordinary, urgent = self.ordinary, self.urgent_by_feature
        for feature in dict.fromkeys(example_features(self.normaliser, text[: self.max_chars])):
            users = urgent.get(feature)
            n = ordinary.get(feature, 0)
            if users is None and not n:
                continue  # no class has seen it: it says nothing about which one is meant
            size += 1
            if n:
                gains[0] += nb_gain(n)
            for number, gain in users or ():
                gains[number] += gain
        if not size:
            return 0.0, None
        loglik = [
            prior + floor * size + gain
            for prior, floor, gain in zip(self.priors, self.floors, gains, strict=True)
        ]
        shares = nb_posteriors(loglik)
        # Class 0 is the ordinary one; the rest are categories, in red_flags.yaml order.
        best = max(range(1, len(shares)), key=shares.__getitem__)
        return 1.0 - shares[0], self.classes[best]

    def category_of(self, text: str) -> str | None:
        """The category ``text`` reads like, when it reads like an urgent message at all."""
        if self.threshold >= 1.0:
            return None  # turned off in the settings
        share, category = self.urgency(text)
        return category if share >= self.threshold else None


def ordinary_counts(
    normaliser: Normaliser, counted: Iterable[Mapping[str, int]], texts: Iterable[str]
) -> Counter[str]:
    """The ordinary class: features already counted (the topics') and those of ``texts``."""
    total: Counter[str] = Counter()
    for own in counted:
        total.update(own)
    total.update(learned_counts(normaliser, texts))
    return total
