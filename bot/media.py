"""Photos, videos and picture files in messages: which files identify them, and fetching
the pictures to read.

A photo comes in several sizes, each a file of its own; a video is known by its file and
by the pictures Telegram makes of it (a thumbnail and, where the sender chose one, a
cover). Every `file_unique_id` is kept (a forward of any of them is the same file), but
only pictures are fetched — never a video itself — and only up to the size limit, with
`getFile`; nothing fetched is written anywhere.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import Bot, Message, PhotoSize
from telegram.error import TelegramError

from domain.model import MediaKind, SentMedia

log = logging.getLogger(__name__)

PICTURE_SIDE = 1280
"""The photo size fetched: Telegram's largest ordinary one; OCR wants no more."""


@dataclass(frozen=True)
class Attached:
    """What a message carries that can be recognised as a recorded photo or video."""

    kind: MediaKind
    file_ids: tuple[str, ...]
    pictures: tuple[tuple[str, int | None], ...]
    """(file_id, size in bytes) of each picture worth fetching, best first."""
    size: int | None
    width: int | None
    height: int | None


def _best_photo(sizes: Sequence[PhotoSize], limit: int) -> PhotoSize | None:
    """The largest size no longer than PICTURE_SIDE and no heavier than `limit`."""
    fitting = [
        size
        for size in sizes
        if max(size.width, size.height) <= PICTURE_SIDE and (size.file_size or 0) <= limit
    ]
    return max(fitting, key=lambda s: s.width * s.height, default=None)


def attached(message: Message | None, limit: int) -> Attached | None:
    """The photo, video, animation or picture file of a message; None when it has none."""
    if message is None:
        return None
    if message.photo:
        best = _best_photo(message.photo, limit)
        largest = max(message.photo, key=lambda s: s.width * s.height)
        return Attached(
            MediaKind.PHOTO,
            tuple(dict.fromkeys(size.file_unique_id for size in message.photo)),
            ((best.file_id, best.file_size),) if best is not None else (),
            largest.file_size,
            largest.width,
            largest.height,
        )
    video = message.video or message.animation or message.video_note
    if video is not None:
        stills: list[PhotoSize] = []
        cover = getattr(video, "cover", None)
        if cover:
            chosen = _best_photo(cover, limit)
            if chosen is not None:
                stills.append(chosen)
        if video.thumbnail is not None and (video.thumbnail.file_size or 0) <= limit:
            stills.append(video.thumbnail)
        width = getattr(video, "width", None) or getattr(video, "length", None)
        height = getattr(video, "height", None) or getattr(video, "length", None)
        return Attached(
            MediaKind.VIDEO,
            tuple(dict.fromkeys([video.file_unique_id, *(s.file_unique_id for s in stills)])),
            tuple((s.file_id, s.file_size) for s in stills),
            video.file_size,
            width,
            height,
        )
    document = message.document
    if document is not None and (document.mime_type or "").startswith("image/"):
        pictures: list[tuple[str, int | None]] = []
        if document.file_size is not None and document.file_size <= limit:
            pictures.append((document.file_id, document.file_size))
        if document.thumbnail is not None:
            pictures.append((document.thumbnail.file_id, document.thumbnail.file_size))
        ids = [document.file_unique_id]
        if document.thumbnail is not None:
            ids.append(document.thumbnail.file_unique_id)
        return Attached(
            MediaKind.DOCUMENT, tuple(ids), tuple(pictures), document.file_size, None, None
        )
    return None


async def fetch(bot: Bot, file_id: str, limit: int) -> bytes | None:
    """A file's bytes, if Telegram gives it and it is no larger than `limit`."""
    try:
        file = await bot.get_file(file_id)
        if file.file_size is not None and file.file_size > limit:
            return None
        data = bytes(await file.download_as_bytearray())
    except (TelegramError, RuntimeError):
        log.info("could not fetch a picture", exc_info=True)
        return None
    return data if len(data) <= limit else None


async def fetch_pictures(bot: Bot, media: Attached, limit: int, *, most: int = 2) -> list[bytes]:
    pictures = []
    for file_id, _size in media.pictures[:most]:
        data = await fetch(bot, file_id, limit)
        if data is not None:
            pictures.append(data)
    return pictures


async def sent_media(bot: Bot, media: Attached, caption: str, limit: int) -> SentMedia:
    """What the checker needs of a message's media: its file ids and fetched pictures."""
    pictures = await fetch_pictures(bot, media, limit)
    return SentMedia(media.file_ids, tuple(pictures), caption)
