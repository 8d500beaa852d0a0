"""The bot's own words, in English and Russian.

Stored records are shown in the language moderators wrote them in (with an incident's
translation where one exists); everything the bot itself says comes from here.
"""

from __future__ import annotations

from typing import Any

from domain.model import SourceKind, Stance

LANGUAGES = ("en", "ru")
DEFAULT = "en"

_EN: dict[str, str] = {
    "start": (
        "I check claims about contested events against the accounts that each side "
        "published.\n\n"
        "Send me a claim, or forward a post. If I have a record of the incident, you get "
        "every source's account side by side, the figures each one gave, and who disputes "
        "what. I never merge them into a verdict of my own.\n\n"
        "In groups: /check followed by the claim, or reply /check to a message. "
        "In any chat: type @{bot} and the claim."
    ),
    "help": (
        "<b>How to ask</b>\n"
        "• Send a claim as text, or forward a post here.\n"
        "• In a group: /check claim, or reply /check to a message.\n"
        "• In any chat: @{bot} claim, then pick the incident.\n\n"
        "<b>What the answer means</b>\n"
        "✅ asserts: the source says it happened.\n"
        "❌ disputes: the source says it did not.\n"
        "◐ partly: the source says something close but not the same.\n"
        "… silent: the source does not address it.\n"
        "Figures are shown exactly as each source gave them.\n\n"
        "/lang — reply language · /help — this message"
    ),
    "no_record": (
        "I have no record of this yet. I've passed it to the moderators.\n"
        "Press the button if you want to hear back when they add it."
    ),
    "no_record_short": "No record of this yet.",
    "notify_me": "🔔 Tell me when it's answered",
    "notify_ok": "I'll message you when a moderator links this to an incident.",
    "notify_unavailable": "I can only message you back in a private chat with me.",
    "ambiguous": "Which incident do you mean?",
    "none_of_these": "None of these",
    "empty_claim": "Send me the claim itself, for example: Did rebels kill 40 soldiers in Idlib?",
    "check_usage": (
        "Usage: /check followed by the claim, or reply /check to the message you want checked."
    ),
    "too_fast": "You're sending checks faster than I can answer. Please wait a minute.",
    "backlog": (
        "Too many messages for me here at once: I am skipping some. Ask again in a minute."
    ),
    "error": "Sorry, something went wrong on my side. Please try again in a moment.",
    "expired": "This button has expired. Send the claim again.",
    "asked_about": "You asked about",
    "accounts_heading": "What each source said",
    "disputes_heading": "Where the accounts contradict each other",
    "sources_heading": "Sources",
    "asserted_by": "asserted by",
    "disputed_by": "disputed by",
    "no_disputes": "The recorded accounts do not contradict each other on any point.",
    "figures": "Figures",
    "date_unknown": "date unknown",
    "btn_accounts": "All accounts",
    "btn_disputes": "The disputes",
    "btn_sources": "Sources",
    "btn_summary": "« Back",
    "btn_helpful": "👍 Helpful",
    "btn_not_helpful": "👎 Not helpful",
    "thanks_feedback": "Thanks for the feedback.",
    "more_accounts": "+{count} more: press “All accounts”.",
    "lang_usage": "Usage: /lang en or /lang ru. Current language: {current}.",
    "lang_set": "I'll answer in English from now on.",
    "follow_up": "Update on a claim you sent me on {day}: moderators linked it to this incident:",
    "inline_no_record": "No record of this claim yet",
    "inline_no_record_text": "I have no record of this claim yet: {claim}",
    "inline_hint": "Type a claim to check it",
    "inline_summary": "{asserting} assert, {disputing} dispute",
    "status_contested": "Contested: the sources contradict each other.",
    "status_corroborated": "Reported by several sources; none contradicts another.",
    "status_single_source": "Only one source so far.",
}

_RU: dict[str, str] = {
    "start": (
        "Я проверяю утверждения о спорных событиях по версиям, которые опубликовала "
        "каждая сторона.\n\n"
        "Пришлите утверждение или перешлите пост. Если инцидент есть в базе, вы увидите "
        "версию каждого источника, их цифры и кто что оспаривает. Я не свожу их в "
        "собственный вердикт.\n\n"
        "В группах: /check и утверждение или /check ответом на сообщение. "
        "В любом чате: наберите @{bot} и утверждение."
    ),
    "help": (
        "<b>Как спросить</b>\n"
        "• Пришлите утверждение текстом или перешлите пост.\n"
        "• В группе: /check утверждение или /check ответом на сообщение.\n"
        "• В любом чате: @{bot} утверждение, затем выберите инцидент.\n\n"
        "<b>Что значит ответ</b>\n"
        "✅ утверждает: источник говорит, что это было.\n"
        "❌ оспаривает: источник говорит, что этого не было.\n"
        "◐ частично: источник говорит нечто близкое, но не то же самое.\n"
        "… молчит: источник об этом не говорит.\n"
        "Цифры приводятся так, как их дал каждый источник.\n\n"
        "/lang — язык ответов · /help — эта справка"
    ),
    "no_record": (
        "Об этом у меня пока нет записи. Я передал утверждение модераторам.\n"
        "Нажмите кнопку, если хотите получить ответ, когда они его добавят."
    ),
    "no_record_short": "Об этом пока нет записи.",
    "notify_me": "🔔 Сообщить, когда появится ответ",
    "notify_ok": "Я напишу вам, когда модератор свяжет это утверждение с инцидентом.",
    "notify_unavailable": "Ответить я могу только в личном чате со мной.",
    "ambiguous": "Какой инцидент вы имеете в виду?",
    "none_of_these": "Ни один из этих",
    "empty_claim": (
        "Пришлите само утверждение, например: Правда ли, что в Идлибе погибли 40 солдат?"
    ),
    "check_usage": (
        "Как пользоваться: /check и утверждение, или /check ответом на сообщение, "
        "которое нужно проверить."
    ),
    "too_fast": "Вы отправляете проверки быстрее, чем я успеваю отвечать. Подождите минуту.",
    "backlog": (
        "Здесь слишком много сообщений сразу: часть я пропускаю. Спросите снова через минуту."
    ),
    "error": "Извините, у меня что-то сломалось. Попробуйте ещё раз чуть позже.",
    "expired": "Эта кнопка устарела. Пришлите утверждение ещё раз.",
    "asked_about": "Вы спросили о",
    "accounts_heading": "Что сказал каждый источник",
    "disputes_heading": "В чём версии противоречат друг другу",
    "sources_heading": "Источники",
    "asserted_by": "утверждают",
    "disputed_by": "оспаривают",
    "no_disputes": "Записанные версии ни в чём не противоречат друг другу.",
    "figures": "Цифры",
    "date_unknown": "дата неизвестна",
    "btn_accounts": "Все версии",
    "btn_disputes": "Противоречия",
    "btn_sources": "Источники",
    "btn_summary": "« Назад",
    "btn_helpful": "👍 Полезно",
    "btn_not_helpful": "👎 Бесполезно",
    "thanks_feedback": "Спасибо за отзыв.",
    "more_accounts": "Ещё {count}: нажмите «Все версии».",
    "lang_usage": "Как пользоваться: /lang en или /lang ru. Сейчас: {current}.",
    "lang_set": "Теперь я отвечаю по-русски.",
    "follow_up": "Новости по вашему запросу от {day}: модераторы связали его с инцидентом:",
    "inline_no_record": "Об этом утверждении пока нет записи",
    "inline_no_record_text": "Об этом утверждении пока нет записи: {claim}",
    "inline_hint": "Наберите утверждение, чтобы проверить его",
    "inline_summary": "утверждают: {asserting}, оспаривают: {disputing}",
    "status_contested": "Спорный: источники противоречат друг другу.",
    "status_corroborated": "Сообщают несколько источников; ни один не противоречит другим.",
    "status_single_source": "Пока только один источник.",
}

_CATALOGS = {"en": _EN, "ru": _RU}

_STANCES = {
    "en": {
        Stance.ASSERTS: "asserts",
        Stance.DISPUTES: "disputes",
        Stance.PARTLY: "partly",
        Stance.SILENT: "silent",
    },
    "ru": {
        Stance.ASSERTS: "утверждает",
        Stance.DISPUTES: "оспаривает",
        Stance.PARTLY: "частично",
        Stance.SILENT: "молчит",
    },
}

_KINDS = {
    "en": {
        SourceKind.GOVERNMENT: "government",
        SourceKind.STATE_MEDIA: "state media",
        SourceKind.ARMED_GROUP: "armed group",
        SourceKind.INDEPENDENT_MONITOR: "independent monitor",
        SourceKind.NEWS_AGENCY: "news agency",
        SourceKind.NGO: "NGO",
        SourceKind.OTHER: "other",
    },
    "ru": {
        SourceKind.GOVERNMENT: "правительство",
        SourceKind.STATE_MEDIA: "госСМИ",
        SourceKind.ARMED_GROUP: "вооружённая группа",
        SourceKind.INDEPENDENT_MONITOR: "независимый мониторинг",
        SourceKind.NEWS_AGENCY: "информагентство",
        SourceKind.NGO: "НКО",
        SourceKind.OTHER: "другое",
    },
}

STANCE_MARKS = {
    Stance.ASSERTS: "✅",
    Stance.DISPUTES: "❌",
    Stance.PARTLY: "◐",
    Stance.SILENT: "…",
}


def pick_language(code: str | None, preferred: str | None = None, default: str = DEFAULT) -> str:
    """The reply language: the user's /lang choice, else Telegram's language_code."""
    for candidate in (preferred, code):
        if candidate:
            base = candidate.split("-")[0].lower()
            if base in _CATALOGS:
                return base
            if base in ("uk", "be", "kk"):  # readers of these mostly read Russian too
                return "ru"
    return default


def t(language: str, key: str, **values: Any) -> str:
    text = _CATALOGS.get(language, _EN).get(key) or _EN[key]
    return text.format(**values) if values else text


def stance_word(language: str, stance: Stance) -> str:
    return _STANCES.get(language, _STANCES["en"])[stance]


def kind_word(language: str, kind: SourceKind) -> str:
    return _KINDS.get(language, _KINDS["en"])[kind]
