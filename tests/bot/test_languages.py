"""People are answered in their own language, end to end through the Bot API double."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.markup import RLM
from domain.model import RECORD_LANGUAGE
from tests.double import BotApiDouble
from tests.helpers.running_bot import keyboard_data, running_bot

# The reference claim as people ask it, and what the answer must then say.
ASKED = {
    "en": (
        "Did rebels kill 40 Syrian soldiers in Idlib?",
        ["Reported militant offensive on Syrian government forces in Idlib",
         "disputes: National Liberation Front; Syrian Observatory for Human Rights"],
        ["All accounts", "The disputes", "Sources", "👍 Helpful", "👎 Not helpful"],
    ),
    "ru": (
        "Правда ли, что боевики убили 40 сирийских военных в Идлибе?",
        ["Сообщение о наступлении боевиков на сирийские войска в Идлибе",
         "оспаривает: Национальный фронт освобождения; Сирийская обсерватория"],
        ["Все версии", "Противоречия", "Источники", "👍 Полезно", "👎 Бесполезно"],
    ),
    "uk": (
        "Чи правда, що бойовики вбили 40 сирійських військових в Ідлібі?",
        ["Повідомлення про наступ бойовиків на сирійські урядові сили в Ідлібі",
         "заперечує: Національний фронт визволення; Сирійська обсерваторія з прав людини",
         "Міністерство оборони Росії — сирійських військових загинуло: up to 40"],
        ["Усі версії", "Суперечності", "Джерела", "👍 Корисно", "👎 Некорисно"],
    ),
    "ar": (
        "هل قتل المسلحون 40 جنديا سوريا في إدلب؟",
        ["تقارير عن هجوم للمسلحين على القوات الحكومية السورية في إدلب",
         "ينفي: الجبهة الوطنية للتحرير؛ المرصد السوري لحقوق الإنسان",
         "الجنود السوريون القتلى: ⁨up to 40⁩"],
        ["كل الروايات", "نقاط الخلاف", "المصادر", "👍 مفيد", "👎 غير مفيد"],
    ),
}  # fmt: skip
BACK = {"en": "« Back", "ru": "« Назад", "uk": "« Назад", "ar": "« رجوع"}


@pytest.mark.parametrize("language", list(ASKED))
async def test_the_reference_claim_is_answered_in_the_askers_language(
    bot_api: BotApiDouble, tmp_path: Path, language: str
) -> None:
    claim, expected, buttons = ASKED[language]
    user = bot_api.add_user(700 + len(language) * 10, "Reader", language_code=language)
    chat = bot_api.add_private_chat(user)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends(user, chat, claim)
        (reply,) = await bot_api.wait_for_messages(chat, 1)
        text, labels = reply.plain or "", list(keyboard_data(reply))
        press = bot_api.user_presses(user, reply, keyboard_data(reply)[buttons[0]])
        await bot_api.wait_for_callback_answer(press)
        await bot_api.wait_until_idle()
    assert all(part in text for part in expected), text
    assert f"({RECORD_LANGUAGE})" not in text  # nothing left untranslated
    assert labels == buttons
    if language == "ar":
        assert all(line.startswith(RLM) for line in text.split("\n") if line)
    # The full accounts, shown in place of the answer by the button, keep the language.
    accounts = bot_api.message(chat.id, reply.message_id)
    assert accounts is not None and accounts.plain != text
    assert f"({RECORD_LANGUAGE})" not in (accounts.plain or "")
    assert next(iter(keyboard_data(accounts))) == BACK[language]


async def test_without_a_telegram_language_the_message_says_which(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    user = bot_api.add_user(781, "Reader", language_code=None)
    chat = bot_api.add_private_chat(user)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends(user, chat, ASKED["uk"][0])
        (reply,) = await bot_api.wait_for_messages(chat, 1)
    assert ASKED["uk"][1][0] in (reply.plain or "")


async def test_in_a_group_the_asking_message_language_wins(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    user = bot_api.add_user(782, "Reader", language_code="en")
    group = bot_api.add_group(-100782, "Newsroom", supergroup=True)
    async with running_bot(bot_api, tmp_path):
        bot_api.user_sends(user, group, f"/check {ASKED['ar'][0]}")
        (reply,) = await bot_api.wait_for_messages(group, 1)
    assert ASKED["ar"][1][0] in (reply.plain or "")
