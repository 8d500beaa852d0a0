"""Recognising a recorded picture: fingerprints, the index, bounded decoding, and records
of photos and videos in datasets and moderators' edits."""

from __future__ import annotations

import dataclasses
import io
import random
import struct
import zlib

import pytest
from PIL import Image

from domain import dataset, moderation
from domain.media.index import MATCH_DISTANCE, PictureIndex
from domain.media.ocr import clean
from domain.media.pictures import (
    PictureError,
    fingerprint,
    fingerprints_of,
    from_hex,
    open_picture,
    strip_bars,
    to_hex,
)
from domain.model import KnownMedia, MediaKind, MediaRoute
from domain.moderation import InputError
from tests.helpers.pictures import (
    VARIANTS,
    jpeg_bytes,
    picture,
    with_caption_bar,
)


def _print(seed: int) -> int:
    value = fingerprint(open_picture(jpeg_bytes(picture(seed))))
    assert value is not None
    return value


def _index(seeds: range) -> PictureIndex:
    index = PictureIndex()
    for seed in seeds:
        index.put(f"incident-{seed}", [KnownMedia(MediaKind.PHOTO, fingerprints=(_print(seed),))])
    return index


@pytest.fixture(scope="module")
def collection() -> PictureIndex:
    return _index(range(40))


@pytest.mark.parametrize("change", [name for name in VARIANTS if name != "mirrored"])
def test_every_kind_of_change_still_finds_the_right_picture(
    collection: PictureIndex, change: str
) -> None:
    rng = random.Random(change)
    for seed in (3, 17, 29):
        sent = open_picture(jpeg_bytes(VARIANTS[change](picture(seed), rng)))
        found = collection.find([sent])
        assert found is not None, f"{change} of picture {seed} not found"
        assert found.incident_key == f"incident-{seed}"
        assert found.route is MediaRoute.NEAR_COPY


def test_pictures_not_in_the_collection_are_not_taken_for_one(collection: PictureIndex) -> None:
    for seed in range(1000, 1030):
        nearest = collection.nearest([open_picture(jpeg_bytes(picture(seed)))])
        assert nearest is not None
        assert nearest.distance > MATCH_DISTANCE, f"picture {seed} taken for {nearest}"


def test_a_file_id_is_an_exact_match_and_two_incidents_sharing_it_are_both_named() -> None:
    index = PictureIndex()
    reused = KnownMedia(MediaKind.PHOTO, file_ids=("AgADreused",))
    index.put("first", [reused])
    index.put("second", [reused, KnownMedia(MediaKind.VIDEO, file_ids=("BAADvideo",))])
    assert [m.incident_key for m in index.by_file(["AgADreused"])] == ["first", "second"]
    assert [m.route for m in index.by_file(["BAADvideo"])] == [MediaRoute.FILE]
    index.remove(["second"])
    assert [m.incident_key for m in index.by_file(["AgADreused"])] == ["first"]
    assert index.by_file(["BAADvideo"]) == []


def test_replacing_an_incidents_media_forgets_the_old_fingerprints() -> None:
    index = _index(range(2))
    sent = [open_picture(jpeg_bytes(picture(0)))]
    assert index.find(sent) is not None
    index.put("incident-0", [])
    found = index.find(sent)
    assert found is None or found.incident_key != "incident-0"


def test_a_caption_bar_is_cut_off_but_a_plain_sky_is_not() -> None:
    image = picture(5)
    captioned = open_picture(jpeg_bytes(with_caption_bar(image, random.Random(1))))
    stripped = strip_bars(captioned.grey)
    assert stripped is not None
    expected = round(image.height * captioned.grey.width / image.width)
    assert abs(stripped.height - expected) <= 0.05 * expected
    sky = Image.new("RGB", (640, 480), (120, 170, 230))
    sky.paste(picture(6).resize((640, 300)), (0, 180))
    assert strip_bars(open_picture(jpeg_bytes(sky)).grey) is None


def test_a_flat_picture_has_no_fingerprint() -> None:
    grey = Image.new("RGB", (800, 600), (90, 90, 90))
    assert fingerprint(open_picture(jpeg_bytes(grey))) is None
    assert fingerprints_of([jpeg_bytes(grey), b"not a picture"]) == ()


def _png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge picture (a decompression bomb's shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b""))


def test_hostile_files_are_refused_before_their_pixels_are_read() -> None:
    with pytest.raises(PictureError):
        open_picture(_png_header_claiming(100_000, 100_000))
    with pytest.raises(PictureError):
        open_picture(b"\xff\xd8\xff\xe0 truncated")
    with pytest.raises(PictureError):
        open_picture(b"")


def test_fingerprints_read_back_from_their_hex_form() -> None:
    value = _print(8)
    assert from_hex(to_hex(value)) == value
    with pytest.raises(ValueError):
        from_hex("xyz")


def test_media_travel_through_a_dataset_export_and_import() -> None:
    sources, (incident,) = dataset.sample_dataset()
    media = KnownMedia(
        MediaKind.VIDEO,
        ("BAADAgADvideo", "AQADthumb"),
        (_print(9),),
        2_400_000,
        1280,
        720,
        "first published in 2016; reused since",
    )
    with_media = dataclasses.replace(incident, media=(media,))
    out = io.StringIO()
    dataset.write_dataset(out, sources, [with_media])
    written = out.getvalue().encode()
    report = dataset.validate(lambda: io.BytesIO(written))
    assert report.ok, report.errors
    known = {source.key: source for source in sources}
    (read,) = list(dataset.read_incidents(lambda: io.BytesIO(written), known))
    assert read.media == (media,)


def test_a_dataset_listing_a_file_twice_is_refused() -> None:
    sources, (incident,) = dataset.sample_dataset()
    twice = KnownMedia(MediaKind.PHOTO, ("AgADsame", "AgADsame"))
    out = io.StringIO()
    dataset.write_dataset(out, sources, [dataclasses.replace(incident, media=(twice,))])
    written = out.getvalue().encode()
    report = dataset.validate(lambda: io.BytesIO(written))
    assert any("listed twice" in error.message for error in report.errors)


def test_a_moderator_records_media_once_with_a_clean_note() -> None:
    _, (incident,) = dataset.sample_dataset()
    media = KnownMedia(MediaKind.PHOTO, ("AgADone",), note="  first seen\u200b in 2016 \n")
    changed = moderation.add_media(incident, media)
    assert changed.media[-1].note == "first seen in 2016"
    with pytest.raises(InputError, match="already recorded"):
        moderation.add_media(changed, KnownMedia(MediaKind.PHOTO, ("AgADone", "AgADtwo")))
    with pytest.raises(InputError, match="nothing to recognise"):
        moderation.add_media(incident, KnownMedia(MediaKind.PHOTO))


def test_ocr_output_keeps_words_and_drops_stray_marks() -> None:
    raw = "Did rebels kill\n\n  40 soldiers  in Idlib?\n|\n~ .\nهل قتل المسلحون\n"
    assert clean(raw) == "Did rebels kill 40 soldiers in Idlib? هل قتل المسلحون"
