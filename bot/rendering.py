"""What the bot's messages look like: embeds for results, saved lists, stats and ingest reports.

Insight text comes from briefs, emails and other people's uploads, so every piece of it is
treated as hostile on the way out: Markdown escaped (a stray ``**`` or ``# `` must not restyle
the message), mentions broken with a zero-width space (belt and braces beside the client's
``AllowedMentions.none()``: an escaped ``@everyone`` cannot ping even if a later edit forgets
the allowed mentions), and every message cut to Discord's limits by :mod:`bot.limits`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath, PureWindowsPath
from typing import Any

import discord

from bot import limits
from store import IngestReport, SavedItem, SavedPage, SearchHit, SourceRef

ACCENT = discord.Colour(0x5865F2)
WARNING = discord.Colour(0xE67E22)
REASON_LABELS: Mapping[str, str] = {"brief": "same brief", "same-idea": "same idea", "similar": "similar"}
RELATED_ON_SEARCH_PAGE = 4
RELATED_ON_DETAIL = 15
SAVED_ITEM_CHARS = 700
NO_MATCH_TITLE = "No good match — try other words"
ALREADY_THERE = "This insight was already in the store"
DIGEST_HEADING = "**Today's top insights**: react with 1\ufe0f\u20e3 to 5\ufe0f\u20e3 for the ones worth keeping"
_ZERO_WIDTH_SPACE = "\u200b"


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """Content and embeds already within Discord's limits; build it with :func:`rendered`."""

    content: str | None = None
    embeds: list[discord.Embed] = field(default_factory=list)


def rendered(content: str | None = None, embeds: Sequence[discord.Embed] = ()) -> RenderedMessage:
    return RenderedMessage(limits.fit_content(content), limits.fit_embeds(embeds))


def neutralise_mentions(text: str) -> str:
    """Every "@" followed by a zero-width space: covers @everyone, @here, <@id>, <@!id> and
    <@&id> of any length, which discord.utils.escape_mentions misses for short role ids."""
    return text.replace("@", "@" + _ZERO_WIDTH_SPACE)


def safe(text: str) -> str:
    """Untrusted text for places where Discord renders Markdown (content, descriptions, fields)."""
    return neutralise_mentions(discord.utils.escape_markdown(text))


def plain(text: str) -> str:
    """Untrusted text for places that show Markdown literally (footers, choice names): only
    mentions need breaking, escaping would show backslashes."""
    return neutralise_mentions(text)


def one_line(text: str) -> str:
    return " ".join(text.split())


# -- search -----------------------------------------------------------------------------------


def search_page(
    query: str,
    hits: Sequence[SearchHit],
    *,
    first_number: int,
    page: int,
    pages: int,
    found: int | None = None,
    asked: int | None = None,
    min_score: float | None = None,
) -> RenderedMessage:
    """``found`` of ``asked``: a shorter list says that only so many are close enough; a hit under
    ``min_score`` (kept because a name in the query matched it) says it is a weak match."""
    quoted = limits.truncate(one_line(query), 200)
    heading = f"Results for “{safe(quoted)}”"
    if pages > 1:
        heading += f" · page {page} of {pages}"
    if found is not None and asked is not None and found < asked:
        heading += "\n-# " + only_close_enough(found, asked)
    embeds = []
    for offset, hit in enumerate(hits):
        embed = hit_embed(hit, number=first_number + offset, related_cap=RELATED_ON_SEARCH_PAGE)
        if min_score is not None and hit.score < min_score:
            embed.title = f"{first_number + offset}. Insight (weak match)"
            embed.colour = WARNING
            embed.description = f"-# {weak_match_note(hit)}\n{embed.description}"
        embeds.append(embed)
    return rendered(heading, embeds)


def only_close_enough(found: int, asked: int) -> str:
    if found == 1:
        return f"Only 1 insight is close enough (you asked for {asked})."
    return f"Only {found} insights are close enough (you asked for {asked})."


def weak_match_note(hit: SearchHit) -> str:
    names = _names_as_written(hit.text, hit.matched_terms[:4])
    if not names:
        return "A weak match: its meaning is not close."
    noun = "name" if len(names) == 1 else "names"
    return f"A weak match, found by the {noun} {', '.join(f'“{safe(name)}”' for name in names)}; its meaning is not close."


def _names_as_written(text: str, terms: Sequence[str]) -> list[str]:
    """The matched terms (lowercase) as the insight writes them, one name when they stand together
    ("Dylan Patel"), each on its own otherwise."""
    placed = []
    for term in terms:
        found = re.search(rf"\b{re.escape(term)}\w*", text, re.IGNORECASE)
        placed.append((found.start(), found.group(0)) if found else (len(text), term))
    written = [word for _, word in sorted(placed)]
    together = " ".join(written)
    if len(written) > 1 and together.lower() in text.lower():
        return [text[text.lower().index(together.lower()) :][: len(together)]]
    return written


def no_match(query: str) -> RenderedMessage:
    quoted = limits.truncate(one_line(query), 300)
    embed = discord.Embed(
        title=NO_MATCH_TITLE,
        description=f"Nothing in the store is close enough to “{safe(quoted)}”. Try other words, or fewer of them.",
        colour=WARNING,
    )
    return rendered(None, [embed])


def related_detail(hit: SearchHit) -> RenderedMessage:
    return rendered(None, [hit_embed(hit, number=None, related_cap=RELATED_ON_DETAIL)])


def hit_embed(hit: SearchHit, *, number: int | None, related_cap: int) -> discord.Embed:
    title = f"{number}. Insight" if number is not None else "Insight and what relates to it"
    embed = discord.Embed(title=title, description=safe(hit.text), colour=ACCENT)
    shown = hit.related[:related_cap]
    for related in shown:
        label = REASON_LABELS.get(related.reason, related.reason)
        embed.add_field(name=f"↳ {label}", value=safe(limits.truncate(related.text, limits.FIELD_VALUE - 40)), inline=False)
    hidden = len(hit.related) - len(shown)
    if hidden > 0:
        hint = f"`/insight related` shows up to {RELATED_ON_DETAIL}." if related_cap < RELATED_ON_DETAIL else "Not shown here."
        embed.add_field(name="More", value=f"{hidden} more related. {hint}", inline=False)
    embed.set_footer(text=plain(_footer(hit)))
    return embed


def _footer(hit: SearchHit) -> str:
    parts = [f"id {hit.id}", f"score {hit.score:.2f}"]
    if hit.matched_terms:
        parts.append("matched " + ", ".join(hit.matched_terms[:5]))
    origins = source_names(hit.sources)
    if origins:
        parts.append("from " + "; ".join(origins[:3]) + (f" (+{len(origins) - 3})" if len(origins) > 3 else ""))
    return " · ".join(parts)


def source_names(sources: Sequence[SourceRef]) -> list[str]:
    """Where an insight came from, by subject or file name only: an origin is the full path the
    file was ingested from, and a server's directory layout is nobody's business in a channel."""
    names: list[str] = []
    for source in sources:
        name = one_line(source.subject or _file_name(source.origin))
        if name and name not in names:
            names.append(name)
    return names


def _file_name(origin: str) -> str:
    return PureWindowsPath(PurePath(origin).name).name or origin


# -- stats and ingest -------------------------------------------------------------------------


_STAT_LABELS: tuple[tuple[str, str], ...] = (
    ("insights", "Insights"),
    ("briefs", "Briefs"),
    ("sources", "Sources"),
    ("brief_links", "Same-brief links"),
    ("same_idea_links", "Same-idea links"),
    ("saved_items", "Saved items"),
    ("saving_users", "People saving"),
    ("indexed", "Indexed vectors"),
    ("model", "Model"),
)


def stats(values: Mapping[str, Any]) -> RenderedMessage:
    """The store's counts; where Chroma lives is left out, since stats may be posted publicly."""
    embed = discord.Embed(title="insight-recall stats", colour=ACCENT)
    for key, label in _STAT_LABELS:
        if key in values:
            embed.add_field(name=label, value=safe(str(values[key])), inline=True)
    if "indexed" in values and "insights" in values and values["indexed"] != values["insights"]:
        embed.set_footer(text="The vector index differs from the database; it is reconciled at the next start.")
    return rendered(None, [embed])


def ingest_report(report: IngestReport, title: str, *, already_there: str | None = None) -> RenderedMessage:
    """The same counts as the command line's ingest, with each failure and skipped part by name.
    ``already_there``: the id of the one insight a person added by hand, said to be in the store
    already when it was (the counts alone read "merged 1", which tells them nothing)."""
    summary = f"added {report.added}, merged {report.merged}, unchanged {report.unchanged}, failed {len(report.failed)}"
    lines = [summary]
    if already_there is not None and already_there in report.already_there:
        lines.insert(0, f"{ALREADY_THERE} (id `{already_there}`): nothing new was added.")
    lines += [f"• failed: {safe(failure.get('path', ''))}: {safe(failure.get('error', ''))}" for failure in report.failed]
    lines += [
        f"• skipped part of {safe(problem.get('path', ''))}: {safe(problem.get('problem', ''))}" for problem in report.problems
    ]
    colour = WARNING if report.failed else ACCENT
    embed = discord.Embed(title=safe(title), description="\n".join(lines), colour=colour)
    return rendered(None, [embed])


# -- saved lists ------------------------------------------------------------------------------


def saved_page(page: SavedPage) -> RenderedMessage:
    if not page.total:
        return rendered(None, [_empty_saved_list()])
    first = (page.page - 1) * page.per_page + 1
    embed = discord.Embed(title="Your saved insights", description=_saved_lines(page.items, first), colour=ACCENT)
    embed.set_footer(text=f"page {page.page} of {page.pages} · {page.total} saved")
    return rendered(None, [embed])


def saved_search(query: str, items: Sequence[SavedItem]) -> RenderedMessage:
    quoted = safe(limits.truncate(one_line(query), 200))
    if not items:
        embed = discord.Embed(
            title="Nothing in your list matches",
            description=f"None of your saved insights contains every word of “{quoted}”.",
            colour=WARNING,
        )
        return rendered(None, [embed])
    embed = discord.Embed(title=f"Saved insights matching “{quoted}”", description=_saved_lines(items, 1), colour=ACCENT)
    return rendered(None, [embed])


def _empty_saved_list() -> discord.Embed:
    return discord.Embed(
        title="Nothing saved yet",
        description="Press **Save** under a search result and it lands here, visible only to you.",
        colour=ACCENT,
    )


def _saved_lines(items: Sequence[SavedItem], first_number: int) -> str:
    blocks = []
    for number, item in enumerate(items, start=first_number):
        text = safe(limits.truncate(item.text, SAVED_ITEM_CHARS))
        blocks.append(f"**{number}.** {text}\n`{item.insight_id}` · saved {item.saved_at.date().isoformat()}")
    return "\n\n".join(blocks)


def choice_name(text: str) -> str:
    """An autocomplete choice's visible name: one line, at most 100 units, never empty."""
    return limits.truncate(one_line(text), limits.CHOICE_NAME) or "(no text)"


__all__ = [
    "ALREADY_THERE",
    "DIGEST_HEADING",
    "NO_MATCH_TITLE",
    "REASON_LABELS",
    "RenderedMessage",
    "choice_name",
    "hit_embed",
    "ingest_report",
    "neutralise_mentions",
    "no_match",
    "only_close_enough",
    "plain",
    "related_detail",
    "rendered",
    "safe",
    "saved_page",
    "saved_search",
    "search_page",
    "source_names",
    "stats",
    "weak_match_note",
]


def digest_message(claim: Any, hits: Sequence[SearchHit], related_cap: int) -> RenderedMessage:
    """The daily post: five insights with a line or two of what relates to each. The run's marker,
    by which a restarted bot recognises a digest it already posted, is not in the text: it rides
    in the first Save button's custom id, which nobody reads (see the digest poster)."""
    embeds = []
    for number, (pick, hit) in enumerate(zip(claim.picks, hits, strict=True), start=1):
        embed = hit_embed(hit, number=number, related_cap=related_cap)
        if pick.resurfaced:
            embed.title = f"{number}. Insight (resurfaced)"
        embeds.append(embed)
    return rendered(DIGEST_HEADING, embeds)


def digest_preview(picks: Sequence[Any]) -> RenderedMessage:
    if not picks:
        return rendered("Nothing to post: the store is empty, or every insight was shown here in the last 30 days.")
    embed = discord.Embed(title="What the digest would post now", colour=ACCENT)
    for number, pick in enumerate(picks, start=1):
        marker = " (resurfaced)" if pick.resurfaced else ""
        embed.add_field(
            name=f"{number}. score {pick.score:.2f}{marker}",
            value=safe(limits.truncate(pick.text, 700)) + f"\n-# {plain(pick.why)}",
            inline=False,
        )
    return rendered(None, [embed])


def digest_status(status: Any) -> RenderedMessage:
    config = status.config
    lines = [
        f"Channel: <#{config.channel_id}>" if config and config.channel_id else "Channel: not set",
        f"Time: {config.post_time if config else '08:00'} {config.timezone if config else 'UTC'}",
        f"On: {'yes' if config and config.enabled else 'no'}",
        f"State: {digest_state(status)}",
        f"Last post: {status.last_posted_date}" if status.last_posted_date else "Last post: none yet",
    ]
    if status.next_post_at is not None:
        lines.append(f"Next post: {when(status.next_post_at)}")
    problem = digest_problem(status)
    if problem:
        lines.append(f"Problem: {problem}")
    return rendered(None, [discord.Embed(title="Daily digest", description="\n".join(lines), colour=ACCENT)])


def when(moment: datetime) -> str:
    """A moment every reader sees in their own time zone, and how far off it is."""
    stamp = int(moment.timestamp())
    return f"<t:{stamp}:F> (<t:{stamp}:R>)"


_DIGEST_STATES: Mapping[str, str] = {
    "unset": "not set up: `/digest channel` picks a channel and turns it on",
    "off": "off, turned off with `/digest off`; `/digest channel` turns it on again",
    "failed": "off, because a post failed (see Problem); `/digest channel` turns it on again once that is fixed",
    "empty": "on, but the insight store is empty: nothing is posted until insights are added",
    "retrying": "on; today's post failed and will be tried again",
    "on": "on",
}


def digest_state(status: Any) -> str:
    return _DIGEST_STATES.get(status.state, status.state)


def digest_problem(status: Any) -> str | None:
    """Only what needs someone to act or wait: a deliberate off or a missing channel is a state."""
    if status.state == "failed":
        return plain(status.config.disabled_reason or "a post failed")
    if status.state == "retrying":
        return plain(f"today's post failed and will be tried again: {status.retry_error}")
    return None
