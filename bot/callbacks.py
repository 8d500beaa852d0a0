"""Every kind of button data: how it is written, what pattern routes it, how it is read back.

Telegram carries at most 64 bytes of callback data, and anyone can send any bytes as it,
so data is a kind prefix and a few short fields, and a handler only ever sees data its
kind's pattern matched, read back by the `read_*` function beside it. Incident keys can
be 80 characters: buttons carry the fixed-length short key and a point's index instead.

`bot.app.build_application` registers one `CallbackQueryHandler` per kind with the
`PATTERNS` here; data that matches none is an expired (or forged) button. The formats
are the ones already on buttons sent earlier, which go on working after an upgrade.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, cast

View = Literal["summary", "accounts", "disputes", "sources"]
VIEWS: tuple[View, ...] = ("summary", "accounts", "disputes", "sources")

_SHORT = r"([A-Za-z0-9_-]{1,16})"
_POINT = r"(\d{1,3}|-)"


class Kind(StrEnum):
    VIEW = "view"
    """Show another view of an answer (summary, accounts, disputes, sources)."""
    PICK = "pick"
    """One of the incidents offered for an ambiguous claim."""
    NONE_OF_THESE = "none"
    """None of the offered incidents: the claim goes to the moderators' queue."""
    FEEDBACK = "feedback"
    """Helpful / Not helpful under an answer."""
    FOLLOW_UP = "follow_up"
    """Tell me when an unmatched claim gets an answer."""
    FORM = "form"
    """A moderator's form: a choice, Save, Cancel."""
    IMPORT = "import"
    """A moderator's answer to "Import it?" after a dataset upload."""
    MODERATOR = "moderator"
    """Any other moderator button: pressed outside its form, or forged."""


PATTERNS: dict[Kind, re.Pattern[str]] = {
    Kind.VIEW: re.compile(rf"^v:({'|'.join(VIEWS)}):{_SHORT}:{_POINT}$"),
    Kind.PICK: re.compile(rf"^p:{_SHORT}:{_POINT}$"),
    Kind.NONE_OF_THESE: re.compile(r"^n$"),
    Kind.FEEDBACK: re.compile(rf"^f:{_SHORT}:([01])$"),
    Kind.FOLLOW_UP: re.compile(r"^u:(\d{1,18})$"),
    Kind.FORM: re.compile(r"^m:(?:c:(\d{1,3}):(\d{1,3})|(s)|(x))$"),
    Kind.IMPORT: re.compile(r"^m:(import|importall|noimport)$"),
    Kind.MODERATOR: re.compile(r"^m:"),
}


def _match(kind: Kind, data: str | None) -> re.Match[str] | None:
    return PATTERNS[kind].match(data or "")


# --- answers -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ViewButton:
    view: View
    short: str
    point: int | None
    """The index of the asked point among the incident's points, if one was asked."""


def view(view: View, short: str, point: int | None) -> str:
    return f"v:{view}:{short}:{'-' if point is None else point}"


def pick(short: str, point: int | None) -> str:
    return f"p:{short}:{'-' if point is None else point}"


def read_view(data: str | None) -> ViewButton | None:
    """A view or a pick button (a pick shows the summary of the picked incident)."""
    if found := _match(Kind.VIEW, data):
        name, short, point = found.groups()
        return ViewButton(cast(View, name), short, None if point == "-" else int(point))
    if found := _match(Kind.PICK, data):
        short, point = found.groups()
        return ViewButton("summary", short, None if point == "-" else int(point))
    return None


NONE_OF_THESE = "n"


def feedback(short: str, helpful: bool) -> str:
    return f"f:{short}:{1 if helpful else 0}"


def read_feedback(data: str | None) -> tuple[str, bool] | None:
    """(short key, helpful)."""
    if found := _match(Kind.FEEDBACK, data):
        return found.group(1), found.group(2) == "1"
    return None


def follow_up(query_id: int) -> str:
    return f"u:{query_id}"


def read_follow_up(data: str | None) -> int | None:
    found = _match(Kind.FOLLOW_UP, data)
    return int(found.group(1)) if found else None


# --- moderators --------------------------------------------------------------------------

FORM_SAVE = "m:s"
FORM_CANCEL = "m:x"


def form_choice(step: int, index: int) -> str:
    """A choice offered at one step of a form: the step rides along, so a button left over
    from an earlier question cannot answer the current one."""
    return f"m:c:{step}:{index}"


@dataclass(frozen=True)
class FormButton:
    action: Literal["choose", "save", "cancel"]
    step: int = 0
    index: int = 0


def read_form(data: str | None) -> FormButton | None:
    found = _match(Kind.FORM, data)
    if found is None:
        return None
    step, index, save, _ = found.groups()
    if step is not None:
        return FormButton("choose", int(step), int(index))
    return FormButton("save") if save else FormButton("cancel")


ImportChoice = Literal["import", "importall", "noimport"]


def import_answer(choice: ImportChoice) -> str:
    return f"m:{choice}"


def read_import(data: str | None) -> ImportChoice | None:
    found = _match(Kind.IMPORT, data)
    return cast(ImportChoice, found.group(1)) if found else None
