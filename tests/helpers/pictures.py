"""Pictures drawn for tests and `bench/media.py`, and the changes forwarding makes to them.

Each picture is drawn from a seed: a two-colour gradient with a dozen filled shapes,
softened as a camera and JPEG soften a photo. Different seeds give different pictures of
one family (shapes on gradients), which makes telling them apart harder than telling a
market from a sunset: the false-match figures are measured against look-alikes.
"""

from __future__ import annotations

import io
import random
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/truetype/noto"))
SIZES = ((640, 480), (800, 600), (720, 720), (960, 540), (480, 640), (1280, 720))


def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    for folder in FONT_DIRS:
        path = folder / name
        if path.exists():
            return ImageFont.truetype(str(path), size)
    return ImageFont.load_default(size)


def picture(seed: int, scale: float = 1.0) -> Image.Image:
    """Picture number `seed`; `scale` draws the same composition smaller (a collection of
    ten thousand is drawn small, for speed: the fingerprint is taken at 256 pixels)."""
    rng = random.Random(seed)
    full_width, full_height = rng.choice(SIZES)
    width, height = max(16, round(full_width * scale)), max(16, round(full_height * scale))
    top = np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)
    bottom = np.array([rng.randrange(256) for _ in range(3)], dtype=np.float32)
    share = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    gradient = np.broadcast_to(top + (bottom - top) * share, (height, width, 3))
    image = Image.fromarray(np.ascontiguousarray(gradient).round().astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(rng.randint(6, 14)):
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        x0, y0 = rng.randrange(full_width), rng.randrange(full_height)
        x1 = x0 + rng.randint(40, full_width // 2)
        y1 = y0 + rng.randint(40, full_height // 2)
        box = (x0 * scale, y0 * scale, x1 * scale, y1 * scale)
        shape = rng.random()
        if shape < 0.4:
            draw.ellipse(box, fill=colour)
        elif shape < 0.7:
            draw.rectangle(box, fill=colour)
        else:
            corners = rng.randint(3, 6)
            draw.polygon(
                [
                    (rng.randrange(full_width) * scale, rng.randrange(full_height) * scale)
                    for _ in range(corners)
                ],
                fill=colour,
            )
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(1, 3) * scale))


def jpeg_bytes(image: Image.Image, quality: int = 85) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def recompressed(image: Image.Image, quality: int) -> Image.Image:
    return Image.open(io.BytesIO(jpeg_bytes(image, quality))).convert("RGB")


def resized(image: Image.Image, factor: float) -> Image.Image:
    size = (max(1, round(image.width * factor)), max(1, round(image.height * factor)))
    return image.resize(size, Image.Resampling.LANCZOS)


def cropped(image: Image.Image, share: float, rng: random.Random) -> Image.Image:
    """`share` of the width and of the height cut away, split at random between sides."""
    cut_x, cut_y = round(image.width * share), round(image.height * share)
    left, top = rng.randint(0, cut_x), rng.randint(0, cut_y)
    return image.crop((left, top, image.width - (cut_x - left), image.height - (cut_y - top)))


def with_caption_bar(
    image: Image.Image, rng: random.Random, text: str = "BREAKING: strike on the market today"
) -> Image.Image:
    """A band of one colour with a line of text, above or below, as channels add."""
    bar = round(image.height * rng.uniform(0.1, 0.18))
    on_top = rng.random() < 0.5
    background, ink = ((255, 255, 255), (0, 0, 0))
    if rng.random() < 0.5:
        background, ink = ink, background
    out = Image.new("RGB", (image.width, image.height + bar), background)
    out.paste(image, (0, bar if on_top else 0))
    draw = ImageDraw.Draw(out)
    draw.text(
        (round(image.width * 0.03), (0 if on_top else image.height) + round(bar * 0.2)),
        text,
        font=font("DejaVuSans.ttf", max(8, round(bar * 0.5))),
        fill=ink,
    )
    return out


def watermarked(image: Image.Image, text: str = "@channel") -> Image.Image:
    out = image.copy()
    draw = ImageDraw.Draw(out)
    size = max(10, image.height // 14)
    draw.text(
        (image.width - size * len(text) * 0.6 - 10, image.height - size - 10),
        text,
        font=font("DejaVuSans-Bold.ttf", size),
        fill=(255, 255, 255),
    )
    return out


SCREEN_FONTS = {
    "en": "DejaVuSans.ttf",
    "ru": "DejaVuSans.ttf",
    "uk": "DejaVuSans.ttf",
    "ar": "NotoNaskhArabic-Regular.ttf",
}
"""Fonts from Debian's fonts-dejavu-core and fonts-noto-core, one per script."""


SCREEN_HEADER = "News channel"


def screenshot(text: str, language: str, *, width: int = 900) -> bytes:
    """A post as a phone screenshot shows it: a coloured bar with the channel's name, then
    the text, dark on a light card, wrapped to the width (right-aligned in Arabic)."""
    face = font(SCREEN_FONTS[language], 34)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}".strip()
        if line and probe.textlength(trial, font=face) > width - 60:
            lines.append(line)
            line = word
        else:
            line = trial
    lines.append(line)
    image = Image.new("RGB", (width, 140 + 52 * len(lines)), (246, 246, 246))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 70), fill=(40, 110, 180))
    draw.text((24, 18), SCREEN_HEADER, font=font("DejaVuSans.ttf", 28), fill=(255, 255, 255))
    right = language == "ar"
    for n, row in enumerate(lines):
        place = (width - 30, 100 + n * 52) if right else (30, 100 + n * 52)
        draw.text(place, row, font=face, fill=(20, 20, 20), anchor="ra" if right else "la")
    return jpeg_bytes(image, 92)


def mirrored(image: Image.Image) -> Image.Image:
    return image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)


Variant = Callable[[Image.Image, random.Random], Image.Image]

VARIANTS: dict[str, Variant] = {
    "jpeg_q30": lambda image, rng: recompressed(image, 30),
    "jpeg_q60": lambda image, rng: recompressed(image, 60),
    "jpeg_q90": lambda image, rng: recompressed(image, 90),
    "half": lambda image, rng: resized(image, 0.5),
    "quarter": lambda image, rng: resized(image, 0.25),
    "crop_5": lambda image, rng: cropped(image, 0.05, rng),
    "crop_10": lambda image, rng: cropped(image, 0.10, rng),
    "crop_15": lambda image, rng: cropped(image, 0.15, rng),
    "caption_bar": lambda image, rng: with_caption_bar(image, rng),
    "watermark": lambda image, rng: watermarked(image),
    "crop_caption_q60": lambda image, rng: recompressed(
        with_caption_bar(cropped(image, 0.08, rng), rng), 60
    ),
    "mirrored": lambda image, rng: mirrored(image),
}
"""Every change measured, by name; "mirrored" has no target (a mirror image is a new
picture to a perceptual hash)."""
