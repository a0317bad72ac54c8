"""Deterministic, varied insight-like sentences for benchmark stores.

Templates crossed with vocabularies of subjects, claims, numbers and named companies or people give
sentences that read like podcast takeaways, with enough rare names that the lexical ranking has
real work to do. The same seed always gives the same corpus, so cached embeddings stay valid.
"""

from __future__ import annotations

import random

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
