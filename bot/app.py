"""Build the Telegram application and register every handler, in one place."""

from __future__ import annotations

import asyncio
import logging
import signal
import warnings

from sqlalchemy.exc import SQLAlchemyError
from telegram import BotCommand, MessageEntity, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackContext,
    CallbackQueryHandler,
    ChosenInlineResultHandler,
    CommandHandler,
    ConversationHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.config import Settings
from bot.delivery import PatientRateLimiter
from bot.handlers import buttons, checks, errors, inline, moderation, users
from bot.logs import setup_logging
from bot.processing import OrderedUpdateProcessor
from bot.services import SERVICES_KEY, Services
from bot.transport import AiohttpRequest
from bot.web import WebhookServer, webhook_path

log = logging.getLogger(__name__)

COMMANDS = {
    "en": [
        BotCommand("start", "What this bot does"),
        BotCommand("help", "How to ask and what the answer means"),
        BotCommand("check", "Check a claim (in groups: reply /check to a message)"),
        BotCommand("lang", "Reply language: /lang en or /lang ru"),
    ],
    "ru": [
        BotCommand("start", "Что делает этот бот"),
        BotCommand("help", "Как спросить и что значит ответ"),
        BotCommand("check", "Проверить утверждение (в группе: /check ответом)"),
        BotCommand("lang", "Язык ответов: /lang en или /lang ru"),
    ],
}


FORM_TIMEOUT_SECONDS = 30 * 60
# New messages only: editing an old message must not act on it a second time.
NEW = filters.UpdateType.MESSAGE
MODERATOR_COMMANDS = {
    "stance": moderation.set_stance,
    "edit": moderation.edit,
    "editaccount": moderation.edit_account,
    "removeaccount": moderation.remove_account,
    "editsource": moderation.edit_source,
    "post": moderation.record_post,
    "delete": moderation.delete,
    "undo": moderation.undo,
    "show": moderation.show,
    "queue": moderation.queue,
    "link": moderation.link,
    "dismiss": moderation.dismiss,
    "audit": moderation.audit,
    "export": moderation.export,
    "mod": moderation.mod,
    "cancel": moderation.cancel,
}


class _MentionsBot(filters.MessageFilter):
    """A group message that mentions this bot by @username."""

    def filter(self, message: object) -> bool:
        from telegram import Message

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


def build_application(settings: Settings, svc: Services, *, webhook: bool = False) -> Application:  # type: ignore[type-arg]
    builder = ApplicationBuilder()
    if webhook:
        # Updates arrive through bot.web.WebhookServer, which also serves health and metrics.
        builder = builder.updater(None)
    application = (
        builder.token(settings.telegram_bot_token)
        .base_url(settings.telegram_api_base_url)
        .base_file_url(settings.file_base_url())
        # Telegram's flood limits: about 30 messages a second overall and 20 a minute in a
        # group. RetryAfter answers are waited out and retried rather than dropped.
        .rate_limiter(
            PatientRateLimiter(overall_max_rate=settings.max_messages_per_second, max_retries=5)
        )
        # Concurrent updates need concurrent requests; PTB's default pool is one connection.
        .request(
            AiohttpRequest(
                connection_pool_size=settings.max_concurrent_updates + 8, pool_timeout=30
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
    # Moderator forms come first: while one is open, the moderator's messages answer it.
    with warnings.catch_warnings():
        # Forms are tracked per user and chat on purpose; PTB warns that buttons are then
        # not tracked per message, which is what we want.
        warnings.filterwarnings("ignore", message="If 'per_message=False'")
        forms = ConversationHandler(
            entry_points=[
                CommandHandler("newincident", moderation.new_incident, filters=NEW),
                CommandHandler("newsource", moderation.new_source, filters=NEW),
                CommandHandler("addaccount", moderation.add_account, filters=NEW),
                CommandHandler("addpoint", moderation.add_point, filters=NEW),
            ],
            states={
                moderation.FORM: [
                    MessageHandler(NEW & filters.TEXT & ~filters.COMMAND, moderation.form_text),
                    CallbackQueryHandler(moderation.form_button, pattern=r"^m:(c:\d+:\d+|s|x)$"),
                ]
            },
            fallbacks=[
                CommandHandler("cancel", moderation.cancel, filters=NEW),
                MessageHandler(NEW & filters.COMMAND, moderation.form_busy),
            ],
            conversation_timeout=FORM_TIMEOUT_SECONDS,
            name="moderator-forms",
        )
    application.add_handler(forms)
    for command, handler in MODERATOR_COMMANDS.items():
        application.add_handler(CommandHandler(command, handler, filters=NEW))
    application.add_handler(
        MessageHandler(
            NEW & private & filters.Document.FileExtension("json") & ~filters.ANIMATION,
            moderation.upload,
        )
    )
    application.add_handler(
        CallbackQueryHandler(moderation.upload_answer, pattern=r"^m:(no)?import$")
    )
    application.add_handler(CallbackQueryHandler(moderation.refuse_forged, pattern=r"^m:"))
    application.add_handler(CommandHandler("start", users.start, filters=NEW))
    application.add_handler(CommandHandler("help", users.help_command, filters=NEW))
    application.add_handler(CommandHandler("lang", users.lang, filters=NEW))
    application.add_handler(CommandHandler("check", checks.check_command, filters=NEW))
    application.add_handler(
        MessageHandler(
            # Answers posted through inline mode carry via_bot: they are ours, not claims.
            NEW & private & (filters.TEXT | filters.CAPTION) & ~filters.COMMAND & ~filters.VIA_BOT,
            checks.private_message,
        )
    )
    application.add_handler(MessageHandler(NEW & groups & _MentionsBot(), checks.mention))
    application.add_handler(CallbackQueryHandler(buttons.on_button))
    application.add_handler(InlineQueryHandler(inline.inline_query))
    application.add_handler(ChosenInlineResultHandler(inline.chosen_result))
    application.add_error_handler(errors.on_error)
    return application


async def _post_init(application: Application) -> None:  # type: ignore[type-arg]
    svc: Services = application.bot_data[SERVICES_KEY]
    await svc.start()
    if application.job_queue is not None:
        application.job_queue.run_repeating(
            _sync_index, interval=svc.settings.sync_interval, first=svc.settings.sync_interval
        )
        application.job_queue.run_repeating(_prune, interval=3600, first=60)
    for language, commands in COMMANDS.items():
        await application.bot.set_my_commands(
            commands, language_code=None if language == "en" else language
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


def build(settings: Settings, *, webhook: bool | None = None) -> tuple[Application, Services]:  # type: ignore[type-arg]
    svc = Services.create(settings)
    application = build_application(
        settings, svc, webhook=settings.webhook_mode if webhook is None else webhook
    )
    return application, svc


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
    async with application:
        assert application.post_init is not None and application.post_shutdown is not None
        await application.post_init(application)
        await application.start()
        server = WebhookServer(
            application,
            svc,
            path=webhook_path(settings.webhook_url),
            secret=settings.webhook_secret,
            listen=settings.webhook_listen,
            port=settings.webhook_port,
        )
        await server.start()
        await application.bot.set_webhook(
            settings.webhook_url,
            secret_token=settings.webhook_secret,
            allowed_updates=Update.ALL_TYPES,
            max_connections=100,
        )
        log.info("webhook mode: ready")
        try:
            await stop.wait()
        finally:
            log.info("stopping: no new updates; finishing the ones in progress")
            await server.stop()
            await application.stop()
            await application.post_shutdown(application)


def run_bot(settings: Settings) -> int:
    try:
        return _run(settings)
    except (OSError, SQLAlchemyError) as problem:
        from bot.cli import database_problem

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
    if not settings.webhook_mode:
        log.info("starting in polling mode")
        # run_polling finishes in-flight updates on SIGTERM/SIGINT before it returns.
        application.run_polling(allowed_updates=Update.ALL_TYPES)
        return 0

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve_webhook(application, svc, settings, stop)

    log.info("starting in webhook mode on %s:%s", settings.webhook_listen, settings.webhook_port)
    asyncio.run(main())
    return 0
