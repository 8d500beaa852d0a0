"""Moderators curate from the chat, end to end through the Bot API double."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from domain.dataset import SAMPLE_PATH
from tests.double import BotApiDouble
from tests.helpers.reference_entry import POINTS
from tests.helpers.running_bot import Moderator, keyboard_data, running_bot

ADMIN = 900


def _minutes_ago(minutes: int) -> str:
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=minutes)
    return moment.replace(tzinfo=None).isoformat(sep=" ")


async def _admin(double: BotApiDouble, user_id: int = ADMIN, name: str = "Admin") -> Moderator:
    """Someone in a private chat with the bot (an admin when `user_id` is in ADMIN_IDS)."""
    user = double.add_user(user_id, name)
    return Moderator(double, user, double.add_private_chat(user))


SOURCES = [
    ("Syrian state media", "state media", "SANA, Syrian Arab News Agency"),
    ("National Liberation Front", "armed_group", "NLF, al-Jabha al-Wataniya lil-Tahrir"),
    ("Syrian Observatory for Human Rights", "independent_monitor", "SOHR, the Observatory"),
]
ACCOUNTS = [
    (
        "Russian Ministry of Defence",
        "Militant groups attacked on Wednesday; up to 40 soldiers died.",
        "Syrian soldiers killed: up to 40 #2\nmilitants killed: up to 50 #4",
        ["✅ asserts", "✅ asserts", "✅ asserts", "✅ asserts", "… silent"],
    ),
    (
        "Syrian state media",
        "A major attack early on Thursday made army units re-deploy.",
        "-",
        ["✅ asserts", "… silent", "◐ partly", "… silent", "… silent"],
    ),
    (
        "National Liberation Front",
        "No assault took place on Wednesday or Thursday.",
        "-",
        ["❌ disputes", "❌ disputes", "❌ disputes", "… silent", "◐ partly"],
    ),
    (
        "Syrian Observatory for Human Rights",
        "No attack on Thursday; about 400 air strikes.",
        "air strikes since Wednesday: about 400 #5",
        ["❌ disputes", "❌ disputes", "… silent", "… silent", "✅ asserts"],
    ),
]


async def test_reference_case_built_from_nothing_then_found_by_a_user(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, SAMPLE_DATA="no", ADMIN_IDS=str(ADMIN)) as bot:
        mod = await _admin(bot_api)
        # One source through the guided form, the rest as one-liners.
        await mod.send("/newsource")
        await mod.send("Russian Ministry of Defence")
        await mod.press("government")
        await mod.send("Russian Defense Ministry, Minoborony, Минобороны")
        await mod.send("Russia; party to the conflict")
        await mod.send("https://mil.ru")
        saved = await mod.press("Save")
        assert "Saved source" in (saved.plain or "")
        for name, kind, aliases in SOURCES:
            reply = await mod.send(f"/newsource {name} | {kind.replace(' ', '_')} | {aliases}")
            assert "Saved source" in (reply.plain or ""), reply.plain

        await mod.send("/newincident")
        await mod.send("Reported militant offensive on Syrian government forces in Idlib")
        await mod.send(
            "Russia's defence ministry reported a militant offensive; "
            "rebels and a war monitor deny it."
        )
        await mod.send("Idlib, Idleb, Идлиб, إدلب")
        await mod.send("Syria")
        await mod.send("unknown")
        summary = await mod.send("\n".join(POINTS))
        assert "Points: 5" in (summary.plain or "")
        saved = await mod.press("Save")
        key = (saved.plain or "").split("Saved incident ")[1].split(".")[0]

        for source, said, figures, stances in ACCOUNTS:
            await mod.send(f"/addaccount {key}")
            await mod.press(source)
            await mod.send(said)
            await mod.send(figures)
            for stance in stances:
                await mod.press(stance)
            await mod.send("-")
            confirm = await mod.send("-")
            assert "check and save" in (confirm.plain or "")
            saved = await mod.press("Save")
            assert "Saved." in (saved.plain or ""), saved.plain
        entered = mod.sent
        print(f"moderator interactions: {entered}")

        user = bot_api.add_user(950, "Reader")
        chat = bot_api.add_private_chat(user)
        bot_api.user_sends(user, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (answer,) = await bot_api.wait_for_messages(chat, 1)
        stored = await bot.services.database.repository.get_incident(key)
    text = answer.plain or ""
    assert "You asked about: Up to 40 Syrian soldiers were killed" in text
    assert "asserts: Russian Ministry of Defence — Syrian soldiers killed: up to 40" in text
    assert "disputes: National Liberation Front; Syrian Observatory for Human Rights" in text
    assert stored is not None and stored.status.value == "contested"
    assert len(stored.accounts) == 4
    # The number of messages and button presses it took, reported in the README.
    assert entered <= 70


async def test_non_moderators_are_refused_everywhere(bot_api: BotApiDouble, tmp_path: Path) -> None:
    stranger = bot_api.add_user(951, "Stranger")
    chat = bot_api.add_private_chat(stranger)
    group = bot_api.add_group(-100777, "Group", supergroup=True)
    commands = [
        "/newincident", "/newsource X | ngo", "/addaccount idlib-disputed-attack",
        "/addpoint idlib-disputed-attack x", "/stance idlib-disputed-attack a 1 asserts",
        "/edit idlib-disputed-attack title X", "/delete idlib-disputed-attack", "/undo",
        "/show idlib-disputed-attack", "/queue", "/link 1 idlib-disputed-attack", "/dismiss 1",
        "/audit", "/export", "/mod add 5", "/mod list", "/cancel",
    ]  # fmt: skip
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)) as bot:
        for command in commands:
            bot_api.user_sends(stranger, chat, command)
        replies = await bot_api.wait_for_messages(chat, 1)
        bot_api.user_sends_document(stranger, chat, "data.json", SAMPLE_PATH.read_bytes())
        await bot_api.wait_until_idle()
        # Forged moderator buttons, pressed on a message of the stranger's own chat.
        raw = bot_api.message_json(replies[0])
        for data in ("m:s", "m:c:0", "m:import", "m:x"):
            bot_api.inject(
                {
                    "callback_query": {
                        "id": f"forged-{data}",
                        "from": {"id": 951, "is_bot": False, "first_name": "S"},
                        "message": raw,
                        "chat_instance": "1",
                        "data": data,
                    }
                }
            )
        # In a group, even an admin is refused.
        admin = bot_api.add_user(ADMIN, "Admin")
        bot_api.user_sends(admin, group, "/delete@factcheck_test_bot idlib-disputed-attack")
        (in_group,) = await bot_api.wait_for_messages(group, 1)
        await bot_api.wait_until_idle()
        repository = bot.services.database.repository
        changes = await bot.services.database.audit.latest(100)
        refusals = await bot.services.database.audit.latest(100, refusals=True)
        incident = await repository.get_incident("idlib-disputed-attack")
    # Told once: someone hammering commands costs the chat one refusal a minute.
    texts = [m.plain for m in bot_api.messages_to(chat)]
    assert texts == ["This is for moderators only."]
    answers = [a.text for a in bot_api.callback_answers()]
    assert answers == ["This is for moderators only."] * 4  # every press is answered
    assert in_group.plain == "Moderator commands work only in a private chat with me."
    assert incident is not None  # nothing was deleted
    # Every attempt is counted, one row per person and command; none hides real changes.
    attempts = [e for e in refusals if e.action == "refused" and e.actor_id == 951]
    assert sum(int((e.after or {})["times"]) for e in attempts) == len(commands) + 1 + 4
    assert len(attempts) < len(commands) + 1 + 4
    assert not any(e.action == "refused" for e in changes)


async def test_admin_appoints_a_moderator_who_can_then_edit(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)) as bot:
        admin = await _admin(bot_api)
        dana_user = bot_api.add_user(952, "Dana")
        dana = Moderator(bot_api, dana_user, bot_api.add_private_chat(dana_user))
        refused = await dana.send("/edit idlib-disputed-attack country Syrian Arab Republic")
        assert refused.plain == "This is for moderators only."
        assert "952 is now a moderator" in ((await admin.send("/mod add 952")).plain or "")
        assert "952" in ((await admin.send("/mod list")).plain or "")
        refused = await dana.send("/mod add 953")
        assert refused.plain == "Only admins can do that."
        saved = await dana.send("/edit idlib-disputed-attack country Syrian Arab Republic")
        assert "Saved (version 2)" in (saved.plain or "")
        shown = await dana.send("/show idlib-disputed-attack")
        assert "#2 soldiers-killed Up to 40 Syrian soldiers were killed" in (shown.plain or "")
        bad = await dana.send("/edit idlib-disputed-attack date 2020-13-45")
        assert "Not saved: date: use YYYY-MM-DD" in (bad.plain or "")
        usage = await dana.send("/edit idlib-disputed-attack")
        assert (usage.plain or "").startswith("Usage: /edit INCIDENT-ID FIELD new value")
        usage = await dana.send("/addaccount")
        assert (usage.plain or "").startswith("Usage: /addaccount INCIDENT-ID")
        unknown = await dana.send("/addaccount no-such-incident")
        assert (unknown.plain or "").startswith("No incident with id no-such-incident.")
        undone = await dana.send("/undo")
        assert "Undone: update of idlib-disputed-attack" in (undone.plain or "")
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
        audit = await dana.send("/audit 5")
    assert stored is not None and stored.country == "Syria"
    assert "Dana: revert incident idlib-disputed-attack" in (audit.plain or "")


async def test_a_stale_form_is_refused_with_a_conflict_not_saved_over(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=f"{ADMIN},953") as bot:
        first = await _admin(bot_api)
        second = await _admin(bot_api, 953, "Other")
        await first.send("/addaccount idlib-disputed-attack")
        await first.press("Syrian state media")
        # Meanwhile another moderator edits the same incident.
        saved = await second.send("/addpoint idlib-disputed-attack A hospital was hit")
        assert "Saved (version 2)" in (saved.plain or "")
        # The form's questions were about the version it opened on: the next answer
        # closes it with the reason instead of collecting answers that cannot be saved.
        refused = await first.send("A second state media report.")
        after = await first.send("Syrian army retreats after Idlib attack")
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
    assert "Your open form was closed" in (refused.plain or "")
    assert "changed by someone else" in (refused.plain or "")
    assert "Reported militant offensive" in (after.plain or "")  # a plain check again
    assert (
        stored is not None
        and len(stored.accounts) == 4
        and stored.points[-1].text == "A hospital was hit"
    )


async def test_a_change_between_the_last_answer_and_save_is_refused(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=f"{ADMIN},954") as bot:
        first = await _admin(bot_api)
        second = await _admin(bot_api, 954, "Other")
        await first.send("/addpoint idlib-disputed-attack")
        summary = await first.send("Schools were closed across the province")
        await second.send("/edit idlib-disputed-attack country Syrian Arab Republic")
        refused = await first.press("Save", summary)
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
    assert "changed by someone else" in (refused.plain or "")
    assert stored is not None and stored.country == "Syrian Arab Republic"
    assert all(p.text != "Schools were closed across the province" for p in stored.points)


async def test_bad_dataset_upload_gets_a_report_and_changes_nothing(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    data: dict[str, Any] = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    data["incidents"][0]["title"] = "Changed"
    data["incidents"][0]["accounts"][1]["source"] = "tass"
    del data["incidents"][0]["summary"]
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)) as bot:
        mod = await _admin(bot_api)
        bot_api.user_sends_document(mod.user, mod.chat, "bad.json", json.dumps(data).encode())
        (report,) = await bot_api.wait_for_messages(mod.chat, 1)
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
        # A good file: validated, then imported only after confirming.
        data["incidents"][0]["accounts"][1]["source"] = "sy-state-media"
        data["incidents"][0]["summary"] = "A new summary."
        bot_api.user_sends_document(mod.user, mod.chat, "good.json", json.dumps(data).encode())
        _, question = await bot_api.wait_for_messages(mod.chat, 2)
        assert "valid: 4 sources, 1 incidents" in (question.plain or "")
        done = await mod.press("Import", question)
        changed = await bot.services.database.repository.get_incident("idlib-disputed-attack")
        exported = await mod.send("/export")
    text = report.plain or ""
    assert "2 problem(s) found; nothing was imported." in text
    assert "incidents[0].summary: missing required field" in text
    assert stored is not None and stored.title != "Changed"
    assert "1 changed" in (done.plain or "")
    assert changed is not None and changed.title == "Changed"
    assert exported.document is not None
    assert json.loads(exported.document.data)["incidents"][0]["title"] == "Changed"


@pytest.mark.parametrize(
    "bad", ["/link", "/link x y", "/link 99 idlib-disputed-attack", "/dismiss 99"]
)
async def test_queue_commands_validate_their_arguments(
    bot_api: BotApiDouble, tmp_path: Path, bad: str
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        mod = await _admin(bot_api)
        reply = await mod.send(bad)
    assert (reply.plain or "").startswith(("Usage:", "⚠️ no queued claim"))


async def test_accounts_sources_and_posts_are_edited_from_the_chat(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    channel = bot_api.add_channel(-1001112223334, "Front News", username="front_news")
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)) as bot:
        mod = await _admin(bot_api)
        edited = await mod.send(
            "/editaccount idlib-disputed-attack sohr-count figures "
            "air strikes since Wednesday: about 400 #5\nsettlements hit: 12"
        )
        assert "Saved (version 2)" in (edited.plain or ""), edited.plain
        renamed = await mod.send("/editsource sohr name Syrian Observatory (SOHR)")
        assert "Saved source sohr (version 2)" in (renamed.plain or ""), renamed.plain
        removed = await mod.send("/removeaccount idlib-disputed-attack state-media-report")
        assert "Saved (version 3)" in (removed.plain or "")
        bad = await mod.send("/removeaccount idlib-disputed-attack nope")
        assert "no account 'nope'" in (bad.plain or "")
        forwarded = bot_api.user_forwards(
            mod.user, mod.chat, "Breaking: Idlib", from_channel=channel, origin_message_id=99
        )
        await bot_api.wait_for_messages(mod.chat, 5)
        recorded = await mod.send("/post idlib-disputed-attack")
        assert (recorded.plain or "").startswith("Usage:")  # not a reply to a forward
        seen = len(bot_api.messages_to(mod.chat))
        bot_api.user_sends(
            mod.user,
            mod.chat,
            "/post idlib-disputed-attack",
            reply_to=forwarded["message"]["message_id"],
        )
        recorded = (await bot_api.wait_for_messages(mod.chat, seen + 1))[-1]
        assert "Saved (version 4)" in (recorded.plain or ""), recorded.plain
        undone = await mod.send("/undo")
        assert "Undone" in (undone.plain or "")
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
        reader = bot_api.add_user(960, "Reader")
        chat = bot_api.add_private_chat(reader)
        bot_api.user_sends(reader, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (answer,) = await bot_api.wait_for_messages(chat, 1)
    assert forwarded is not None
    assert stored is not None and stored.posts == ()  # the /post was undone
    assert [a.key for a in stored.accounts] == ["mod-statement", "nlf-spokesman", "sohr-count"]
    sohr = stored.accounts[-1]
    assert [(f.label, f.raw, f.point_key) for f in sohr.figures] == [
        ("air strikes since Wednesday", "about 400", "air-strikes"),
        ("settlements hit", "12", None),
    ]
    assert sohr.source.name == "Syrian Observatory (SOHR)"
    assert "Syrian Observatory (SOHR)" in (answer.plain or "")
    assert "Syrian state media" not in (answer.plain or "")


async def test_queue_link_in_the_chat_tells_whoever_asked(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        mod = await _admin(bot_api)
        asker = bot_api.add_user(961, "Asker")
        chat = bot_api.add_private_chat(asker)
        bot_api.user_sends(asker, chat, "Was a hospital in Sarmin bombed last night?")
        (no_record,) = await bot_api.wait_for_messages(chat, 1)
        buttons = keyboard_data(no_record)
        bot_api.user_presses(asker, no_record, buttons["🔔 Tell me when it's answered"])
        await bot_api.wait_until_idle()
        listing = await mod.send("/queue")
        queue_id = (listing.plain or "").splitlines()[1].split()[0]
        assert "×1 (1 waiting) Was a hospital in Sarmin bombed last night?" in (listing.plain or "")
        linked = await mod.send(f"/link {queue_id} idlib-disputed-attack")
        header, body = (await bot_api.wait_for_messages(chat, 3))[1:]
        empty = await mod.send("/queue")
    assert "Linked. 1 waiting user told." in (linked.plain or "")
    assert "Update on a claim you sent" in (header.plain or "")
    assert "Idlib" in (body.plain or "")
    assert (empty.plain or "").startswith("The queue is empty")


async def test_forms_answer_stray_commands_and_ignore_old_buttons(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)) as bot:
        mod = await _admin(bot_api)
        await mod.send("/addaccount idlib-disputed-attack")
        await mod.press("Syrian state media")
        await mod.send("Another state media report.")
        first_stance = await mod.send("-")  # no figures; now the first stance question
        busy = await mod.send("/newincident")
        assert "a form is open: answer it, or send /cancel first" in (busy.plain or "")
        await mod.press("✅ asserts", first_stance)
        stale = await mod.press("❌ disputes", first_stance)  # the old question's button again
        assert "that button belongs to an earlier question" in (stale.plain or "")
        assert "Point 2 of 5" in (stale.plain or "")
        cancelled = await mod.send("/cancel")
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
    assert cancelled.plain == "Cancelled; nothing was saved."
    assert stored is not None and len(stored.accounts) == 4


async def test_add_point_guided_or_in_one_line(bot_api: BotApiDouble, tmp_path: Path) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)) as bot:
        mod = await _admin(bot_api)
        question = await mod.send("/addpoint idlib-disputed-attack")
        assert "The new point" in (question.plain or "")
        assert "#2 Up to 40 Syrian soldiers were killed" in (question.plain or "")
        await mod.send("A hospital in Maarat al-Numan was hit")
        saved = await mod.press("Save")
        one_line = await mod.send("/addpoint idlib-disputed-attack Civilians fled north")
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
    assert "Saved point #6" in (saved.plain or "")
    assert "Saved (version 3)" in (one_line.plain or "")
    assert stored is not None
    assert [p.text for p in stored.points[-2:]] == [
        "A hospital in Maarat al-Numan was hit",
        "Civilians fled north",
    ]


async def test_a_form_left_for_half_an_hour_closes_and_the_chat_works_again(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=f"{ADMIN}") as bot:
        admin = await _admin(bot_api)
        await admin.send("/addpoint idlib-disputed-attack")
        # Half an hour and a minute later (the clock moved by ageing the stored draft).
        async with bot.services.database.engine.begin() as connection:
            await connection.exec_driver_sql(
                "UPDATE form_draft SET updated_at = ?", (_minutes_ago(31),)
            )
        answer = await admin.send("Syrian army retreats after Idlib attack")
        cancelled = await admin.send("/cancel")
    assert "Reported militant offensive" in (answer.plain or "")  # read as a claim again
    assert cancelled.plain == "Nothing to cancel."


async def test_save_pressed_twice_saves_once(bot_api: BotApiDouble, tmp_path: Path) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=f"{ADMIN}") as bot:
        admin = await _admin(bot_api)
        await admin.send("/addpoint idlib-disputed-attack")
        summary = await admin.send("Power was cut in the city for two days")
        save = keyboard_data(summary)["Save"]
        # Two presses in quick succession, as an impatient thumb (or two replicas) sends them.
        presses = [bot_api.user_presses(admin.user, summary, save) for _ in range(2)]
        answers = [await bot_api.wait_for_callback_answer(p) for p in presses]
        await bot_api.wait_until_idle()
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
    saved = [
        m.plain or "" for m in bot_api.messages_to(admin.chat) if "Saved point" in (m.plain or "")
    ]
    assert len(saved) == 1 and saved[0].startswith("Saved point #6.")
    assert [a.text for a in answers] == [None, "This form is closed."]
    assert stored is not None and len(stored.points) == 6


async def test_an_upload_waiting_for_import_survives_a_restart(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    data: dict[str, Any] = json.loads(SAMPLE_PATH.read_text(encoding="utf-8"))
    data["incidents"][0]["title"] = "Retitled after the restart"
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        mod = await _admin(bot_api)
        bot_api.user_sends_document(mod.user, mod.chat, "retitle.json", json.dumps(data).encode())
        (question,) = await bot_api.wait_for_messages(mod.chat, 1)
    # The process that validated the file is gone; a new one takes the button.
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)) as bot:
        done = await mod.press("Import", question)
        again = await mod.press("Import", question)
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
    assert "Imported retitle.json" in (done.plain or "") and "1 changed" in (done.plain or "")
    assert again.plain == "Nothing is waiting to be imported; send the file again."
    assert stored is not None and stored.title == "Retitled after the restart"


@pytest.mark.parametrize("how", ["/cancel", "Cancel button"])
async def test_cancel_works_even_when_an_earlier_answer_no_longer_fits(
    bot_api: BotApiDouble, tmp_path: Path, how: str
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)) as bot:
        admin = await _admin(bot_api)
        await admin.send("/addaccount idlib-disputed-attack")
        question = await admin.press("Syrian state media")
        # Meanwhile the chosen source stops fitting (as when it is deleted elsewhere).
        drafts = bot.services.database.drafts
        where = (admin.user.id, admin.chat.id)
        state = dict(await drafts.get(*where, max_age=dt.timedelta(hours=1)) or {})
        state["answers"] = ["a source nobody recorded"]
        await drafts.put(*where, state)
        if how == "/cancel":
            cancelled = await admin.send("/cancel")
        else:
            cancelled = await admin.press("Cancel", question)
        left = await drafts.get(*where, max_age=dt.timedelta(hours=1))
        stored = await bot.services.database.repository.get_incident("idlib-disputed-attack")
    assert cancelled.plain == "Cancelled; nothing was saved."
    assert left is None
    assert stored is not None and len(stored.accounts) == 4


async def test_an_older_export_neither_revives_deleted_incidents_nor_overwrites_newer_edits(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)) as bot:
        mod = await _admin(bot_api)
        exported = await mod.send("/export")
        assert exported.document is not None
        old = json.loads(exported.document.data)
        twin = dict(old["incidents"][0], id="idlib-twin", title="A twin of the Idlib case")
        twin["posts"], twin["phrases"] = [], []
        old["incidents"].append(twin)
        # Since the export: one incident edited here, another (imported first) deleted.
        repository = bot.services.database.repository
        bot_api.user_sends_document(mod.user, mod.chat, "first.json", json.dumps(old).encode())
        first = (await bot_api.wait_for_messages(mod.chat, 2))[-1]
        await mod.press("Import", first)
        await mod.send("/edit idlib-disputed-attack title Edited after the export")
        await mod.send("/delete idlib-twin")
        seen = len(bot_api.messages_to(mod.chat))
        bot_api.user_sends_document(mod.user, mod.chat, "old.json", json.dumps(old).encode())
        question = (await bot_api.wait_for_messages(mod.chat, seen + 1))[-1]
        plan = question.plain or ""
        done = await mod.press("Import", question)
        edited = await repository.get_incident("idlib-disputed-attack")
        twin_now = await repository.get_incident("idlib-twin")
    assert "deleted here (the import would restore): idlib-twin" in plan
    assert "edited here since the file was exported (the import would overwrite): " in plan
    assert "Import all" in keyboard_data(question)  # replacing them takes its own button
    assert "left as they were" in (done.plain or "")
    assert edited is not None and edited.title == "Edited after the export"
    assert twin_now is None  # still deleted


async def test_an_answer_judged_wrong_reaches_the_queue_and_the_record(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    reader = bot_api.add_user(961, "Reader")
    reader_chat = bot_api.add_private_chat(reader)
    claim = "Rebels killed 40 soldiers in Idlib, right?"
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        admin = await _admin(bot_api)
        bot_api.user_sends(reader, reader_chat, claim)
        (answer,) = await bot_api.wait_for_messages(reader_chat, 1)
        press = bot_api.user_presses(reader, answer, keyboard_data(answer)["👎 Not helpful"])
        assert (await bot_api.wait_for_callback_answer(press)).text == "Thanks for the feedback."
        await bot_api.wait_until_idle()
        queue = (await admin.send("/queue")).plain or ""
        shown = (await admin.send("/show idlib-disputed-attack")).plain or ""
    # The claim was answered, so it was never unmatched: it is queued because the reader
    # said the answer was wrong, with the incident it was answered with.
    assert claim in queue
    assert "answered with idlib-disputed-attack, judged wrong" in queue
    assert "👍 0 helpful · 👎 1 not helpful" in shown


async def test_a_moderator_translates_a_record_and_readers_see_it(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    reader = bot_api.add_user(962, "Читач", language_code="uk")
    reader_chat = bot_api.add_private_chat(reader)
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        admin = await _admin(bot_api)
        usage = (await admin.send("/translate idlib-disputed-attack uk")).plain or ""
        refused = await admin.send("/translate idlib-disputed-attack uk figure:sohr-count:7 x")
        saved = await admin.send(
            "/translate idlib-disputed-attack uk account:sohr-count "
            "Обсерваторія не зафіксувала жодної атаки в четвер."
        )
        source = await admin.send("/translatesource sohr uk name Обсерваторія (SOHR)")
        bot_api.user_sends(reader, reader_chat, "Чи вбили бойовики 40 сирійських військових?")
        (answer,) = await bot_api.wait_for_messages(reader_chat, 1)
    assert "WHAT: title, summary, place" in usage
    assert "Not saved: figure: give a number from 1 to 1" in (refused.plain or "")
    assert "Saved (version 2)" in (saved.plain or "")
    assert "Saved source sohr (version 2)" in (source.plain or "")
    text = answer.plain or ""
    assert "Обсерваторія не зафіксувала жодної атаки в четвер." in text
    assert "Обсерваторія (SOHR)" in text


async def test_moderators_are_answered_in_their_own_language(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    user = bot_api.add_user(ADMIN, "Адмін", language_code="uk")
    admin = Moderator(bot_api, user, bot_api.add_private_chat(user))
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        missing = (await admin.send("/show no-such-incident")).plain or ""
        queue = (await admin.send("/queue")).plain or ""
        form = (await admin.send("/newincident")).plain or ""
        cancelled = (await admin.press("Скасувати")).plain or ""
    assert missing.startswith("Немає інциденту з id no-such-incident.")
    assert "Нещодавно змінені інциденти:" in missing
    assert queue.startswith("Черга порожня")
    assert form.startswith("Новий інцидент · 1/6\nЗаголовок?")
    assert cancelled == "Скасовано; нічого не збережено."
