"""Inline mode: "@bot claim" in any chat offers the matching incidents; picking one posts
the answer into that chat."""

from __future__ import annotations

import logging

from telegram import (
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import messages as msg
from bot.i18n import t
from bot.incoming import language_for
from bot.keyboards import answer_keyboard, inline_markup
from bot.markup import HTML, shorten
from bot.render import answer_messages, inline_description
from bot.replies import NO_PREVIEW
from bot.services import services
from domain.matching import MatchStatus
from domain.model import short_key

log = logging.getLogger(__name__)

MAX_RESULTS = 5
CACHE_SECONDS = 60
MAX_QUERY = 256  # Telegram's own limit on inline query text


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.inline_query
    if query is None:
        return
    svc = services(context)
    text = query.query.strip()[:MAX_QUERY]
    language = await language_for(context, update.effective_user, text)
    if not text:
        await query.answer(
            [],
            cache_time=CACHE_SECONDS,
            button=InlineQueryResultsButton(t(language, msg.INLINE_HINT), start_parameter="help"),
        )
        return
    if query.from_user is not None and not await svc.allow_check(query.from_user.id):
        await query.answer([], cache_time=5, is_personal=True)
        return
    cache_key = f"{language}:{text}"
    results = svc.cached_inline(cache_key)
    if results is None:
        results = await _results(context, text, language)
        svc.cache_inline(cache_key, results)
    # Personal: results are in the asker's language, so Telegram must not share its cache.
    await query.answer(results, cache_time=CACHE_SECONDS, is_personal=True)


async def _results(
    context: ContextTypes.DEFAULT_TYPE, text: str, language: str
) -> list[InlineQueryResultArticle]:
    svc = services(context)
    match = await svc.checker.match(text)
    if match.status is MatchStatus.NONE:
        return [
            InlineQueryResultArticle(
                id="none",
                title=t(language, msg.INLINE_NO_RECORD),
                description=shorten(text, 100),
                input_message_content=InputTextMessageContent(
                    HTML.text(t(language, msg.INLINE_NO_RECORD_TEXT, claim=shorten(text, 200))),
                    parse_mode=ParseMode.HTML,
                ),
            )
        ]
    candidates = match.candidates[:MAX_RESULTS]
    # One read for all candidates; each answer below then comes from the checker's cache.
    await svc.checker.incidents(c.incident_key for c in candidates)
    results = []
    for candidate in candidates:
        answer = await svc.checker.answer_for(
            candidate.incident_key, candidate.point_key, claim=text, score=candidate.score
        )
        if answer is None or answer.incident is None:
            continue
        body = answer_messages(answer, language)[0]
        results.append(
            InlineQueryResultArticle(
                id=f"{short_key(answer.incident.key)}:{candidate.point_key or '-'}"[:64],
                title=shorten(answer.incident.title, 100),
                description=inline_description(answer, language),
                input_message_content=InputTextMessageContent(
                    body, parse_mode=ParseMode.HTML, link_preview_options=NO_PREVIEW
                ),
                reply_markup=inline_markup(
                    answer_keyboard(answer, language, page_base=svc.settings.web_base_url)
                ),
            )
        )
    return results


async def chosen_result(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    chosen = update.chosen_inline_result
    if chosen is None:
        return
    services(context).metrics.inline_chosen.inc()
    log.info("inline result chosen", extra={"result": chosen.result_id})
