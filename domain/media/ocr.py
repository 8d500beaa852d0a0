"""Reading the text inside a picture (a screenshot of a post, a caption burnt into a photo)
with Tesseract, the OCR engine Debian packages as `tesseract-ocr`, through `pytesseract`.

Tesseract runs as a program of its own, with a time limit: a picture it cannot read in
time gives no text, never a stuck handler. It reads English, Russian, Ukrainian and Arabic
at once (`LANGUAGES`) when their data is installed, else whichever of them is; with no
Tesseract at all, `available()` is false and pictures are matched by their caption alone.
"""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from functools import cache
from typing import Final

import pytesseract
from PIL import Image

from domain.media.pictures import MAX_PIXELS, decode_grey

log = logging.getLogger(__name__)

LANGUAGES: Final = ("eng", "rus", "ukr", "ara")
OCR_SIDE: Final = 2000
"""Longer sides are scaled down to this: more pixels cost time and add no letters."""
SMALL_SIDE: Final = 1000
"""Narrower screenshots are scaled up twice: Tesseract reads letters 20–30 pixels tall best."""
MAX_TEXT: Final = 4096


@cache
def installed_languages() -> tuple[str, ...]:
    """Which of LANGUAGES this machine's Tesseract has data for (none without Tesseract)."""
    if shutil.which("tesseract") is None:
        return ()
    try:
        present = set(pytesseract.get_languages(config=""))
    except (pytesseract.TesseractError, OSError, subprocess.SubprocessError):
        log.warning("tesseract is installed but could not list its languages", exc_info=True)
        return ()
    return tuple(language for language in LANGUAGES if language in present)


def available() -> bool:
    return bool(installed_languages())


def ocr_image(data: bytes, *, max_pixels: int = MAX_PIXELS) -> Image.Image:
    """The picture in grey at a size Tesseract reads well; PictureError if it is none."""
    grey, _size = decode_grey(data, OCR_SIDE, max_pixels=max_pixels)
    longest = max(grey.size)
    if longest > OCR_SIDE:
        scale = OCR_SIDE / longest
        grey = grey.resize((round(grey.width * scale), round(grey.height * scale)))
    elif grey.width < SMALL_SIDE:
        grey = grey.resize((grey.width * 2, grey.height * 2), Image.Resampling.LANCZOS)
    return grey


def read_text(data: bytes, *, timeout: float = 10.0) -> str:
    """The text in a picture, lines joined with spaces; empty when there is none, Tesseract
    is missing, or it took longer than `timeout` seconds."""
    languages = installed_languages()
    if not languages:
        return ""
    image = ocr_image(data)
    try:
        raw = pytesseract.image_to_string(image, lang="+".join(languages), timeout=timeout)
    except RuntimeError:  # pytesseract's way of saying the time ran out
        log.info("text in a picture not read within %.0f s", timeout)
        return ""
    except (pytesseract.TesseractError, OSError, subprocess.SubprocessError):
        log.warning("tesseract failed on a picture", exc_info=True)
        return ""
    return clean(raw)


_WORD = re.compile(r"\w", re.UNICODE)


def clean(raw: str) -> str:
    """Lines with at least two letters or digits, joined: OCR of a photo's texture yields
    stray marks that are not words."""
    lines = [" ".join(line.split()) for line in raw.splitlines()]
    kept = [line for line in lines if len(_WORD.findall(line)) >= 2]
    return " ".join(kept)[:MAX_TEXT]
