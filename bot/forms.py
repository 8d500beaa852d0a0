"""Guided forms: one question at a time, buttons where the answer is a fixed choice,
/cancel at any step, and a summary to confirm before anything is saved.

A form is a list of steps. Each step parses what the moderator typed (or pressed) into a
value, or raises InputError with what to fix; the question is then asked again.

What is stored between messages is only text: the form's name, what it was opened on, and
each answer exactly as given. Any process can build the form again and replay the answers
through the same parsers, so a form survives a restart and works across replicas.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot import callbacks
from bot.i18n import tr
from bot.keyboards import Button, Keyboard
from bot.markup import HTML
from domain.moderation import InputError, is_skip

Parser = Callable[[str, dict[str, Any]], Any]
# A form left unanswered this long is closed.
FORM_TIMEOUT = dt.timedelta(minutes=30)


@dataclass(frozen=True)
class Step:
    name: str
    question: str
    parse: Parser | None = None
    optional: bool = False
    # Buttons offered for the answer: (label, value) pairs; value is what `parse` receives.
    choices: Callable[[dict[str, Any]], list[tuple[str, str]]] | None = None
    # A step may apply only to some drafts (e.g. only when the incident has points).
    applies: Callable[[dict[str, Any]], bool] = lambda values: True


@dataclass
class Form:
    name: str
    title: str
    steps: list[Step]
    summary: Callable[[dict[str, Any]], str]
    save: Callable[[dict[str, Any]], Awaitable[str]]
    # What the form was opened on (JSON-able: ids, versions), enough to build it again.
    opened: dict[str, Any] = field(default_factory=dict)


@dataclass
class Draft:
    form: Form
    values: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    answers: list[str] = field(default_factory=list)

    def state(self) -> dict[str, Any]:
        """What to store so that `resume` can continue this draft in any process."""
        return {"form": self.form.name, "opened": self.form.opened, "answers": self.answers}

    @classmethod
    def resume(cls, form: Form, answers: list[str]) -> tuple[Draft, str | None]:
        """Replay stored answers; stops at the first that no longer fits (say, a source was
        deleted meanwhile) and returns why, so that question is asked again."""
        draft = cls(form)
        for text in answers:
            try:
                draft.answer(text)
            except InputError as problem:
                return draft, tr("an earlier answer no longer fits: {problem}", problem=problem)
        return draft, None

    def current(self) -> Step | None:
        while self.step < len(self.form.steps):
            step = self.form.steps[self.step]
            if step.applies(self.values):
                return step
            self.step += 1
        return None

    def answer(self, text: str) -> None:
        """Record the answer to the current question; raises InputError to ask again."""
        step = self.current()
        if step is None:
            raise InputError(tr("nothing is being asked; press Save or send /cancel"))
        if step.optional and is_skip(text):
            self.values[step.name] = None
        elif not text.strip():
            raise InputError(tr("please answer the question (or /cancel)"))
        else:
            self.values[step.name] = step.parse(text, self.values) if step.parse else text.strip()
        self.answers.append(text)
        self.step += 1

    def question(self) -> tuple[str, Keyboard]:
        step = self.current()
        if step is None:
            return self.confirmation()
        number = sum(1 for s in self.form.steps[: self.step] if s.applies(self.values)) + 1
        total = sum(1 for s in self.form.steps if s.applies(self.values))
        text = f"{HTML.bold(self.form.title)} · {number}/{total}\n{step.question}"
        if step.optional:
            text += "\n" + HTML.italic(tr("Send - to skip."))
        keyboard: Keyboard = []
        if step.choices is not None:
            options = step.choices(self.values)
            keyboard = [
                [
                    Button(label, callbacks.form_choice(self.step, n))
                    for n, (label, _) in enumerate(options[i : i + 2], i)
                ]
                for i in range(0, len(options), 2)
            ]
        keyboard.append([Button(tr("Cancel"), callbacks.FORM_CANCEL)])
        return text, keyboard

    def choose(self, step_number: int, index: int) -> None:
        step = self.current()
        if step is None or step.choices is None or step_number != self.step:
            raise InputError(tr("that button belongs to an earlier question"))
        options = step.choices(self.values)
        if not 0 <= index < len(options):
            raise InputError(tr("this button is no longer in use"))
        self.answer(options[index][1])

    def confirmation(self) -> tuple[str, Keyboard]:
        heading = HTML.bold(self.form.title) + " · " + tr("check and save")
        text = f"{heading}\n\n{self.form.summary(self.values)}"
        return text, [
            [Button(tr("Save"), callbacks.FORM_SAVE), Button(tr("Cancel"), callbacks.FORM_CANCEL)]
        ]
