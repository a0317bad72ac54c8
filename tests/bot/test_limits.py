"""bot.limits: cutting text to Discord's limits with "…", counted in UTF-16 units."""

from __future__ import annotations

import discord
import pytest

from bot.limits import EMBED_TOTAL, embed_length, fit_content, fit_embed, fit_embeds, text_length, truncate, within_limits


def test_text_that_fits_is_untouched() -> None:
    assert truncate("short", 5) == "short"
    assert fit_content(None) is None


def test_long_text_is_cut_to_exactly_the_limit_with_an_ellipsis() -> None:
    assert truncate("abcdefghij", 5) == "abcd…"
    assert text_length(truncate("x" * 3000, 2000)) == 2000


def test_astral_characters_count_twice_and_are_never_split() -> None:
    assert text_length("🚀") == 2
    cut = truncate("🚀" * 10, 5)
    assert cut == "🚀🚀…" and text_length(cut) == 5


@pytest.mark.parametrize("limit", [0, -3])
def test_no_room_means_empty(limit: int) -> None:
    assert truncate("anything", limit) == ""


def test_empty_field_names_and_values_get_a_visible_stand_in() -> None:
    embed = discord.Embed().add_field(name="", value="   ")

    fitted = fit_embed(embed)

    assert fitted.fields[0].name == "\u200b" and fitted.fields[0].value == "\u200b"
    assert within_limits(None, [fitted])


def test_the_longest_parts_are_shortened_first_when_the_total_is_too_long() -> None:
    long_one = discord.Embed(title="keep this title", description="d" * 4096)
    long_two = discord.Embed(title="and this one", description="e" * 4096)

    fitted = fit_embeds([long_one, long_two])

    assert [embed.title for embed in fitted] == ["keep this title", "and this one"]
    assert sum(embed_length(embed) for embed in fitted) == EMBED_TOTAL
    assert within_limits(None, fitted)


def test_within_limits_notices_each_kind_of_excess() -> None:
    assert not within_limits("x" * 2001, [])
    assert not within_limits(None, [discord.Embed()] * 11)
    assert not within_limits(None, [discord.Embed(title="t" * 257)])
    assert within_limits("x" * 2000, [discord.Embed(title="t" * 256)])
