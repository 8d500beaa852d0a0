"""Normalization: what survives from a raw message, and the terms the matcher sees."""

from __future__ import annotations

import pytest

from domain.normalize import (
    STOPWORDS_EN,
    STOPWORDS_RU,
    analyze,
    clean,
    term,
    terms,
    transliterate,
    words,
)

# --- Unicode ---------------------------------------------------------------------------


def test_nfkc_folds_compatibility_forms() -> None:
    assert clean("ＩＤＬＩＢ") == "idlib"  # fullwidth letters
    assert clean("ﬁghters") == "fighters"  # ligature
    assert clean("① ²") == "1 2"


def test_case_folding() -> None:
    assert clean("IDLIB Idlib iDlIb") == "idlib idlib idlib"
    assert clean("ИДЛИБ") == "идлиб"
    assert clean("STRASSE Straße") == "strasse strasse"


@pytest.mark.parametrize(
    "hidden",
    ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u200e", "\u202e", "\u2066"],
)
def test_invisible_characters_inside_a_word_are_deleted(hidden: str) -> None:
    assert clean(f"Id{hidden}lib") == "idlib"


def test_bidi_controls_around_words_are_deleted() -> None:
    assert clean("\u202bIdlib\u202c \u2067Idleb\u2069") == "idlib idleb"


def test_control_characters_do_not_survive() -> None:
    assert clean("rebels\x00\x07 attack\x1b") == "rebels attack"


def test_line_breaks_become_spaces() -> None:
    assert clean("rebels\r\nattack\n\n\nIdlib\u2028now") == "rebels attack idlib now"


def test_mixed_script_lookalikes_resolve_to_the_majority_script() -> None:
    # "Idlіb" with a Cyrillic і, "Идлиб" with a Latin i.
    assert term("idlіb") == "idlib"
    assert term("идлiб") == term("идлиб")


# --- noise -----------------------------------------------------------------------------


def test_emoji_are_removed() -> None:
    assert clean("Rebels 🔥🔥 attack 👍🏽 Idlib 🇸🇾 ❤️") == "rebels attack idlib"
    assert clean("🙂🙂🙂") == ""


@pytest.mark.parametrize(
    "url",
    [
        "https://t.co/CsHG8R9cHp",
        "http://example.com/a?b=c",
        "www.example.org/page",
        "pic.twitter.com/9CgOACecb0",
        "t.me/somechannel/123",
        "mil.ru/news/1234",
    ],
)
def test_urls_are_removed(url: str) -> None:
    assert clean(f"rebels attack {url} Idlib") == "rebels attack idlib"


def test_a_url_glued_to_a_word_is_removed() -> None:
    assert clean("#DefundTheCBChttps://t.co/CsHG8R9cHp") == "defund the cbc"


def test_mention_and_hashtag_marks_go_and_their_words_stay() -> None:
    assert clean("@BetoORourke supporter") == "beto o rourke supporter"
    assert clean("#AustralianFires today") == "australian fires today"
    assert clean("#idlib") == "idlib"


def test_forwarding_header_is_removed() -> None:
    assert clean("Forwarded from War News\nRebels attack Idlib") == "rebels attack idlib"
    assert clean("Переслано от Военная хроника\nБоевики атакуют") == "боевики атакуют"


def test_tweet_signature_keeps_only_the_author_name() -> None:
    text = "Rebels attack Idlib — Jane Doe (@janedoe) January 14, 2020"
    assert clean(text) == "rebels attack idlib jane doe"
    assert clean("Rebels attack — Jane 🇸🇾 Doe (@jd) May 1, 2019") == "rebels attack jane doe"


def test_channel_trailers_are_removed() -> None:
    assert clean("Rebels attack Idlib\n👉 Subscribe to our channel @news") == "rebels attack idlib"
    assert clean("Боевики атакуют\nПодписаться на канал") == "боевики атакуют"
    assert clean("Боевики атакуют 👉 Подписывайтесь: @chan") == "боевики атакуют"
    assert clean("Rebels attack Idlib\n\n@warnews") == "rebels attack idlib"


def test_via_bot_is_removed() -> None:
    assert clean("Rebels attack Idlib via @gif") == "rebels attack idlib"


@pytest.mark.parametrize(
    "message",
    [
        "Is this true? Rebels attack Idlib",
        "Is it true that rebels attack Idlib?",
        "Rebels attack Idlib. Is this real?",
        "Rebels attack Idlib, fake?",
        "Check this: rebels attack Idlib",
        "Can someone verify this? Rebels attack Idlib",
        "Rebels attack Idlib - true or false?",
    ],
)
def test_english_stock_phrases_carry_no_terms(message: str) -> None:
    assert terms(message) == terms("rebels attack Idlib")


@pytest.mark.parametrize(
    "message",
    [
        "Правда ли, что боевики атакуют Идлиб?",
        "Боевики атакуют Идлиб. Это правда?",
        "Боевики атакуют Идлиб — фейк?",
        "Проверьте, пожалуйста: боевики атакуют Идлиб",
        "Это фейк? Боевики атакуют Идлиб",
        "Верно ли, что боевики атакуют Идлиб?",
    ],
)
def test_russian_stock_phrases_carry_no_terms(message: str) -> None:
    assert terms(message) == terms("боевики атакуют Идлиб")


def test_a_bare_word_fake_is_content() -> None:
    assert "fake" in terms("Fake news about Idlib")
    assert terms("фейк про Идлиб") == ["feyk", "idlib"]


# --- numbers ---------------------------------------------------------------------------


def test_numbers_are_kept_as_terms() -> None:
    assert "40" in terms("40 soldiers")
    assert "40" in terms("up to 40 soldiers were killed")
    assert "40" in terms("до 40 военных")
    assert terms("400 air strikes")[0] == "400"


def test_grouped_digits_are_one_number() -> None:
    assert "1000" in terms("1,000 people")
    assert "1000" in terms("1\u00a0000 человек")
    assert "2.5" in terms("2,5 км")
    assert terms("in 2019, 100 people") == ["2019", "100", "peopl"]


# --- tokens and terms ------------------------------------------------------------------


def test_words_split_on_punctuation_and_keep_apostrophes() -> None:
    assert words(clean("McDonald’s al-Sham, 10-meter")) == [
        "mcdonald's",
        "al",
        "sham",
        "10",
        "meter",
    ]


def test_stopwords_are_dropped_in_both_languages() -> None:
    assert terms("the rebels and the army") == ["rebel", "armi"]
    assert terms("и боевики, и армия") == ["boevik", "арм"]
    assert {"the", "and", "is"} <= STOPWORDS_EN
    assert {"и", "что", "это"} <= STOPWORDS_RU


def test_english_and_russian_words_are_stemmed_by_their_own_stemmer() -> None:
    assert term("soldiers") == term("soldier")
    assert term("killed") == term("kills")
    assert term("боевики") == term("боевиков")
    assert term("Идлибе".casefold()) == term("идлиб")


def test_transliteration_lets_scripts_meet() -> None:
    assert transliterate("Идлиб") == "Idlib"
    assert transliterate("щёлково") == "shchelkovo"
    assert transliterate("Idlib 40") == "Idlib 40"
    assert terms("Идлибе") == terms("Idlib")
    assert terms("Минобороны") == terms("Минобороне")


def test_short_cyrillic_stems_keep_their_script() -> None:
    # "дела" stems to "дел"; spelled in Latin it would collide with the English "del".
    assert terms("дела") != terms("del")


def test_arabic_spelling_variants_meet() -> None:
    assert terms("إدلب") == terms("ادلب")
    assert terms("إِدْلِب") == terms("إدلب")


def test_analysis_aligns_words_and_terms() -> None:
    analysis = analyze("Is it true that the rebels killed 40 soldiers? https://t.co/x")
    assert analysis.cleaned == "the rebels killed 40 soldiers?"
    assert analysis.words == ("rebels", "killed", "40", "soldiers")
    assert analysis.terms == ("rebel", "kill", "40", "soldier")


def test_empty_and_noise_only_text() -> None:
    assert clean("") == ""
    assert analyze("   \n\t ").terms == ()
    assert analyze("🙂 https://t.co/x @someone").terms == ()
