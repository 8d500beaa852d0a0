"""The product as a user meets it in a private chat, through the real PTB stack over HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.double import BotApiDouble
from tests.helpers.running_bot import keyboard_data, running_bot

pytestmark = pytest.mark.asyncio


async def test_reference_case_in_english_lists_every_account_and_who_disputes(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(501, "Alice", language_code="en")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path):
        asked = bot_api.user_sends(alice, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (reply,) = await bot_api.wait_for_messages(chat, 1)
        await bot_api.wait_until_idle()
    text = reply.plain or ""
    assert reply.reply_to_message_id == asked["message"]["message_id"]
    assert "Reported militant offensive on Syrian government forces in Idlib" in text
    assert "You asked about: Up to 40 Syrian soldiers were killed" in text
    assert "asserts: Russian Ministry of Defence — Syrian soldiers killed: up to 40" in text
    assert "disputes: National Liberation Front; Syrian Observatory for Human Rights" in text
    for source in (
        "Russian Ministry of Defence (government)",
        "Syrian state media (state media)",
        "National Liberation Front (armed group)",
        "Syrian Observatory for Human Rights (independent monitor)",
    ):
        assert source in text
    labels = [b["text"] for row in reply.reply_markup["inline_keyboard"] for b in row]  # type: ignore[index]
    assert labels == ["All accounts", "The disputes", "Sources", "👍 Helpful", "👎 Not helpful"]


async def test_reference_case_in_russian_answers_in_russian(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    boris = bot_api.add_user(502, "Борис", language_code="ru")
    chat = bot_api.add_private_chat(boris)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends(
            boris, chat, "Правда ли, что боевики убили 40 сирийских военных в Идлибе?"
        )
        (reply,) = await bot_api.wait_for_messages(chat, 1)
    text = reply.plain or ""
    assert "Сообщение о наступлении боевиков на сирийские войска в Идлибе" in text
    assert "Вы спросили о: Погибли до 40 сирийских военных" in text
    assert (
        "оспаривает: Национальный фронт освобождения; Сирийская обсерватория по правам человека"
        in text
    )


async def test_forwarded_channel_post_is_checked(bot_api: BotApiDouble, tmp_path: Path) -> None:
    alice = bot_api.add_user(503, "Alice")
    chat = bot_api.add_private_chat(alice)
    channel = bot_api.add_channel(-1001234567890, "War News", username="war_news_daily")
    async with running_bot(bot_api, tmp_path):
        bot_api.user_forwards(
            alice,
            chat,
            "⚡️ Syrian army retreats after Idlib attack!\n\nSubscribe: @war_news_daily",
            from_channel=channel,
            origin_message_id=77,
        )
        (reply,) = await bot_api.wait_for_messages(chat, 1)
    assert "Reported militant offensive on Syrian government forces in Idlib" in (reply.plain or "")


async def test_forward_of_a_recorded_post_matches_exactly_whatever_it_says(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(504, "Alice")
    chat = bot_api.add_private_chat(alice)
    channel = bot_api.add_channel(-1009876543210, "Ministry", username="ministry_feed")
    async with running_bot(bot_api, tmp_path) as bot:
        await _record_post(bot, "@ministry_feed", 4242)
        bot_api.user_forwards(alice, chat, "🔥🔥🔥", from_channel=channel, origin_message_id=4242)
        bot_api.user_forwards(alice, chat, "🔥🔥🔥", from_channel=channel, origin_message_id=4243)
        first, second = await bot_api.wait_for_messages(chat, 2)
    assert "Idlib" in (first.plain or "")
    assert "no record" in (second.plain or "").lower()


async def _record_post(bot: object, channel: str, message_id: int) -> None:
    import dataclasses

    from db.repository import Actor
    from domain.model import KnownPost
    from domain.sample import REFERENCE_INCIDENT_KEY

    svc = bot.services  # type: ignore[attr-defined]
    incident = await svc.database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    changed = dataclasses.replace(incident, posts=(KnownPost(channel, message_id),))
    await svc.database.repository.save_incidents([changed], Actor(1, "test"))
    await svc.sync_index()


async def test_photo_caption_is_checked(bot_api: BotApiDouble, tmp_path: Path) -> None:
    alice = bot_api.add_user(505, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends_caption(alice, chat, "fake? Militants seized two settlements near Idleb")
        (reply,) = await bot_api.wait_for_messages(chat, 1)
    assert "Militants seized two settlements" in (reply.plain or "")


async def test_buttons_expand_the_answer_in_place(bot_api: BotApiDouble, tmp_path: Path) -> None:
    alice = bot_api.add_user(506, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends(alice, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (reply,) = await bot_api.wait_for_messages(chat, 1)
        press = bot_api.user_presses(alice, reply, keyboard_data(reply)["The disputes"])
        answered = await bot_api.wait_for_callback_answer(press)
        await bot_api.wait_until_idle()
        edited = bot_api.message(chat.id, reply.message_id)
        assert edited is not None
        assert "Where the accounts contradict each other" in (edited.plain or "")
        assert "« Back" in keyboard_data(edited)
        press = bot_api.user_presses(alice, edited, keyboard_data(edited)["Sources"])
        await bot_api.wait_for_callback_answer(press)
        await bot_api.wait_until_idle()
    assert answered.text in (None, "")
    sources = bot_api.message(chat.id, reply.message_id)
    assert sources is not None and "Syrian Observatory for Human Rights" in (sources.plain or "")
    assert "SOHR" in (sources.plain or "")
    assert len(bot_api.messages_to(chat)) == 1  # edited in place, nothing new sent


async def test_feedback_is_stored_once_per_user(bot_api: BotApiDouble, tmp_path: Path) -> None:
    alice = bot_api.add_user(507, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path) as bot:
        bot_api.user_sends(alice, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        (reply,) = await bot_api.wait_for_messages(chat, 1)
        for label in ("👍 Helpful", "👍 Helpful", "👎 Not helpful"):
            press = bot_api.user_presses(alice, reply, keyboard_data(reply)[label])
            answer = await bot_api.wait_for_callback_answer(press)
            assert answer.text == "Thanks for the feedback."
        counts = await bot.services.database.community.feedback_counts("idlib-disputed-attack")
    assert counts == (0, 1)


async def test_no_record_queues_the_claim_once_and_follows_up(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    from bot.notify import link_claim
    from db.repository import Actor

    alice = bot_api.add_user(508, "Alice")
    bob = bot_api.add_user(509, "Bob")
    alice_chat, bob_chat = bot_api.add_private_chat(alice), bot_api.add_private_chat(bob)
    claim = "Is it true that the Kherson dam was blown up by saboteurs?"
    async with running_bot(bot_api, tmp_path) as bot:
        bot_api.user_sends(alice, alice_chat, claim)
        bot_api.user_sends(bob, bob_chat, claim.upper())
        (to_alice,) = await bot_api.wait_for_messages(alice_chat, 1)
        await bot_api.wait_for_messages(bob_chat, 1)
        assert "no record of this yet" in (to_alice.plain or "")
        community = bot.services.database.community
        (entry,) = await community.open_queue()
        assert entry.times_asked == 2
        press = bot_api.user_presses(
            alice, to_alice, keyboard_data(to_alice)["🔔 Tell me when it's answered"]
        )
        answered = await bot_api.wait_for_callback_answer(press)
        assert "I'll message you" in (answered.text or "")

        told = await link_claim(
            bot.services, bot.application.bot, entry.id, "idlib-disputed-attack", Actor(1, "mod")
        )
        assert told == 1
        header, body = (await bot_api.wait_for_messages(alice_chat, 3))[1:]
        await bot_api.wait_until_idle()
        # The claim's wording now finds the incident directly.
        bot_api.user_sends(bob, bob_chat, claim)
        _, again = await bot_api.wait_for_messages(bob_chat, 2)
    assert "Update on a claim you sent me on" in (header.plain or "")
    # Alice's follow-up quotes nobody's message: the wording on record is Bob's.
    assert claim.upper() not in (header.plain or "") and claim not in (header.plain or "")
    assert "Idlib" in (body.plain or "")
    assert len(bot_api.messages_to(bob_chat)) == 2  # Bob did not ask for a follow-up
    assert "Idlib" in (again.plain or "")
    assert await community.open_queue() == []


async def test_start_help_and_lang(bot_api: BotApiDouble, tmp_path: Path) -> None:
    alice = bot_api.add_user(510, "Alice", language_code="de")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path):
        for text in ("/start", "/help", "/lang", "/lang xx", "/lang ru", "/help"):
            bot_api.user_sends(alice, chat, text)
        replies = await bot_api.wait_for_messages(chat, 6)
    start, help_en, usage, usage_again, set_ru, help_ru = (m.plain or "" for m in replies)
    assert "I check claims about contested events" in start and "@factcheck_test_bot" in start
    assert "How to ask" in help_en and "disputes: the source says it did not" in help_en
    assert usage.startswith("Usage: /lang en, /lang ru, /lang uk or /lang ar")
    assert usage_again == usage
    assert set_ru == "Теперь я отвечаю по-русски."
    assert "Как спросить" in help_ru


async def test_empty_and_junk_messages_get_a_clear_answer(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice = bot_api.add_user(511, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends(alice, chat, "hello there!")
        bot_api.user_sends(alice, chat, "<b>&amp; 💥" * 500)
        greeting, junk = await bot_api.wait_for_messages(chat, 2)
    assert "no record" in (greeting.plain or "").lower()
    assert "no record" in (junk.plain or "").lower()


async def test_too_many_checks_get_a_polite_refusal(bot_api: BotApiDouble, tmp_path: Path) -> None:
    alice = bot_api.add_user(512, "Alice")
    chat = bot_api.add_private_chat(alice)
    async with running_bot(bot_api, tmp_path, CHECKS_PER_MINUTE="2"):
        for _ in range(3):
            bot_api.user_sends(alice, chat, "Did rebels kill 40 Syrian soldiers in Idlib?")
        replies = await bot_api.wait_for_messages(chat, 3)
    assert ["Idlib" in (r.plain or "") for r in replies] == [True, True, False]
    assert "faster than I can answer" in (replies[2].plain or "")
