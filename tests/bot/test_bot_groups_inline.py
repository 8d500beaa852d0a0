"""Groups (on demand only), inline mode, ambiguity, and flood control, end to end."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from db.repository import Actor
from domain.sample import REFERENCE_INCIDENT_KEY
from tests.double import BotApiDouble
from tests.helpers.running_bot import RunningBot, keyboard_data, running_bot

CLAIM = "Did rebels kill 40 Syrian soldiers in Idlib?"


async def test_group_check_as_reply_answers_the_asker_and_ignores_other_traffic(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice, bob = bot_api.add_user(601, "Alice"), bot_api.add_user(602, "Bob")
    group = bot_api.add_group(-100555, "Newsroom", supergroup=True)
    async with running_bot(bot_api, tmp_path):
        rumour = bot_api.user_sends(alice, group, "Syrian army retreats after Idlib attack")
        bot_api.user_sends(bob, group, "Nice weather today")
        await bot_api.wait_until_idle()
        assert bot_api.messages_to(group) == []  # never answers unasked
        ask = bot_api.user_sends(bob, group, "/check", reply_to=rumour["message"]["message_id"])
        (reply,) = await bot_api.wait_for_messages(group, 1)
    assert reply.reply_to_message_id == ask["message"]["message_id"]
    assert "Reported militant offensive on Syrian government forces in Idlib" in (reply.plain or "")


async def test_group_check_with_text_and_bot_name(bot_api: BotApiDouble, tmp_path: Path) -> None:
    alice = bot_api.add_user(603, "Alice")
    group = bot_api.add_group(-100556, "Monitors", supergroup=True)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends(alice, group, f"/check@factcheck_test_bot {CLAIM}")
        bot_api.user_sends(alice, group, "/check")
        bot_api.user_sends(alice, group, f"/check@some_other_bot {CLAIM}")
        answer, usage = await bot_api.wait_for_messages(group, 2)
        await bot_api.wait_until_idle()
    assert "You asked about: Up to 40 Syrian soldiers were killed" in (answer.plain or "")
    assert (usage.plain or "").startswith("Usage: /check followed by the claim")
    assert len(bot_api.messages_to(group)) == 2  # a command for another bot is not ours


async def test_group_mention_is_answered_where_the_bot_reads_the_group(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    # With privacy mode on, Telegram only shows a bot mentions if it is an admin (or
    # privacy mode is switched off in BotFather).
    alice = bot_api.add_user(610, "Alice")
    group = bot_api.add_group(-100558, "Desk", supergroup=True, bot_is_admin=True)
    async with running_bot(bot_api, tmp_path):
        rumour = bot_api.user_sends(alice, group, "Syrian army retreats after Idlib attack")
        bot_api.user_sends(alice, group, "just chatting, nothing to check")
        bot_api.user_sends(alice, group, f"@factcheck_test_bot {CLAIM}")
        bot_api.user_sends(
            alice, group, "@factcheck_test_bot", reply_to=rumour["message"]["message_id"]
        )
        mentioned, replied = await bot_api.wait_for_messages(group, 2)
        await bot_api.wait_until_idle()
    assert "You asked about: Up to 40 Syrian soldiers were killed" in (mentioned.plain or "")
    assert "Reported militant offensive" in (replied.plain or "")
    assert len(bot_api.messages_to(group)) == 2


async def test_group_no_record_offers_no_follow_up_button(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(604, "Alice")
    group = bot_api.add_group(-100557, "Chat", supergroup=True)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends(alice, group, "/check a dragon was seen over Lisbon")
        (reply,) = await bot_api.wait_for_messages(group, 1)
    assert reply.plain == "No record of this yet."
    assert keyboard_data(reply) == {}


async def test_inline_query_offers_the_incident_and_posts_the_answer(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(605, "Alice")
    async with running_bot(bot_api, tmp_path) as bot:
        query = bot_api.user_inline_query(alice, CLAIM)
        answer = await bot_api.wait_for_inline_answer(query)
        (result,) = answer.results
        assert result["title"] == "Reported militant offensive on Syrian government forces in Idlib"
        assert result["description"] == (
            "Russian Ministry of Defence assert, "
            "National Liberation Front, Syrian Observatory for Human Rights dispute"
        )
        content = result["input_message_content"]
        assert content["parse_mode"] == "HTML" and "Up to 40" in content["message_text"]
        bot_api.user_chooses_inline_result(alice, result["id"], CLAIM)
        await bot_api.wait_until_idle()
        assert bot.services.metrics.inline_chosen._value.get() == 1
        # The same query again is served from the cache, with the same results.
        again = await bot_api.wait_for_inline_answer(bot_api.user_inline_query(alice, CLAIM))
    assert [r["id"] for r in again.results] == [result["id"]]
    assert answer.cache_time == 60


async def test_inline_query_with_nothing_or_no_match(bot_api: BotApiDouble, tmp_path: Path) -> None:
    alice = bot_api.add_user(606, "Alice")
    async with running_bot(bot_api, tmp_path):
        empty = await bot_api.wait_for_inline_answer(bot_api.user_inline_query(alice, ""))
        unknown = await bot_api.wait_for_inline_answer(
            bot_api.user_inline_query(alice, "penguins invade Helsinki <b>")
        )
    assert empty.results == []
    (result,) = unknown.results
    assert result["title"] == "No record of this claim yet"
    assert "penguins invade Helsinki &lt;b&gt;" in result["input_message_content"]["message_text"]


async def _add_twin_incidents(bot: RunningBot) -> None:
    repository = bot.services.database.repository
    reference = await repository.get_incident(REFERENCE_INCIDENT_KEY)
    assert reference is not None
    twins = [
        dataclasses.replace(
            reference,
            key=f"bridge-collapse-{n}",
            title=f"Bridge collapse in Riverton reported by officials ({label})",
            summary="Officials said the old bridge in Riverton collapsed after heavy rain.",
            place="Riverton",
            place_aliases=(),
            names=(),
            translations={},
            keywords=(),
            points=(),
            accounts=(),
            phrases=(),
        )
        for n, label in ((1, "north"), (2, "south"))
    ]
    await repository.save_incidents(twins, Actor(1, "test"))
    await bot.services.sync_index()


async def test_ambiguous_claim_asks_which_incident_then_answers(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(607, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path) as bot:
        await _add_twin_incidents(bot)
        bot_api.user_sends(alice, chat, "Did the Riverton bridge collapse after rain?")
        (question,) = await bot_api.wait_for_messages(chat, 1)
        buttons = keyboard_data(question)
        assert question.plain == "Which incident do you mean?"
        assert list(buttons)[-1] == "None of these"
        north = next(label for label in buttons if "(north)" in label)
        press = bot_api.user_presses(alice, question, buttons[north])
        await bot_api.wait_for_callback_answer(press)
        await bot_api.wait_until_idle()
        answered = bot_api.message(chat.id, question.message_id)
        assert answered is not None and "(north)" in (answered.plain or "")

        bot_api.user_sends(alice, chat, "Did the Riverton bridge collapse after rain?")
        second = (await bot_api.wait_for_messages(chat, 2))[1]
        press = bot_api.user_presses(alice, second, keyboard_data(second)["None of these"])
        await bot_api.wait_for_callback_answer(press)
        (*_, queued) = await bot_api.wait_for_messages(chat, 3)
        entries = await bot.services.database.community.open_queue()
    assert "no record of this yet" in (queued.plain or "")
    assert [e.sample_text for e in entries] == ["Did the Riverton bridge collapse after rain?"]


async def test_forged_and_stale_button_data_is_refused(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(608, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends(alice, chat, CLAIM)
        (reply,) = await bot_api.wait_for_messages(chat, 1)
        raw = bot_api.message_json(reply)
        for data in (
            "v:accounts:AAAAAAAAAAA:1",
            "v:../../etc:x:1",
            "f:x",
            "u:99999",
            "p",
            "💥" * 10,
            "",
        ):
            update = bot_api.inject(
                {
                    "callback_query": {
                        "id": f"forged-{abs(hash(data))}",
                        "from": {"id": 608, "is_bot": False, "first_name": "Alice"},
                        "message": raw,
                        "chat_instance": "1",
                        "data": data,
                    }
                }
            )
            assert update
        await bot_api.wait_until_idle()
    answers = [a.text for a in bot_api.callback_answers()]
    refusals = {"This button has expired. Send the claim again.", "This is for moderators only."}
    assert len(answers) == 7 and set(answers) <= refusals
    assert len(bot_api.messages_to(chat)) == 1
    unchanged = bot_api.message(chat.id, reply.message_id)
    assert unchanged is not None and unchanged.history == []


async def test_a_429_storm_is_survived_with_every_reply_delivered_once(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    users = [bot_api.add_user(700 + n, f"U{n}") for n in range(4)]
    chats = [bot_api.add_private_chat(u) for u in users]
    async with running_bot(bot_api, tmp_path):
        bot_api.fail_next("sendMessage", status=429, retry_after=1, times=3)
        for user, chat in zip(users, chats, strict=True):
            bot_api.user_sends(user, chat, CLAIM)
        for chat in chats:
            await bot_api.wait_for_messages(chat, 1, timeout=20)
        await bot_api.wait_until_idle(timeout=20)
    refused = [c for c in bot_api.calls("sendMessage") if c.status == 429]
    assert len(refused) == 3
    for chat in chats:
        (reply,) = bot_api.messages_to(chat)
        assert "Idlib" in (reply.plain or "")


async def test_server_errors_and_a_broken_database_get_a_plain_apology(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(609, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path) as bot:
        await bot.services.database.engine.dispose()
        original = bot.services.checker.check

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError(f"database exploded with token {bot_api.token}")

        bot.services.checker.check = broken  # type: ignore[method-assign]
        bot_api.user_sends(alice, chat, CLAIM)
        (apology,) = await bot_api.wait_for_messages(chat, 1)
        bot.services.checker.check = original  # type: ignore[method-assign]
        bot_api.user_sends(alice, chat, CLAIM)
        _, recovered = await bot_api.wait_for_messages(chat, 2)
    assert apology.plain == "Sorry, something went wrong on my side. Please try again in a moment."
    assert "Idlib" in (recovered.plain or "")
    assert json.dumps(apology.plain).count("Traceback") == 0


async def test_server_errors_from_telegram_are_retried_and_delivered_once(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    users = [bot_api.add_user(720 + n, f"V{n}") for n in range(3)]
    chats = [bot_api.add_private_chat(u) for u in users]
    async with running_bot(bot_api, tmp_path):
        bot_api.fail_next("sendMessage", status=502, times=2)
        bot_api.drop_next("sendMessage", times=1)
        for user, chat in zip(users, chats, strict=True):
            bot_api.user_sends(user, chat, CLAIM)
        for chat in chats:
            await bot_api.wait_for_messages(chat, 1, timeout=20)
        await bot_api.wait_until_idle(timeout=20)
    failed = [c for c in bot_api.calls("sendMessage") if c.status == 502 or c.dropped]
    assert len(failed) == 3
    for chat in chats:
        (reply,) = bot_api.messages_to(chat)
        assert "Idlib" in (reply.plain or "")


async def test_edited_messages_are_not_answered_again(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(611, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path):
        update = bot_api.user_sends(alice, chat, CLAIM)
        await bot_api.wait_for_messages(chat, 1)
        original = bot_api.message(chat.id, update["message"]["message_id"])
        assert original is not None
        bot_api.user_edits(original, CLAIM + " Really?")
        await bot_api.wait_until_idle()
    assert len(bot_api.messages_to(chat)) == 1


async def test_none_of_these_in_a_group_queues_the_claim_not_the_command(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(612, "Alice")
    group = bot_api.add_group(-100559, "Desk", supergroup=True)
    async with running_bot(bot_api, tmp_path) as bot:
        await _add_twin_incidents(bot)
        bot_api.user_sends(alice, group, "/check Did the Riverton bridge collapse after rain?")
        (question,) = await bot_api.wait_for_messages(group, 1)
        press = bot_api.user_presses(alice, question, keyboard_data(question)["None of these"])
        await bot_api.wait_for_callback_answer(press)
        await bot_api.wait_for_messages(group, 2)
        entries = await bot.services.database.community.open_queue()
    assert [e.sample_text for e in entries] == ["Did the Riverton bridge collapse after rain?"]
