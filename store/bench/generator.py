"""Deterministic, varied insight-like sentences for benchmark stores.

Templates crossed with vocabularies of subjects, claims, numbers and named companies or people give
sentences that read like podcast takeaways, with enough rare names that the lexical ranking has
real work to do. The same seed always gives the same corpus, so cached embeddings stay valid.
"""

from __future__ import annotations

import random

GENERATOR_VERSION = 1

_SUBJECTS = [
    "inference cost", "model evaluation", "team size", "sleep debt", "index funds", "chip design", "retrieval quality",
    "customer churn", "pricing power", "hiring speed", "code review", "battery storage", "supply chains", "remote work",
    "open-source licensing", "data labelling", "latency budgets", "habit formation", "interest rates", "venture returns",
    "energy grids", "protein folding", "robot dexterity", "compiler design", "cache locality", "fraud detection",
    "onboarding", "product discovery", "attention spans", "meeting load",
]
_CLAIMS = [
    "matters more than most teams assume", "is usually the real bottleneck", "compounds quietly over years",
    "falls faster than anyone forecast", "is mispriced by the market", "decides who wins the next cycle",
    "is where most projects fail", "rewards patience over cleverness", "hides behind vanity metrics",
    "improves tenfold when measured weekly",
]
_REASONS = [
    "because feedback loops get shorter", "since small errors accumulate", "as incentives drift over time",
    "because the cheapest option wins at scale", "since nobody owns the problem", "because data beats opinions",
    "as hardware keeps getting cheaper", "because trust takes years to rebuild",
]
_NAMES = [
    "Quorvex", "Brantlow Labs", "Mirelle Okonkwo", "Tessaline", "Dravik Systems", "Ondrej Halvorsen", "Lumacore",
    "Sabine Achterberg", "Velquist", "Harrow & Finch", "Kaito Nishimura", "Plexaris", "Ysolde Marchetti", "Corvantic",
    "Amaru Quispe", "Zentheon", "Fenwick Abara", "Nuvalis", "Ingrid Solvang", "Parametrix",
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


def queries(count: int, seed: int = 11) -> list[str]:
    """Questions a person might type: paraphrases about subjects, and names."""
    random_source = random.Random(seed)
    asked: list[str] = []
    for number in range(count):
        if number % 5 == 4:
            asked.append(f"what did {random_source.choice(_NAMES)} find")
        else:
            subject = random_source.choice(_SUBJECTS)
            asked.append(random_source.choice([f"why does {subject} matter", f"how to improve {subject}", f"{subject} lessons", f"what goes wrong with {subject} #{number}"]))
    return asked


def briefs(texts: list[str], related_per_brief: int = 7) -> list[tuple[str, list[str]]]:
    group = related_per_brief + 1
    return [(texts[start], texts[start + 1 : start + group]) for start in range(0, len(texts), group)]
