"""Build the Telegram application and register every handler, in one place."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import logging
import signal
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from telegram import BotCommand, Message, MessageEntity, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackContext,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import messages as msg
from bot.callbacks import PATTERNS, Kind
from bot.config import Settings
from bot.delivery import PatientRateLimiter
from bot.handlers import buttons, checks, errors, inline, moderation, users
from bot.i18n import LANGUAGES, t
from bot.inbox import LEASE
from bot.logs import setup_logging
from bot.polling import LONG_POLL_SECONDS, poll
from bot.processing import OrderedUpdateProcessor
from bot.services import SERVICES_KEY, Services
from bot.transport import AiohttpRequest
from bot.web import WebServer, webhook_path
from db.engine import database_problem

log = logging.getLogger(__name__)

# The menu of commands users see, in each language (Telegram picks by the user's own).
MENU = (
    ("start", msg.COMMAND_START),
    ("help", msg.COMMAND_HELP),
    ("check", msg.COMMAND_CHECK),
    ("lang", msg.COMMAND_LANG),
)


def command_menu(language: str) -> list[BotCommand]:
    return [BotCommand(command, t(language, text)) for command, text in MENU]


# New messages only: editing an old message must not act on it a second time.
NEW = filters.UpdateType.MESSAGE
# What is checked as a picture: photos, videos, animations, round videos, picture files.
MEDIA = (
    filters.PHOTO | filters.VIDEO | filters.ANIMATION | filters.VIDEO_NOTE | filters.Document.IMAGE
)
FORM_COMMANDS = {
    "newincident": moderation.new_incident,
    "newsource": moderation.new_source,
    "addaccount": moderation.add_account,
    "addpoint": moderation.add_point,
}
MODERATOR_COMMANDS = {
    "stance": moderation.set_stance,
    "edit": moderation.edit,
    "editaccount": moderation.edit_account,
    "removeaccount": moderation.remove_account,
    "editsource": moderation.edit_source,
    "post": moderation.record_post,
    "media": moderation.attach_media,
    "translate": moderation.translate_record,
    "translatesource": moderation.translate_source,
    "delete": moderation.delete,
    "undo": moderation.undo,
    "show": moderation.show,
    "queue": moderation.queue,
    "link": moderation.link,
    "dismiss": moderation.dismiss,
    "audit": moderation.audit,
    "export": moderation.export,
    "mod": moderation.mod,
    "desk": moderation.desk,
    "cancel": moderation.cancel,
}


# Each kind of button data (bot.callbacks) and its handler; a moderator's form buttons are
# taken first (below), and data that matches no kind is answered as expired.
BUTTONS: dict[Kind, Callable[[Update, Any], Coroutine[Any, Any, None]]] = {
    Kind.VIEW: buttons.switch_view,
    Kind.PICK: buttons.switch_view,
    Kind.NONE_OF_THESE: buttons.none_of_these,
    Kind.FEEDBACK: buttons.feedback,
    Kind.FOLLOW_UP: buttons.follow_up,
    Kind.IMPORT: moderation.upload_answer,
    Kind.MODERATOR: moderation.refuse_forged,
}


class _MentionsBot(filters.MessageFilter):
    """A group message that mentions this bot by @username."""

    def filter(self, message: object) -> bool:
        if not isinstance(message, Message) or not message.text:
            return False
        username = message.get_bot().username
        if not username:
            return False
        wanted = f"@{username}".lower()
        return any(
            text.lower() == wanted
            for text in message.parse_entities([MessageEntity.MENTION]).values()
        )


def build_application(settings: Settings, svc: Services) -> Application:  # type: ignore[type-arg]
    # Updates arrive through our own poller (bot.polling) or webhook server (bot.web),
    # both of which write them down before Telegram is told they arrived.
    application = (
        ApplicationBuilder()
        .updater(None)
        .token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.file_base_url())
        # Telegram's flood limits: about 30 messages a second overall and 20 a minute in a
        # group. RetryAfter answers are waited out and retried rather than dropped.
        .rate_limiter(
            PatientRateLimiter(
                overall_max_rate=settings.max_messages_per_second,
                max_retries=5,
                settle=settings.telegram_timeout,
            )
        )
        # Concurrent updates need concurrent requests; PTB's default pool is one connection.
        .request(
            AiohttpRequest(
                connection_pool_size=settings.max_concurrent_updates + 8,
                pool_timeout=30,
                read_timeout=settings.telegram_timeout,
                write_timeout=settings.telegram_timeout,
            )
        )
        .get_updates_request(AiohttpRequest())
        .concurrent_updates(OrderedUpdateProcessor(svc, settings.max_concurrent_updates))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    application.bot_data[SERVICES_KEY] = svc

    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    # While a moderator has a form open, their messages and its buttons answer it: these
    # run before every other handler and stop the update there when they took it.
    application.add_handler(
        MessageHandler(NEW & private & filters.TEXT, moderation.form_message), group=-1
    )
    application.add_handler(
        CallbackQueryHandler(moderation.form_button, pattern=PATTERNS[Kind.FORM]), group=-1
    )
    for command, handler in FORM_COMMANDS.items():
        application.add_handler(CommandHandler(command, handler, filters=NEW))
    for command, handler in MODERATOR_COMMANDS.items():
        application.add_handler(CommandHandler(command, handler, filters=NEW))
    application.add_handler(
        MessageHandler(
            NEW & private & filters.Document.FileExtension("json") & ~filters.ANIMATION,
            moderation.upload,
        )
    )
    application.add_handler(
        MessageHandler(
            NEW & private & filters.CaptionRegex(r"^/media(@\w+)?(\s|$)"), moderation.media_caption
        )
    )
    application.add_handler(CommandHandler("start", users.start, filters=NEW))
    application.add_handler(CommandHandler("help", users.help_command, filters=NEW))
    application.add_handler(CommandHandler("lang", users.lang, filters=NEW))
    application.add_handler(CommandHandler("check", checks.check_command, filters=NEW))
    application.add_handler(
        MessageHandler(
            # Answers posted through inline mode carry via_bot: they are ours, not claims.
            NEW
            & private
            & (filters.TEXT | filters.CAPTION | MEDIA)
            & ~filters.COMMAND
            & ~filters.VIA_BOT,
            checks.private_message,
        )
    )
    application.add_handler(MessageHandler(NEW & groups & _MentionsBot(), checks.mention))
    for kind, on_press in BUTTONS.items():
        application.add_handler(CallbackQueryHandler(on_press, pattern=PATTERNS[kind]))
    application.add_handler(CallbackQueryHandler(buttons.expired))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(ChosenInlineResultHandler(inline.chosen_result))
    application.add_error_handler(errors.on_error)
    return application


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    svc: Services = application.bot_data[SERVICES_KEY]
    await svc.start()
    # The index and everything else built at start-up live as long as the process: moved
    # out of the collector's sight, full collections stop walking them every few seconds
    # (each walk held up every reply in flight for tens of milliseconds).
    gc.freeze()
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            _sync_index, interval=svc.settings.sync_interval, first=svc.settings.sync_interval
        )
        application.job_queue.run_repeating(_prune, interval=3600, first=60)
        if svc.shared:
            application.job_queue.run_repeating(
                _take_over_orphans, interval=LEASE.total_seconds() / 4, first=LEASE.total_seconds()
            )
    for language in LANGUAGES:
        await application.bot.set_my_commands(
            command_menu(language), language_code=None if language == "en" else language
        )
    log.info("ready: @%s", application.bot.username)


async def _sync_index(context: CallbackContext) -> None:  # type: ignore[type-arg]
    svc: Services = context.application.bot_data[SERVICES_KEY]
    try:
        await svc.sync_index()
    except Exception:  # a database hiccup must not stop the schedule
        log.warning("could not check for changed incidents", exc_info=True)


async def _prune(context: CallbackContext) -> None:  # type: ignore[type-arg]
    svc: Services = context.application.bot_data[SERVICES_KEY]
    try:
        await svc.prune_shared_state()
    except Exception:
        log.warning("could not prune old shared state", exc_info=True)


async def _post_shutdown(application: Application) -> None:  # type: ignore[type-arg]
    svc: Services = application.bot_data[SERVICES_KEY]
    await svc.stop()


def build(settings: Settings) -> tuple[Application, Services]:  # type: ignore[type-arg]
    svc = Services.create(settings)
    return build_application(settings, svc), svc


async def _take_over(application: Application, svc: Services) -> None:  # type: ignore[type-arg]
    """Queue the updates that arrived but were never finished.

    A single process (SQLite) starting up owns every unfinished update: they are its own,
    from before a crash. Replicas on PostgreSQL take over only what has been left longer
    than a live replica could take, and look again now and then for a replica that died.
    """
    older_than = LEASE if svc.shared else dt.timedelta(0)
    for update in await svc.inbox.take_over(application.bot, older_than=older_than):
        await application.update_queue.put(update)


async def _take_over_orphans(context: CallbackContext) -> None:  # type: ignore[type-arg]
    svc: Services = context.application.bot_data[SERVICES_KEY]
    if not context.application.running:
        return  # stopping: what is queued now would never be read
    try:
        await _take_over(context.application, svc)
    except Exception:
        log.warning("could not look for unfinished updates", exc_info=True)


@asynccontextmanager
async def _running(application: Application, svc: Services) -> AsyncIterator[None]:  # type: ignore[type-arg]
    """The application started, with the updates left unfinished last time queued first;
    on leaving, every queued and in-flight update is finished before it closes."""
    try:
        await application.initialize()
    except Exception:
        # The bot opened its HTTP sessions before getMe failed; PTB closes only a bot
        # that got as far as getMe, so without this the process ends warning of them.
        await application.bot.shutdown()
        raise
    async with application:
        assert application.post_init is not None and application.post_shutdown is not None
        await application.post_init(application)
        await application.start()
        try:
            await _take_over(application, svc)
            yield
        finally:
            await application.stop()
            await svc.inbox.drain()  # the last updates' done marks, before the database closes
            await application.post_shutdown(application)


async def serve_polling(
    application: Application,  # type: ignore[type-arg]
    svc: Services,
    stop: asyncio.Event,
    *,
    long_poll: int = LONG_POLL_SECONDS,
) -> None:
    """Long polling until `stop` is set, then a graceful shutdown; with WEB_BASE_URL, the
    web server (public pages, /healthz, /metrics) runs alongside."""
    settings = svc.settings
    async with _running(application, svc):
        server = None
        if settings.web_base_url:
            server = WebServer(
                application,
                svc,
                path=None,
                secret="",
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                metrics_token=settings.metrics_token,
            )
            await server.start()
        try:
            log.info("polling mode: ready")
            await poll(application, svc.inbox, stop, long_poll=long_poll)
            log.info("stopping: no new updates; finishing the ones in progress")
        finally:
            if server is not None:
                await server.stop()


async def serve_webhook(
    application: Application,  # type: ignore[type-arg]
    svc: Services,
    settings: Settings,
    stop: asyncio.Event,
) -> None:
    """Webhook mode until `stop` is set, then a graceful shutdown.

    Shutdown order matters: first stop taking updates (Telegram retries them, reaching a
    live replica), then let every queued and in-flight update finish, then close.
    """
    async with _running(application, svc):
        server = WebServer(
            application,
            svc,
            path=webhook_path(settings.webhook_url),
            secret=settings.webhook_secret,
            listen=settings.webhook_listen,
            port=settings.webhook_port,
            metrics_token=settings.metrics_token,
        )
        await server.start()
        try:
            await application.bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret,
                allowed_updates=Update.ALL_TYPES,
                max_connections=100,
            )
            log.info("webhook mode: ready")
            await stop.wait()
        finally:
            log.info("stopping: no new updates; finishing the ones in progress")
            await server.stop()


def run_bot(settings: Settings) -> int:
    try:
        return _run(settings)
    except (OSError, SQLAlchemyError) as problem:
        log.error("%s", database_problem(problem))
        return 1
    except InvalidToken:
        log.error("Telegram refused TELEGRAM_BOT_TOKEN; check it with @BotFather")
        return 1
    except NetworkError as problem:
        log.error("Cannot reach the Bot API at TELEGRAM_API_BASE_URL: %s", problem)
        return 1


def _run(settings: Settings) -> int:
    setup_logging(
        settings.log_level,
        settings.log_format,
        settings.telegram_bot_token,
        settings.webhook_secret,
    )
    application, svc = build(settings)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        if settings.webhook_mode:
            await serve_webhook(application, svc, settings, stop)
        else:
            await serve_polling(application, svc, stop)

    if settings.webhook_mode:
        log.info(
            "starting in webhook mode on %s:%s", settings.webhook_listen, settings.webhook_port
        )
    else:
        log.info("starting in polling mode")
    _event_loop_runner()(main())
    return 0


def _event_loop_runner() -> Callable[[Coroutine[Any, Any, None]], None]:
    """uvloop where it is installed (Linux and macOS): the bot's time is mostly spent
    moving small HTTP requests, which uvloop does in C. The standard loop otherwise."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run
