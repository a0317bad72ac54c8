"""Parsers for briefs, notes, email and JSON Lines; email fixtures are built here from the shared samples."""

from __future__ import annotations

import codecs
import json
import mailbox
import os
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import store.parsing.decode as decode_module
from store.model import BriefSource, ParsedFile
from store.parsing import (
    ParseError,
    iter_input_files,
    parse_brief_text,
    parse_bytes,
    parse_email_bytes,
    parse_file,
    parse_jsonl_text,
    parse_notes_text,
)

# The sample briefs kept in the repository, so the tests need nothing beside it.
SAMPLES = Path(__file__).resolve().parents[1] / "store" / "evaluation" / "briefs"
SAMPLE_STARTS = {
    "000_5eecbfd325b0d2d0.txt": "A fundamental constraint today is that the model architecture",
    "003_59fe5915b6d11283.txt": "The biggest performance breakthroughs in AI are not from isolated",
}
HEADER = "Get your free personalized podcast brief\n\nWe scan new podcasts and send you the top 5 insights daily.\n\n"
MESSAGE_ID = "brief-1@example.com"


def _sample(name: str = "000_5eecbfd325b0d2d0.txt") -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


def _paragraphs(text: str) -> list[str]:
    return [" ".join(part.split()) for part in text.split("\n\n") if part.strip()]


def _expected(name: str = "000_5eecbfd325b0d2d0.txt") -> tuple[str, list[str]]:
    """Main and related straight from the sample's layout, to compare every path against."""
    paragraphs = _paragraphs(_sample(name))
    heading = paragraphs.index("Related Insights")
    return paragraphs[heading - 1], paragraphs[heading + 1 :]


def _email(
    body: str | None = None, *, cte: str | None = "quoted-printable", subtype: str = "plain", message_id: str = MESSAGE_ID
) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Briefs <brief@example.com>"
    message["To"] = "me@example.com"
    message["Subject"] = "Your podcast brief \u2014 AI chips"
    message["Date"] = "Fri, 22 Nov 2024 08:30:00 +0100"
    message["Message-ID"] = f"<{message_id}>"
    if body is not None:
        if cte is None:
            message.set_content(body, subtype=subtype)
        else:
            message.set_content(body, subtype=subtype, cte=cte)
    return message


def _html_brief(name: str = "000_5eecbfd325b0d2d0.txt") -> str:
    main, related = _expected(name)
    first, second, *rest = related
    return (
        "<!doctype html><html><head><title>Brief</title><style>p { color: red }</style></head><body>"
        f'<div style="display:none">{main[:50]}\u2026</div>'
        '<table><tr><td><a href="https://example.com/web">View in browser</a></td></tr></table>'
        "<h1>Get your free personalized podcast brief</h1>\n"
        "<p>We scan new podcasts and\n   send you the top 5 insights daily.</p>"
        f"<p>{main}</p><h2>Related Insights</h2>"
        f"<div>{first}<br><br>{second}</div>"
        + "".join(f"<p>{text}</p>" for text in rest)
        + '<p>You are receiving this email because you signed up. <a href="#">Unsubscribe</a></p>'
        "<p>Acme Briefs, 1 Main Street, Springfield</p></body></html>"
    )


def _assert_is_sample(parsed: ParsedFile, name: str = "000_5eecbfd325b0d2d0.txt") -> None:
    main, related = _expected(name)
    assert len(parsed.briefs) == 1
    assert parsed.briefs[0].main == main
    assert list(parsed.briefs[0].related) == related


# --- briefs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(SAMPLE_STARTS))
def test_shared_samples_parse_into_a_main_and_ten_related(name: str) -> None:
    parsed = parse_file(SAMPLES / name)
    assert parsed.problems == []
    [brief] = parsed.briefs
    assert brief.main.startswith(SAMPLE_STARTS[name])
    assert len(brief.related) == 10
    assert brief.source == BriefSource(kind="brief", origin=str(SAMPLES / name))
    assert all(text == text.strip() and "\n" not in text for text in (brief.main, *brief.related))
    _assert_is_sample(parsed, name)


def test_wrapped_paragraphs_are_joined_and_text_is_kept_as_written() -> None:
    text = (
        HEADER
        + "The MAIN insight\nwraps over   two lines.\n\n## Related Insights\n\nFirst related\ncontinues.\n\n- Second related\n- Third  related"
    )
    brief = parse_brief_text(text, BriefSource("brief", "x"))
    assert brief.main == "The MAIN insight wraps over two lines."
    assert brief.related == ("First related continues.", "Second related", "Third related")


@pytest.mark.parametrize(
    "heading",
    ["Related Insights", "related insights:", "## Related Insights", "**Related Insights**", "### **Related insights** ###"],
)
def test_decorated_related_headings_are_recognised(heading: str) -> None:
    parsed = parse_bytes(f"Main insight here.\n\n{heading}\n\nA related one.".encode(), "b.md")
    assert parsed.briefs[0].main == "Main insight here."
    assert parsed.briefs[0].related == ("A related one.",)
    assert parsed.briefs[0].source.kind == "brief"


def test_crlf_cr_and_bom_files_parse_like_the_sample() -> None:
    text = _sample()
    _assert_is_sample(parse_bytes(codecs.BOM_UTF8 + text.replace("\n", "\r\n").encode(), "a.txt"))
    _assert_is_sample(parse_bytes(text.replace("\n", "\r").encode(), "a.txt"))
    _assert_is_sample(parse_bytes(text.encode("utf-16"), "a.txt"))


def test_brief_with_header_but_no_related_section_has_only_a_main() -> None:
    parsed = parse_bytes(
        (HEADER + "Only the main insight.\n\nUnsubscribe | Manage preferences\n\nAcme, 1 Main St").encode(), "b.txt"
    )
    assert [(brief.main, brief.related) for brief in parsed.briefs] == [("Only the main insight.", ())]
    assert parsed.problems == []


def test_extra_paragraph_before_the_heading_is_left_out_and_reported() -> None:
    parsed = parse_bytes((HEADER + "Main insight.\n\nA stray paragraph.\n\nRelated Insights\n\nRelated one.").encode(), "b.txt")
    assert parsed.briefs[0].main == "Main insight."
    assert parsed.briefs[0].related == ("Related one.",)
    assert len(parsed.problems) == 1 and "A stray paragraph." in parsed.problems[0]


def test_boilerplate_and_footer_around_the_brief_are_skipped() -> None:
    text = (
        "[View in browser](https://example.com/b/1)\n\nTop 5 insights for Friday\n\n"
        + HEADER
        + "Main insight.\n\nRelated Insights\n\n"
        "Related one.\n\nRelated two mentions that people unsubscribe\nwhen emails are long.\n\n"
        "You are receiving this because you signed up.\nAcme Inc, 1 Main Street\n\nPrivacy policy\n\n\u00a9 2024 Acme"
    )
    brief = parse_brief_text(text, BriefSource("brief", "x"))
    assert brief.main == "Main insight."
    assert brief.related == ("Related one.", "Related two mentions that people unsubscribe when emails are long.")


def test_text_before_the_service_header_is_not_the_main_insight() -> None:
    """A forwarded brief: the forwarder's note and the forwarded-message block come first."""
    body = (
        "Look at this one!\n\n---------- Forwarded message ---------\nFrom: Briefs <b@example.com>\nSubject: Brief\n\n"
        + _sample()
    )
    parsed = parse_email_bytes(_email(body + "\n\n-- \nMe", cte=None).as_bytes(), "fwd.eml")
    main, related = _expected()
    assert [(brief.main, list(brief.related)) for brief in parsed] == [(main, related)]


def test_header_line_repeated_as_a_footer_link_does_not_hide_the_main() -> None:
    text = HEADER + "The main insight.\n\n[Get your free personalized podcast brief](https://example.com)"
    assert parse_brief_text(text, BriefSource("brief", "x")).main == "The main insight."


def test_headers_only_brief_is_an_error() -> None:
    with pytest.raises(ParseError, match="no insights found"):
        parse_bytes(HEADER.encode(), "brief.txt")
    with pytest.raises(ParseError, match="no main insight"):
        parse_bytes((HEADER + "Related Insights\n\nOne related.").encode(), "brief.txt")


# --- email ------------------------------------------------------------------------------------


@pytest.mark.parametrize("cte", ["quoted-printable", "base64"])
def test_brief_as_eml_in_each_transfer_encoding(cte: str) -> None:
    data = _email(_sample(), cte=cte).as_bytes()
    assert f"Content-Transfer-Encoding: {cte}".encode() in data
    parsed = parse_bytes(data, "inbox/brief.eml")
    _assert_is_sample(parsed)
    source = parsed.briefs[0].source
    assert source == BriefSource("email", f"inbox/brief.eml#{MESSAGE_ID}", "Your podcast brief \u2014 AI chips", "2024-11-22")


def test_brief_as_eml_with_crlf_line_endings(tmp_path: Path) -> None:
    data = _email(_sample()).as_bytes(policy=policy.SMTP)
    assert b"\r\n" in data
    path = tmp_path / "brief.eml"
    path.write_bytes(data)
    _assert_is_sample(parse_file(path))


def test_html_only_email_becomes_paragraphs() -> None:
    message = _email(_html_brief(), subtype="html")
    assert message.get_content_type() == "text/html"
    _assert_is_sample(parse_bytes(message.as_bytes(), "brief.eml"))


def test_plain_part_is_preferred_over_html() -> None:
    message = _email(_sample())
    message.add_alternative("<p>Something else entirely.</p><h2>Related Insights</h2><p>Other.</p>", subtype="html")
    _assert_is_sample(parse_bytes(message.as_bytes(), "brief.eml"))


def test_mbox_with_two_messages(tmp_path: Path) -> None:
    path = tmp_path / "briefs.mbox"
    box = mailbox.mbox(path)
    names = sorted(SAMPLE_STARTS)
    for index, name in enumerate(names, start=1):
        box.add(_email(_sample(name), message_id=f"m{index}@example.com"))
    box.flush()
    box.close()
    for parsed in (parse_file(path), parse_bytes(path.read_bytes(), str(path))):
        assert [brief.source.origin for brief in parsed.briefs] == [f"{path}#m1@example.com", f"{path}#m2@example.com"]
        for brief, name in zip(parsed.briefs, names, strict=True):
            assert (brief.main, list(brief.related)) == _expected(name)
        assert parsed.problems == []


def test_mbox_message_without_body_is_reported_and_others_kept() -> None:
    attachment_only = _email(None, message_id="att@example.com")
    attachment_only.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf", filename="brief.pdf")
    data = (
        b"From a@b Fri Nov 22 08:30:00 2024\n"
        + _email(_sample()).as_bytes()
        + b"\nFrom a@b Fri Nov 22 08:31:00 2024\n"
        + attachment_only.as_bytes()
    )
    parsed = parse_bytes(data, "box.mbox")
    _assert_is_sample(parsed)
    assert len(parsed.problems) == 1 and parsed.problems[0].startswith("message 2: the email has no text body")


def test_email_with_only_an_attachment_is_an_error() -> None:
    message = _email(None)
    message.add_attachment(b"%PDF-1.4 binary", maintype="application", subtype="pdf", filename="brief.pdf")
    with pytest.raises(ParseError, match=r"the email has no text body \(only attachments\)"):
        parse_email_bytes(message.as_bytes(), "mail.eml")


def test_email_that_is_not_a_brief_gives_one_insight_per_paragraph() -> None:
    body = "Hi me,\n\nFirst idea worth keeping.\n\nSecond idea,\nwrapped.\n\n-- \nAlice\nalice@example.com"
    briefs = parse_email_bytes(_email(body, cte=None).as_bytes(), "note.eml")
    assert [brief.main for brief in briefs] == ["First idea worth keeping.", "Second idea, wrapped."]
    assert {brief.source.kind for brief in briefs} == {"email"}


# --- JSON Lines and notes --------------------------------------------------------------------------


def test_jsonl_keeps_good_lines_and_reports_bad_ones_by_line_number() -> None:
    lines = [
        json.dumps(
            {
                "text": "  First insight. ",
                "related": ["Rel A", " "],
                "source": "podcast-42",
                "date": "2024-11-01",
                "subject": "Chips",
            }
        ),
        "{not json",
        "",
        json.dumps({"text": "Second insight."}),
        json.dumps(["text"]),
        json.dumps({"text": ""}),
        json.dumps({"text": "Third.", "related": "not a list"}),
        json.dumps({"body": "no text field"}),
    ]
    parsed = parse_bytes("\n".join(lines).encode(), "export.ndjson")
    first, second = parsed.briefs
    assert (first.main, first.related) == ("First insight.", ("Rel A",))
    assert first.source == BriefSource("jsonl", "podcast-42", "Chips", "2024-11-01")
    assert (second.main, second.source.origin) == ("Second insight.", "export.ndjson")
    assert [problem.split(":")[0] for problem in parsed.problems] == ["line 2", "line 5", "line 6", "line 7", "line 8"]
    assert "invalid JSON" in parsed.problems[0] and '"related" must be a list of strings' in parsed.problems[3]


def test_jsonl_with_no_good_line_is_an_error() -> None:
    with pytest.raises(ParseError, match="line 1: invalid JSON"):
        parse_jsonl_text("{oops\n[1]\n", "x.jsonl")


def test_markdown_notes() -> None:
    text = (
        "---\ntitle: Notes\ntags: [ai]\n---\n# My notes\n\nScaling laws are\nnot linear.\n\n"
        "## Chips\n- Memory matters more than compute for inference.\n- Older nodes\n  can still win.\n\n"
        "Setext title\n============\n\n```python\n# a comment, not a heading\nx = 1\n```\n\n---\n\n1. Numbered **bold** point."
    )
    notes = parse_bytes(text.encode(), "notes.md").briefs
    assert [(note.main, note.source.subject) for note in notes] == [
        ("Scaling laws are not linear.", "My notes"),
        ("Memory matters more than compute for inference.", "Chips"),
        ("Older nodes can still win.", "Chips"),
        ("# a comment, not a heading x = 1", "Setext title"),
        ("Numbered **bold** point.", "Setext title"),
    ]
    assert all(note.source.kind == "note" and note.related == () for note in notes)
    with pytest.raises(ParseError, match="only headings"):
        parse_notes_text("# Title\n\n## Another", "n.md")


# --- errors and decoding --------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"", b"  \n\t\r\n", "\ufeff\u200b\n".encode()])
def test_empty_files_are_an_error(data: bytes) -> None:
    with pytest.raises(ParseError, match="the file is empty"):
        parse_bytes(data, "empty.txt")


def test_binary_and_non_utf8_files_are_errors() -> None:
    with pytest.raises(ParseError, match=r"binary file \(not text\)"):
        parse_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image.txt")
    with pytest.raises(ParseError, match="not UTF-8 text: save it as UTF-8"):
        parse_bytes("Caf\u00e9 insights are na\u00efve.".encode("latin-1"), "latin.txt")
    with pytest.raises(ParseError, match=r"unsupported file type '\.pdf'"):
        parse_bytes(b"%PDF-1.4\x00\x01\x02", "doc.pdf")


def test_unknown_extension_that_is_text_is_read_as_text() -> None:
    assert [brief.main for brief in parse_bytes(b"An idea.\n\nAnother idea.", "ideas.log").briefs] == [
        "An idea.",
        "Another idea.",
    ]
    _assert_is_sample(parse_bytes(_sample().encode(), "README"))


def test_oversized_file_is_refused(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(decode_module, "MAX_FILE_BYTES", 1024 * 1024)
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * (1024 * 1024 + 1))
    with pytest.raises(ParseError, match="larger than the 1 MB limit: split it"):
        parse_file(path)


def test_missing_path_and_folder_are_errors(tmp_path: Path) -> None:
    with pytest.raises(ParseError, match="not found"):
        parse_file(tmp_path / "missing.txt")
    with pytest.raises(ParseError, match="is a folder"):
        parse_file(tmp_path)


# --- walking paths ----------------------------------------------------------------------------------


def test_iter_input_files_expands_folders_in_a_stable_order(tmp_path: Path) -> None:
    for relative in [
        "b.txt",
        "a.md",
        "skip.png",
        ".hidden.txt",
        "sub/z.jsonl",
        "sub/.git/x.txt",
        ".cache/y.txt",
        "sub/deeper/m.eml",
        "c.MBOX",
    ]:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text("x")
    explicit = tmp_path / "skip.png"
    missing = tmp_path / "nope.txt"
    found = list(iter_input_files([tmp_path, explicit, missing, tmp_path / "a.md"]))
    assert found == [
        tmp_path / "a.md",
        tmp_path / "b.txt",
        tmp_path / "c.MBOX",
        tmp_path / "sub" / "z.jsonl",
        tmp_path / "sub" / "deeper" / "m.eml",
        explicit,
        (missing, "not found: check the path and try again"),
    ]


def test_iter_input_files_reports_unreadable_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Root (as in CI) can list any folder, so the operating system's refusal is also stood in for at
    the one call that lists a folder: the test runs the same for every user."""
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "inside.md").write_text("never listed", encoding="utf-8")
    original_scandir = os.scandir

    def refuse_locked(path):  # type: ignore[no-untyped-def]
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return original_scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)
    locked.chmod(0)
    try:
        assert list(iter_input_files([tmp_path])) == [(locked, "cannot be read (permission denied): check its permissions")]
    finally:
        locked.chmod(0o755)


def test_iter_input_files_reports_an_unreadable_file_and_keeps_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    readable = tmp_path / "a.md"
    readable.write_text("fine", encoding="utf-8")
    locked = tmp_path / "b.md"
    locked.write_text("secret", encoding="utf-8")
    original_access = os.access

    def refuse_locked(path, mode, *args, **kwargs):  # type: ignore[no-untyped-def]
        return False if Path(path) == locked else original_access(path, mode, *args, **kwargs)

    monkeypatch.setattr(os, "access", refuse_locked)
    assert list(iter_input_files([tmp_path, locked])) == [
        readable,
        (locked, "cannot be read (permission denied): check its permissions"),
    ]


# --- properties ---------------------------------------------------------------------------------------

_NAMES = st.sampled_from(["a.txt", "a.md", "a.eml", "a.mbox", "a.jsonl", "a.bin", "noext"])
_PIECES = st.sampled_from(
    [
        "Related Insights",
        "## Related Insights",
        "Get your free personalized podcast brief",
        "",
        "",
        "- ",
        "```",
        "# ",
        "---",
        "From x y 2024",
        "Unsubscribe",
        '{"text": "t"}',
        "Subject: s",
        "Content-Type: text/html",
        "Content-Transfer-Encoding: base64",
        "<p>x</p>",
    ]
)
_TEXTS = st.one_of(st.text(), st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=25).map("\n".join))


def _assert_clean(parsed: ParsedFile) -> None:
    for brief in parsed.briefs:
        for text in (brief.main, *brief.related):
            assert text and text == text.strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400), name=_NAMES)
def test_parse_bytes_only_raises_parse_error_on_any_bytes(data: bytes, name: str) -> None:
    try:
        _assert_clean(parse_bytes(data, name))
    except ParseError as error:
        assert str(error) and "Traceback" not in str(error)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXTS, name=_NAMES)
def test_parse_bytes_only_raises_parse_error_on_any_text(text: str, name: str) -> None:
    try:
        _assert_clean(parse_bytes(text.encode("utf-8", "surrogatepass"), name))
    except ParseError as error:
        assert str(error)
