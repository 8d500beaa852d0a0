"""One busy chat must not make anyone else wait, nor pile up without end.

Telegram lets a bot answer a group 20 times a minute, so a group flooding the bot builds a
backlog whose replies wait their turn. These tests drive the real bot through the double
and check the order in which people get their answers, not how long they take.
"""

from __future__ import annotations

from pathlib import Path

from bot.processing import MAX_BACKLOG
from tests.double import BotApiDouble
from tests.helpers.running_bot import Moderator, keyboard_data, running_bot


async def test_a_private_chat_is_answered_while_a_busy_group_waits(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice, bob = bot_api.add_user(901, "Alice"), bot_api.add_user(902, "Bob")
    group = bot_api.add_group(-100901, "Flood", supergroup=True)
    private = bot_api.add_private_chat(bob)
    async with running_bot(bot_api, tmp_path, MAX_CONCURRENT_UPDATES="4"):
        # The group's first answer is held up (as Telegram's group limit would hold it),
        # and more of its messages queue behind it than there are update slots.
        bot_api.delay_next("sendMessage", 3.0)
        for n in range(8):
            bot_api.user_sends(alice, group, f"/check rumour number {n} about a dam")
        # The group's first answer is on its way (and held), the rest queued behind it.
        await bot_api.wait_for(lambda: bot_api.calls("sendMessage") or None, timeout=10)
        bot_api.user_sends(bob, private, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (answer,) = await bot_api.wait_for_messages(private, 1)
        answered_first = len(bot_api.messages_to(group)) == 0
        await bot_api.wait_for_messages(group, 8, timeout=30)
    # Bob's answer did not wait for the group's slow one: the group's backlog waited for its
    # own turn outside the shared slots.
    assert answered_first
    assert "Idlib" in (answer.plain or "")


async def test_a_chat_backlog_is_capped_and_the_chat_is_told_once(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(911, "Alice")
    group = bot_api.add_group(-100911, "Flood", supergroup=True)
    flood = MAX_BACKLOG + 10
    async with running_bot(bot_api, tmp_path) as bot:
        bot_api.delay_next("sendMessage", 2.0)  # the first answer holds the chat's line
        for n in range(flood):
            bot_api.user_sends(alice, group, f"/check rumour number {n} about a dam")
        await bot_api.wait_until_idle(quiet=3.0, timeout=60)
        texts = [m.plain or "" for m in bot_api.messages_to(group)]
        unfinished = await bot.services.database.inbox.unfinished()
    skipped = [t for t in texts if "skipping some" in t]
    assert len(skipped) == 1  # told once, not once per skipped message
    assert len(texts) - 1 == MAX_BACKLOG  # the backlog was answered, the rest skipped
    assert unfinished == 0  # skipped updates are done with, not handled again at restart


async def test_someone_over_the_limit_is_told_so_once_not_at_every_message(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    eager = bot_api.add_user(921, "Eager")
    chat = bot_api.add_private_chat(eager)
    async with running_bot(bot_api, tmp_path, CHECKS_PER_MINUTE="2"):
        for n in range(12):
            bot_api.user_sends(eager, chat, f"a dragon was seen over Lisbon, sighting {n}")
        await bot_api.wait_until_idle(quiet=1.0, timeout=30)
    texts = [m.plain or "" for m in bot_api.messages_to(chat)]
    assert sum("faster than I can answer" in t for t in texts) == 1
    assert len(texts) == 3  # two answers and one "too fast", not ten of them


async def test_audit_hides_refusals_unless_asked_and_filters_by_person_and_kind(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    admin_user, stranger = bot_api.add_user(931, "Admin"), bot_api.add_user(932, "Stranger")
    admin = Moderator(bot_api, admin_user, bot_api.add_private_chat(admin_user))
    stranger_chat = bot_api.add_private_chat(stranger)
    async with running_bot(bot_api, tmp_path, ADMIN_IDS="931"):
        await admin.send("/edit idlib-disputed-attack country Syrian Arab Republic")
        # Fewer than a chat's backlog holds, so that every one of them is handled.
        for _ in range(MAX_BACKLOG - 2):
            bot_api.user_sends(stranger, stranger_chat, "/delete idlib-disputed-attack")
        await bot_api.wait_until_idle(quiet=1.0, timeout=60)
        changes = await admin.send("/audit 5")
        refusals = await admin.send("/audit 5 refusals kind=refused")
        mine = await admin.send("/audit 5 user=932")
    assert "update incident idlib-disputed-attack" in (changes.plain or "")
    assert "refused" not in (changes.plain or "")
    assert f"refused access delete ×{MAX_BACKLOG - 2}" in (refusals.plain or "")
    assert "Nothing in the audit log matches." in (mine.plain or "")  # refusals hidden


async def test_button_presses_count_against_the_same_limit_as_checks(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    presser = bot_api.add_user(941, "Presser")
    chat = bot_api.add_private_chat(presser)
    async with running_bot(bot_api, tmp_path, CHECKS_PER_MINUTE="3"):
        bot_api.user_sends(presser, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (answer,) = await bot_api.wait_for_messages(chat, 1)
        sources = keyboard_data(answer)["Sources"]
        presses = [bot_api.user_presses(presser, answer, sources) for _ in range(6)]
        for press in presses:
            await bot_api.wait_for_callback_answer(press)
        await bot_api.wait_until_idle()
    texts = [a.text or "" for a in bot_api.callback_answers()]
    # One check and two presses fit in three a minute; the other presses are refused.
    assert sum("faster than I can answer" in t for t in texts) == 4
