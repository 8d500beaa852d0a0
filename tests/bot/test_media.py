"""Photos, videos and screenshots, end to end through the Bot API double: a moderator
records a photo or video with an incident; users then send the same file, a changed copy,
a screenshot with the claim in it, or something unknown."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from domain.media import ocr
from domain.sample import REFERENCE_INCIDENT_KEY
from tests.double import BotApiDouble
from tests.helpers.pictures import (
    cropped,
    jpeg_bytes,
    picture,
    recompressed,
    screenshot,
    with_caption_bar,
)
from tests.helpers.running_bot import Moderator, running_bot

ADMIN = 900
TITLE = "Reported militant offensive on Syrian government forces in Idlib"
NOTE = "first published in 2016 by a channel in Aleppo; reused since"


async def _record_photo(double: BotApiDouble, image: bytes) -> list[object]:
    """The admin sends a photo and replies /media to it; the photo's sizes are returned."""
    admin = double.add_user(ADMIN, "Admin")
    chat = double.add_private_chat(admin)
    update = double.user_sends_photo(admin, chat, image)
    sent = double.message(chat, update["message"]["message_id"])
    assert sent is not None
    await double.wait_for_messages(chat, 1)  # the bot does not know the photo yet
    seen = len(double.messages_to(chat))
    double.user_sends(admin, chat, f"/media {REFERENCE_INCIDENT_KEY} {NOTE}", reply_to=sent)
    saved = (await double.wait_for_messages(chat, seen + 1))[-1]
    assert "Saved (version" in (saved.plain or ""), saved.plain
    return list(sent.sizes)


async def test_a_recorded_photo_sent_again_is_answered_with_its_incident_and_where_it_came_from(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    original = jpeg_bytes(picture(11))
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        sizes = await _record_photo(bot_api, original)
        user = bot_api.add_user(501, "Reader")
        chat = bot_api.add_private_chat(user)
        channel = bot_api.add_channel(-1001234567, "News today", "news_today")
        bot_api.user_sends_photo(user, chat, sizes, from_channel=channel)  # type: ignore[arg-type]
        (answer, *_rest) = await bot_api.wait_for_messages(chat, 1)
    text = answer.plain or ""
    assert TITLE in text
    assert "This very file was recorded with this incident" in text
    assert NOTE in text


async def test_a_recompressed_cropped_captioned_copy_is_recognised_as_a_copy(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    image = picture(12)
    copy = recompressed(
        with_caption_bar(cropped(image, 0.1, random.Random(3)), random.Random(4)), 50
    )
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        await _record_photo(bot_api, jpeg_bytes(image))
        user = bot_api.add_user(502, "Reader")
        chat = bot_api.add_private_chat(user)
        bot_api.user_sends_photo(user, chat, jpeg_bytes(copy))
        (answer, *_rest) = await bot_api.wait_for_messages(chat, 1)
    text = answer.plain or ""
    assert TITLE in text
    assert "This picture is a copy of one recorded with this incident" in text
    assert NOTE in text


async def test_a_video_is_known_by_its_thumbnail(bot_api: BotApiDouble, tmp_path: Path) -> None:
    still = picture(13)
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        admin = bot_api.add_user(ADMIN, "Admin")
        admin_chat = bot_api.add_private_chat(admin)
        bot_api.user_sends_video(
            admin,
            admin_chat,
            b"\x00\x00\x00\x18ftypmp42 recorded video",
            thumbnail=jpeg_bytes(still),
            caption=f"/media {REFERENCE_INCIDENT_KEY} {NOTE}",
        )
        (saved,) = await bot_api.wait_for_messages(admin_chat, 1)
        assert "Saved (version" in (saved.plain or ""), saved.plain
        # Another upload of the same footage: a new file, a thumbnail made again from it.
        user = bot_api.add_user(503, "Reader")
        chat = bot_api.add_private_chat(user)
        bot_api.user_sends_video(
            user,
            chat,
            b"\x00\x00\x00\x18ftypmp42 the same footage uploaded again",
            thumbnail=jpeg_bytes(recompressed(still, 40)),
        )
        (answer, *_rest) = await bot_api.wait_for_messages(chat, 1)
    text = answer.plain or ""
    assert TITLE in text
    assert "copy of one recorded" in text


async def test_an_unrelated_photo_gets_no_confident_answer(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        await _record_photo(bot_api, jpeg_bytes(picture(14)))
        user = bot_api.add_user(504, "Reader")
        chat = bot_api.add_private_chat(user)
        bot_api.user_sends_photo(user, chat, jpeg_bytes(picture(15)))
        (answer,) = await bot_api.wait_for_messages(chat, 1)
    text = answer.plain or ""
    assert TITLE not in text
    assert "I don't know this picture" in text


async def test_a_photo_that_cannot_be_read_is_answered_by_its_caption(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path):
        user = bot_api.add_user(505, "Reader")
        chat = bot_api.add_private_chat(user)
        broken = bot_api.register_file(b"\xff\xd8\xff not really a jpeg", folder="photos")
        broken.width, broken.height = 1280, 720
        bot_api.user_sends_photo(
            user, chat, [broken], "Did rebels kill 40 Syrian soldiers in Idlib?"
        )
        (answer, *_rest) = await bot_api.wait_for_messages(chat, 1)
    assert TITLE in (answer.plain or "")


@pytest.mark.skipif(
    "ara" not in ocr.installed_languages(),
    reason="Tesseract with Arabic data is not installed (Debian: tesseract-ocr-ara)",
)
async def test_a_screenshot_with_the_claim_in_arabic_is_read(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    claim = "هل قتل المسلحون 40 جنديا سوريا في إدلب؟"
    async with running_bot(bot_api, tmp_path):
        user = bot_api.add_user(506, "قارئ", language_code="ar")
        chat = bot_api.add_private_chat(user)
        bot_api.user_sends_photo(user, chat, screenshot(claim, "ar"))
        (answer, *_rest) = await bot_api.wait_for_messages(chat, 1, timeout=30)
    text = answer.plain or ""
    assert "إدلب" in text
    assert "📷" in text


async def test_check_in_reply_to_a_photo_in_a_group_answers_with_its_incident(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    alice, bob = bot_api.add_user(507, "Alice"), bot_api.add_user(508, "Bob")
    group = bot_api.add_group(-100557, "Monitors", supergroup=True)
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        sizes = await _record_photo(bot_api, jpeg_bytes(picture(16)))
        posted = bot_api.user_sends_photo(alice, group, sizes)  # type: ignore[arg-type]
        await bot_api.wait_until_idle()
        assert bot_api.messages_to(group) == []  # a photo in a group is never answered unasked
        ask = bot_api.user_sends(bob, group, "/check", reply_to=posted["message"]["message_id"])
        (reply,) = await bot_api.wait_for_messages(group, 1)
    assert reply.reply_to_message_id == ask["message"]["message_id"]
    assert TITLE in (reply.plain or "")
    assert "This very file was recorded" in (reply.plain or "")


async def test_show_lists_an_incidents_photos_and_videos(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        await _record_photo(bot_api, jpeg_bytes(picture(17)))
        admin = Moderator(bot_api, bot_api.users[ADMIN], bot_api.chats[ADMIN])
        shown = await admin.send(f"/show {REFERENCE_INCIDENT_KEY}")
    text = shown.plain or ""
    assert "Photos and videos" in text
    assert f"1. photo · 1 fingerprint · {NOTE}" in text


async def test_media_without_an_incident_id_gets_the_usage(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        user = bot_api.add_user(ADMIN, "Admin")
        admin = Moderator(bot_api, user, bot_api.add_private_chat(user))
        without_picture = await admin.send(f"/media {REFERENCE_INCIDENT_KEY}")
        without_id = await admin.send("/media")
    assert (without_picture.plain or "").startswith("Usage: reply with /media INCIDENT-ID")
    assert (without_id.plain or "").startswith("Usage: reply with /media INCIDENT-ID")
