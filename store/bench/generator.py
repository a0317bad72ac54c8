"""Deterministic, varied insight-like texts for benchmark and evaluation stores.

Templates crossed with vocabularies of subjects, claims, numbers and named companies or people give
sentences that read like podcast takeaways, with enough rare names that the lexical ranking has
real work to do. The same seed always gives the same corpus, so cached embeddings stay valid.

``generate`` feeds the speed benchmark (short one-sentence texts on many subjects);
``distractor_briefs`` feeds the evaluation: on-topic insights in the styles of the real briefs,
grouped as briefs, that a ranking must tell apart from the insight a query is after.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from store.bench import distractor_topics as vocabulary
from store.text import insight_id

GENERATOR_VERSION = 1

_SUBJECTS = [
    "inference cost",
    "model evaluation",
    "team size",
    "sleep debt",
    "index funds",
    "chip design",
    "retrieval quality",
    "customer churn",
    "pricing power",
    "hiring speed",
    "code review",
    "battery storage",
    "supply chains",
    "remote work",
    "open-source licensing",
    "data labelling",
    "latency budgets",
    "habit formation",
    "interest rates",
    "venture returns",
    "energy grids",
    "protein folding",
    "robot dexterity",
    "compiler design",
    "cache locality",
    "fraud detection",
    "onboarding",
    "product discovery",
    "attention spans",
    "meeting load",
]
_CLAIMS = [
    "matters more than most teams assume",
    "is usually the real bottleneck",
    "compounds quietly over years",
    "falls faster than anyone forecast",
    "is mispriced by the market",
    "decides who wins the next cycle",
    "is where most projects fail",
    "rewards patience over cleverness",
    "hides behind vanity metrics",
    "improves tenfold when measured weekly",
]
_REASONS = [
    "because feedback loops get shorter",
    "since small errors accumulate",
    "as incentives drift over time",
    "because the cheapest option wins at scale",
    "since nobody owns the problem",
    "because data beats opinions",
    "as hardware keeps getting cheaper",
    "because trust takes years to rebuild",
]
_NAMES = [
    "Quorvex",
    "Brantlow Labs",
    "Mirelle Okonkwo",
    "Tessaline",
    "Dravik Systems",
    "Ondrej Halvorsen",
    "Lumacore",
    "Sabine Achterberg",
    "Velquist",
    "Harrow & Finch",
    "Kaito Nishimura",
    "Plexaris",
    "Ysolde Marchetti",
    "Corvantic",
    "Amaru Quispe",
    "Zentheon",
    "Fenwick Abara",
    "Nuvalis",
    "Ingrid Solvang",
    "Parametrix",
]
_TEMPLATES = [
    "{Subject} {claim}, {reason}.",
    "{name} found that {subject} {claim}: a {number}% change showed up within {months} months.",
    "According to {name}, {subject} {claim}, {reason}.",
    "Teams that track {subject} every week see {number}% better outcomes, {reason}.",
    "{Subject} {claim}. {name} cut it by {number}% in {months} months by measuring it first.",
    "The hidden lesson of {subject}: it {claim}, {reason}.",
]


def generate(count: int, seed: int = 7) -> list[str]:
    """``count`` distinct sentences."""
    random_source = random.Random(seed)
    seen: set[str] = set()
    texts: list[str] = []
    while len(texts) < count:
        subject = random_source.choice(_SUBJECTS)
        sentence = random_source.choice(_TEMPLATES).format(
            Subject=subject[0].upper() + subject[1:],
            subject=subject,
            claim=random_source.choice(_CLAIMS),
            reason=random_source.choice(_REASONS),
            name=random_source.choice(_NAMES),
            number=random_source.randint(3, 95),
            months=random_source.randint(2, 36),
        )
        sentence = f"{sentence} (case {len(texts)})" if sentence in seen else sentence
        seen.add(sentence)
        texts.append(sentence)
    return texts


_PARAPHRASES = [
    "why does {subject} matter",
    "how to improve {subject}",
    "{subject} lessons",
    "what goes wrong with {subject}",
    "is {subject} really {claim}",
    "does {subject} {claim}",
    "{subject} and why it {claim}",
    "the truth about {subject}",
    "how teams get {subject} wrong",
    "measuring {subject} week by week",
]
_NAME_QUESTIONS = [
    "what did {name} find",
    "what did {name} find about {subject}",
    "{name} on {subject}",
    "{name} {subject} results",
    "how {name} cut {subject}",
]


def queries(count: int, seed: int = 11) -> list[str]:
    """``count`` distinct questions a person might type: four in five paraphrase a subject, one in
    five asks after a name. Distinct, so that the query encoder's cache does not flatter latency."""
    random_source = random.Random(seed)
    asked: list[str] = []
    seen: set[str] = set()
    while len(asked) < count:
        number = len(asked)
        templates = _NAME_QUESTIONS if number % 5 == 4 else _PARAPHRASES
        question = random_source.choice(templates).format(
            subject=random_source.choice(_SUBJECTS), claim=random_source.choice(_CLAIMS), name=random_source.choice(_NAMES)
        )
        if question in seen:
            question = f"{question} ({number})"
        seen.add(question)
        asked.append(question)
    return asked


def briefs(texts: list[str], seed: int = 5) -> list[tuple[str, list[str]]]:
    """The texts, in order, grouped as briefs of one main insight and 6 to 10 related ones."""
    random_source = random.Random(seed)
    grouped: list[tuple[str, list[str]]] = []
    start = 0
    while start < len(texts):
        group = 1 + random_source.randint(6, 10)
        grouped.append((texts[start], texts[start + 1 : start + group]))
        start += group
    return grouped


DISTRACTOR_VERSION = 1
DISTRACTOR_STYLES = ("paragraph", "one_line", "attributed", "evidence")
# A distractor may share words and names with the evaluation corpus, never a run of this many words.
SHARED_RUN_LIMIT = 6
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class Distractor:
    text: str
    style: str
    topic: str


@dataclass(frozen=True, slots=True)
class DistractorBrief:
    main: Distractor
    related: tuple[Distractor, ...]

    @property
    def insights(self) -> tuple[Distractor, ...]:
        return (self.main, *self.related)


def _runs(text: str, length: int = SHARED_RUN_LIMIT) -> set[tuple[str, ...]]:
    words = [word.lower() for word in _WORDS.findall(text)]
    return {tuple(words[start : start + length]) for start in range(len(words) - length + 1)}


class _Writer:
    """Fills the topic templates; each call draws its own names and numbers."""

    def __init__(self, random_source: random.Random) -> None:
        self._random = random_source

    def _slots(self) -> dict[str, str]:
        pick = self._random.choice
        number = self._random.randint
        chip, other_chip = self._random.sample(vocabulary.CHIPS, 2)
        return {
            "company": pick(vocabulary.COMPANIES),
            "startup": pick(vocabulary.STARTUPS),
            "person": pick(vocabulary.PEOPLE),
            "role": pick(vocabulary.ROLES),
            "chip": chip,
            "chip2": other_chip,
            "model": pick(vocabulary.MODELS),
            "n": str(number(2, 12)),
            "n2": str(number(8, 64)),
            "n3": f"{number(2, 500) * 100:,}",
            "pct": str(number(5, 95)),
            "mult": str(pick([2, 3, 4, 5, 8, 10, 20, 30, 50])),
            "price": str(number(5, 900)),
            "months": str(number(3, 36)),
            "years": str(number(2, 10)),
            "year": str(number(2026, 2032)),
            "node": str(pick([3, 5, 7, 12, 16, 22, 28])),
        }

    def fill(self, template: str, **given: str) -> str:
        return template.format(**self._slots(), **given)

    def sentence(self, topic: str, part: str) -> str:
        return self.fill(self._random.choice(vocabulary.TOPICS[topic][part]))

    def supports(self, topic: str, count: int) -> str:
        """Different pieces of evidence, never the same template twice in one insight."""
        return " ".join(self.fill(template) for template in self._random.sample(vocabulary.TOPICS[topic]["support"], count))

    def write(self, topic: str, style: str) -> str:
        if style == "one_line":
            return self.sentence(topic, self._random.choice(["claims", "support"]))
        if style == "evidence":
            return f"{self.supports(topic, 2)} {self.sentence(topic, 'consequences')}"
        if style == "attributed":
            claim = self.sentence(topic, "claims")
            claim = claim[0].lower() + claim[1:] if claim[1:2].islower() else claim
            opening = self.fill(self._random.choice(vocabulary.ATTRIBUTIONS), claim=claim)
            return f"{opening} {self.supports(topic, 1)}"
        supports = self.supports(topic, self._random.randint(1, 2))
        return f"{self.sentence(topic, 'claims')} {supports} {self.sentence(topic, 'consequences')}"


def iter_distractor_briefs(seed: int = 13, forbidden: Iterable[str] = ()) -> Iterator[DistractorBrief]:
    """An endless, seeded stream of distinct distractor briefs: one main insight and 4 to 9 related
    ones, mostly on the main insight's topic, as a daily brief reads. A text sharing a run of
    ``SHARED_RUN_LIMIT`` words with a ``forbidden`` text (the insights a query is after) is never
    produced, so no distractor restates an expected insight."""
    random_source = random.Random(f"distractors-{DISTRACTOR_VERSION}-{seed}")
    writer = _Writer(random_source)
    banned = set().union(*(_runs(text) for text in forbidden)) if forbidden else set()
    topics = sorted(vocabulary.TOPICS)
    seen: set[str] = set()
    # The AI topics make up most of a store of AI briefs; the others give the project's own
    # sleep, investing and teams samples their look-alikes.
    weights = [1 if topic in {"sleep and health", "investing", "teams and management"} else 3 for topic in topics]

    def fresh(topic: str) -> Distractor:
        while True:
            style = random_source.choice(DISTRACTOR_STYLES)
            text = writer.write(topic, style)
            key = insight_id(text)
            if key not in seen and not (banned and _runs(text) & banned):
                seen.add(key)
                return Distractor(text, style, topic)

    while True:
        topic = random_source.choices(topics, weights)[0]
        related_topics = [
            topic if random_source.random() < 0.7 else random_source.choice(topics) for _ in range(random_source.randint(4, 9))
        ]
        yield DistractorBrief(fresh(topic), tuple(fresh(other) for other in related_topics))


def distractor_briefs(count: int, seed: int = 13, forbidden: Iterable[str] = ()) -> list[DistractorBrief]:
    """Briefs holding exactly ``count`` distinct insights (the last brief cut short if needed)."""
    grouped: list[DistractorBrief] = []
    remaining = count
    stream = iter_distractor_briefs(seed, forbidden)
    while remaining > 0:
        brief = next(stream)
        if len(brief.insights) > remaining:
            brief = DistractorBrief(brief.main, brief.related[: remaining - 1])
        grouped.append(brief)
        remaining -= len(brief.insights)
    return grouped
