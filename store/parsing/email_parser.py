"""Emails (.eml) and mailboxes (.mbox) holding podcast briefs, forwarded or saved from a mail client.

The stdlib parser with (a bounded) ``policy.default`` undoes quoted-printable, base64, charsets and
CRLF; what is left here is picking the body, recognising where the brief starts and ends, and
turning the malformed input that real mailboxes contain into a per-message problem, not a crash.
"""

from __future__ import annotations

import email
import email.utils
import re
from email.message import EmailMessage, Message
from email.policy import EmailPolicy

from store.model import BriefSource, ParsedBrief
from store.parsing.blocks import Block, split_blocks
from store.parsing.brief import is_boilerplate, looks_like_brief, parse_brief_text, starts_footer
from store.parsing.decode import BINARY_MESSAGE, EMPTY_MESSAGE, check_size, normalise_newlines, split_lines
from store.parsing.errors import ParseError
from store.parsing.html_text import html_to_text
from store.parsing.notes import notes_from_blocks
from store.text import clean_text

NO_BODY_MESSAGE = (
    "the email has no text body (only attachments): paste the brief's text, or save the attachment and ingest that file"
)
_SIGNATURE = ("-- ", "--")
_REPLY_HEADER = re.compile(r"^on .{5,200} wrote:\s*$", re.IGNORECASE)
_MBOX_FROM = b"From "
_MBOX_QUOTED_FROM = re.compile(rb"^>(>*From )", re.MULTILINE)
_REPORTED_IN_ERROR = 3
_HEADER_VALUE_MAX_CHARS = 8192


class _BoundedPolicy(EmailPolicy):
    """``policy.default`` with header values cut to a sane length before they are parsed: the stdlib
    header parser is superlinear, so one huge Subject in an upload could stall the bot for minutes.
    Real headers that the parse reads (Subject, Date, Message-ID, Content-*) are far shorter."""

    def header_fetch_parse(self, name: str, value: str) -> str:
        return super().header_fetch_parse(name, value[:_HEADER_VALUE_MAX_CHARS])  # type: ignore[no-any-return]


_POLICY = _BoundedPolicy()


def parse_email_bytes(data: bytes, origin: str, *, problems: list[str] | None = None) -> list[ParsedBrief]:
    """One message: a brief if it has a brief's structure, otherwise one insight per paragraph.

    ``origin`` names the file; each insight's origin becomes ``<origin>#<Message-ID>`` (or
    ``#<position>`` without one) so that a person can trace it to one message of many.
    """
    check_size(len(data))
    if not data.strip():
        raise ParseError(EMPTY_MESSAGE)
    if b"\x00" in data:
        raise ParseError(BINARY_MESSAGE)
    return _message_briefs(_load(data), origin, 1, problems if problems is not None else [])


def parse_mbox_bytes(data: bytes, origin: str) -> tuple[list[ParsedBrief], list[str]]:
    """Every message in a mailbox; a message that cannot be used becomes a problem, not a failure.

    The mailbox is split here rather than with ``mailbox.mbox`` so that an upload held in memory
    never has to be written to disk first.
    """
    check_size(len(data))
    messages = split_mbox(data)
    if not messages:
        if not data.strip():
            raise ParseError(EMPTY_MESSAGE)
        raise ParseError(
            "no messages found: an .mbox file starts each message with a line beginning 'From '; save a single email as .eml instead"
        )
    briefs: list[ParsedBrief] = []
    problems: list[str] = []
    for index, raw in enumerate(messages, start=1):
        notes: list[str] = []
        try:
            briefs.extend(_message_briefs(_load(raw), origin, index, notes))
        except ParseError as error:
            problems.append(f"message {index}: {error}")
        problems.extend(f"message {index}: {note}" for note in notes)
    if not briefs:
        shown = "; ".join(problems[:_REPORTED_IN_ERROR])
        raise ParseError(f"no insights found in any of the {len(messages)} message(s): {shown}")
    return briefs, problems


def split_mbox(data: bytes) -> list[bytes]:
    """Messages start at a "From " line at the top of the file or after a blank line (RFC 4155);
    requiring the blank line keeps a body line that begins "From " inside its message."""
    lines = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
    messages: list[list[bytes]] = []
    previous_blank = True
    for line in lines:
        if previous_blank and line.startswith(_MBOX_FROM):
            messages.append([])
        elif messages:
            messages[-1].append(line)
        previous_blank = not line.strip()
    return [_MBOX_QUOTED_FROM.sub(rb"\1", b"\n".join(message)) for message in messages if b"".join(message).strip()]


def _load(data: bytes) -> Message:
    try:
        return email.message_from_bytes(data, policy=_POLICY)
    except Exception:  # The parser is lenient, but not proven never to raise on hostile input.
        raise ParseError("not a readable email: save the message from your mail client as .eml and ingest again") from None


def _message_briefs(message: Message, origin: str, index: int, problems: list[str]) -> list[ParsedBrief]:
    key = _message_id(message) or str(index)
    source = BriefSource(kind="email", origin=f"{origin}#{key}", subject=_header(message, "Subject"), date=_date(message))
    body = _body_text(message)
    if body is None:
        raise ParseError(NO_BODY_MESSAGE)
    lines = _without_signature(split_lines(body))
    text = "\n".join(lines)
    if not clean_text(text):
        raise ParseError("the email body is empty: there are no insights to ingest")
    if looks_like_brief(text):
        return [parse_brief_text(text, source, problems=problems)]
    notes = notes_from_blocks(_content_blocks(lines), source, subject_from_headings=False)
    if not notes:
        raise ParseError("no insights found in the email body: it has only greeting, header or footer lines")
    return notes


def _content_blocks(lines: list[str]) -> list[Block]:
    """Paragraphs of an email that is not a brief, without the chrome a mail client adds."""
    kept: list[Block] = []
    for block in split_blocks(lines):
        if kept and starts_footer(block):
            break
        if not block.heading and (is_boilerplate(block) or starts_footer(block)):
            continue
        kept.append(block)
    return kept


def _without_signature(lines: list[str]) -> list[str]:
    """A signature or a quoted earlier message is never part of the brief."""
    for index, line in enumerate(lines):
        if line in _SIGNATURE or _REPLY_HEADER.match(line):
            return lines[:index]
    return lines


def _body_text(message: Message) -> str | None:
    """text/plain first, as the brief asks; HTML only when there is no usable plain part, because
    the HTML of a newsletter carries more chrome than its plain alternative."""
    for subtype in ("plain", "html"):
        part = _body_part(message, subtype)
        if part is None:
            continue
        content = _part_text(part)
        if content is None:
            continue
        if subtype == "html":
            content = html_to_text(content)
        if clean_text(content):
            return normalise_newlines(content)
    return None


def _body_part(message: Message, subtype: str) -> Message | None:
    if not isinstance(message, EmailMessage):
        return None
    try:
        return message.get_body(preferencelist=(subtype,))
    except Exception:  # Malformed MIME trees can make the stdlib walk raise; treat as "no such part".
        return None


def _part_text(part: Message) -> str | None:
    try:
        content = part.get_content()  # type: ignore[attr-defined]
    except Exception:  # Unknown charset or broken transfer encoding: fall back to lenient UTF-8.
        content = None
    if isinstance(content, str):
        return content
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        return None
    return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else None


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
        text = None if value is None else str(value)
    except Exception:  # Header objects parse lazily and some malformed encodings raise on access.
        return None
    return (clean_text(text) or None) if text else None


def _message_id(message: Message) -> str | None:
    value = _header(message, "Message-ID")
    if not value:
        return None
    value = value.strip().strip("<>").strip()
    return value if value and not any(character.isspace() for character in value) else None


def _date(message: Message) -> str | None:
    """The calendar date as the sender wrote it (their time zone), which is the brief's date."""
    value = _header(message, "Date")
    if not value:
        return None
    try:
        return email.utils.parsedate_to_datetime(value).date().isoformat()
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
