"""ClaimMatcher on small synthetic collections made here, one behaviour per test."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.matching import ClaimMatcher, MatchResult, MatchStatus, MatchThresholds
from domain.model import IncidentDocument, MatchText, NameGroup, TextKind

T = TextKind

IDLIB = IncidentDocument(
    "idlib-offensive",
    (
        MatchText(T.TITLE, "Militant offensive on government forces in Idlib"),
        MatchText(
            T.SUMMARY,
            "The Russian Ministry of Defence reported a large offensive by Hayat Tahrir "
            "al-Sham and heavy army losses; a war monitor said no attack took place.",
        ),
        MatchText(T.PLACE, "Idlib"),
        MatchText(T.KEYWORD, "offensive"),
        MatchText(T.POINT, "Up to 40 Syrian soldiers were killed", "soldiers-killed"),
        MatchText(T.POINT, "Погибли до 40 сирийских военных", "soldiers-killed"),
        MatchText(T.POINT, "Up to 50 militants were killed and 90 wounded", "militant-casualties"),
        MatchText(T.POINT, "About 400 air strikes hit the area since Wednesday", "air-strikes"),
        MatchText(T.SOURCE, "Russian Ministry of Defence"),
    ),
    (
        NameGroup("Idlib", ("Idleb", "Идлиб", "إدلب")),
        NameGroup("Russian Ministry of Defence", ("Minoborony", "Минобороны", "Russian MoD")),
    ),
)
HTS_GROUP = NameGroup("Hayat Tahrir al-Sham", ("HTS", "Tahrir al-Sham", "Nusra Front"))

ALEPPO = IncidentDocument(
    "aleppo-market",
    (
        MatchText(T.TITLE, "Shelling of a market in Aleppo kills 12 civilians"),
        MatchText(T.SUMMARY, "Local medics said a rocket hit the old market at noon."),
        MatchText(T.PLACE, "Aleppo"),
        MatchText(T.POINT, "12 civilians were killed", "civilians-killed"),
    ),
)
GRAIN = IncidentDocument(
    "odesa-grain",
    (
        MatchText(T.TITLE, "Drone strike on a grain terminal in Odesa"),
        MatchText(T.SUMMARY, "Ukrainian officials said drones damaged silos and a berth."),
        MatchText(T.PLACE, "Odesa"),
        MatchText(T.PLACE, "Одесса"),
    ),
)
JUNK = IncidentDocument("junk", (MatchText(T.TITLE, "The"), MatchText(T.SUMMARY, "a")))
EMPTY = IncidentDocument("empty", ())


def filler(n: int) -> list[IncidentDocument]:
    """Unrelated incidents so that document frequencies look like a real collection."""
    topics = ["flood", "election", "protest", "wildfire", "strike", "harvest", "bridge", "fuel"]
    towns = ["Kassel", "Lyon", "Porto", "Split", "Tartu", "Gdansk", "Brno", "Cork", "Ghent"]
    docs = []
    for i in range(n):
        topic, town = topics[i % len(topics)], towns[i % len(towns)]
        docs.append(
            IncidentDocument(
                f"filler-{i}",
                (
                    MatchText(T.TITLE, f"{topic.title()} reported in {town} on day {i}"),
                    MatchText(
                        T.SUMMARY, f"Residents of {town} described the {topic} to reporters."
                    ),
                    MatchText(T.PLACE, town),
                ),
            )
        )
    return docs


def build(*docs: IncidentDocument) -> ClaimMatcher:
    matcher = ClaimMatcher()
    for doc in (*filler(40), *docs):
        matcher.upsert(doc)
    return matcher


@pytest.fixture
def matcher() -> ClaimMatcher:
    return build(IDLIB, ALEPPO, GRAIN, JUNK, EMPTY)


def best_key(result: MatchResult) -> str | None:
    return result.best.incident_key if result.best else None


# --- names, scripts and aliases --------------------------------------------------------


@pytest.mark.parametrize("place", ["Idlib", "Idleb", "Идлиб", "Идлибе", "إدلب", "IDLIB"])
def test_every_spelling_of_a_place_finds_the_incident(matcher: ClaimMatcher, place: str) -> None:
    result = matcher.match(f"Were 40 soldiers killed in {place}?")
    assert best_key(result) == "idlib-offensive"
    assert result.status is MatchStatus.CONFIDENT


def test_an_alias_finds_an_incident_that_only_uses_the_full_name(matcher: ClaimMatcher) -> None:
    matcher.upsert(
        IncidentDocument("hts-declares", (MatchText(T.TITLE, "Unrelated"),), (HTS_GROUP,))
    )
    result = matcher.match("HTS fighters launched a large offensive on government forces")
    assert best_key(result) == "idlib-offensive"


def test_name_groups_are_global_once_declared(matcher: ClaimMatcher) -> None:
    # IDLIB mentions "Hayat Tahrir al-Sham" but declares no group for it; another incident
    # declaring the group is enough for "Nusra Front" to reach IDLIB.
    before = matcher.match("Nusra Front offensive")
    matcher.upsert(
        IncidentDocument("declarer", (MatchText(T.TITLE, "Court case in Lyon"),), (HTS_GROUP,))
    )
    after = matcher.match("Nusra Front offensive")
    assert best_key(after) == "idlib-offensive"
    assert after.best is not None and before.best is not None
    assert after.best.score > before.best.score


def test_russian_ministry_of_defence_by_its_russian_names(matcher: ClaimMatcher) -> None:
    for message in ("Минобороны: боевики начали наступление", "Minoborony says militants attacked"):
        assert best_key(matcher.match(message)) == "idlib-offensive", message


def test_russian_message_finds_an_incident_with_a_russian_point(matcher: ClaimMatcher) -> None:
    result = matcher.match("Правда ли, что в Идлибе погибли 40 сирийских военных?")
    assert best_key(result) == "idlib-offensive"
    assert result.status is MatchStatus.CONFIDENT
    assert result.best is not None and result.best.point_key == "soldiers-killed"


def test_cyrillic_place_name_meets_its_latin_spelling(matcher: ClaimMatcher) -> None:
    assert best_key(matcher.match("Дроны ударили по зерновому терминалу в Odesa")) == "odesa-grain"
    assert best_key(matcher.match("drone strike on grain terminal in Одессе")) == "odesa-grain"


def test_a_group_is_forgotten_with_the_last_incident_declaring_it(matcher: ClaimMatcher) -> None:
    matcher.upsert(IncidentDocument("declarer", (MatchText(T.TITLE, "Court case"),), (HTS_GROUP,)))
    assert best_key(matcher.match("Nusra Front")) == "idlib-offensive"
    matcher.remove("declarer")
    assert best_key(matcher.match("Nusra Front")) is None


# --- junk and unrelated messages -------------------------------------------------------


def test_junk_stored_texts_never_win(matcher: ClaimMatcher) -> None:
    assert "junk" in matcher and "empty" in matcher
    for message in ("The", "a", "The a the", "The offensive in Idlib", ""):
        keys = [c.incident_key for c in matcher.match(message).candidates]
        assert "junk" not in keys and "empty" not in keys, message
    assert matcher.match("The").status is MatchStatus.NONE


def test_a_one_word_stored_text_does_not_outrank_a_real_match() -> None:
    matcher = build(IDLIB, IncidentDocument("one-word", (MatchText(T.TITLE, "Offensive"),)))
    result = matcher.match("Militant offensive on government forces in Idlib killed 40 soldiers")
    assert best_key(result) == "idlib-offensive"
    assert result.status is MatchStatus.CONFIDENT


@pytest.mark.parametrize(
    "message",
    [
        "",
        "   ",
        "Hello!",
        "Good morning everyone",
        "Привет, как дела?",
        "🙂🙂🙂🔥🔥",
        "https://t.co/abcdef",
        "Buy followers cheap!!! DM me @promo",
        "Free crypto giveaway, click the link",
        "Who won the football match yesterday?",
        "Погода сегодня отличная",
        "Is this true?",
        "Правда ли?",
        "lol",
    ],
)
def test_unrelated_messages_find_nothing(matcher: ClaimMatcher, message: str) -> None:
    result = matcher.match(message)
    assert result.status is MatchStatus.NONE


def test_a_bare_topic_is_not_a_confident_answer(matcher: ClaimMatcher) -> None:
    for message in ("Idlib", "soldiers", "air strikes", "Syria"):
        assert matcher.match(message).status is not MatchStatus.CONFIDENT, message


# --- ambiguity -------------------------------------------------------------------------


def test_two_near_identical_incidents_are_ambiguous() -> None:
    twin_a = IncidentDocument(
        "bridge-a",
        (
            MatchText(T.TITLE, "Bridge over the Dnipro destroyed by missile strike"),
            MatchText(T.SUMMARY, "A missile strike destroyed the road bridge near Kherson."),
        ),
    )
    twin_b = IncidentDocument(
        "bridge-b",
        (
            MatchText(T.TITLE, "Missile strike destroys bridge over the Dnipro"),
            MatchText(T.SUMMARY, "The road bridge near Kherson was destroyed by a missile strike."),
        ),
    )
    matcher = build(twin_a, twin_b)
    result = matcher.match("Was the Dnipro road bridge near Kherson destroyed by a missile strike?")
    assert result.status is MatchStatus.AMBIGUOUS
    assert {c.incident_key for c in result.candidates[:2]} == {"bridge-a", "bridge-b"}


def test_thresholds_decide_the_status() -> None:
    matcher = build(IDLIB)
    message = "Were 40 Syrian soldiers killed in Idlib?"
    assert matcher.match(message).status is MatchStatus.CONFIDENT
    matcher.thresholds = MatchThresholds(confident=1.0, margin=0.0, minimum=0.0)
    assert matcher.match(message).status is MatchStatus.AMBIGUOUS
    matcher.thresholds = MatchThresholds(confident=1.0, margin=0.0, minimum=1.0)
    assert matcher.match(message).status is MatchStatus.NONE


@pytest.mark.parametrize(
    ("confident", "margin", "minimum"), [(0.5, 0.1, 0.6), (1.5, 0.1, 0.1), (0.5, -0.1, 0.1)]
)
def test_inconsistent_thresholds_are_rejected(
    confident: float, margin: float, minimum: float
) -> None:
    with pytest.raises(ValueError):
        MatchThresholds(confident=confident, margin=margin, minimum=minimum)


# --- incremental edits -----------------------------------------------------------------


def test_upsert_is_visible_to_the_next_match(matcher: ClaimMatcher) -> None:
    message = "Flooding closed the tunnel under the Elbe in Hamburg"
    assert best_key(matcher.match(message)) != "hamburg-tunnel"
    matcher.upsert(
        IncidentDocument(
            "hamburg-tunnel",
            (
                MatchText(T.TITLE, "Elbe tunnel in Hamburg closed by flooding"),
                MatchText(T.PLACE, "Hamburg"),
            ),
        )
    )
    assert len(matcher) == 46
    assert "hamburg-tunnel" in matcher
    assert best_key(matcher.match(message)) == "hamburg-tunnel"


def test_update_replaces_the_old_texts(matcher: ClaimMatcher) -> None:
    matcher.upsert(
        IncidentDocument("odesa-grain", (MatchText(T.TITLE, "Port crane collapse in Odesa"),))
    )
    assert len(matcher) == 45
    assert best_key(matcher.match("port crane collapsed in Odesa")) == "odesa-grain"
    keys = [
        c.incident_key for c in matcher.match("grain terminal silos damaged by drones").candidates
    ]
    assert "odesa-grain" not in keys


def test_remove_is_visible_to_the_next_match(matcher: ClaimMatcher) -> None:
    assert best_key(matcher.match("Shelling of the Aleppo market killed 12 civilians")) == (
        "aleppo-market"
    )
    assert matcher.remove("aleppo-market") is True
    assert "aleppo-market" not in matcher
    assert len(matcher) == 44
    result = matcher.match("Shelling of the Aleppo market killed 12 civilians")
    assert "aleppo-market" not in [c.incident_key for c in result.candidates]
    assert matcher.remove("aleppo-market") is False


def test_removed_then_re_added_incident_is_found_again(matcher: ClaimMatcher) -> None:
    matcher.remove("idlib-offensive")
    matcher.upsert(ALEPPO)  # re-indexing an unchanged incident is harmless
    matcher.upsert(IDLIB)
    assert best_key(matcher.match("Were 40 soldiers killed in Idleb?")) == "idlib-offensive"


# --- points ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "point"),
    [
        ("Did rebels kill 40 soldiers in Idlib?", "soldiers-killed"),
        ("Idlib: army says 50 militants killed, 90 wounded", "militant-casualties"),
        ("400 air strikes on Idlib since Wednesday?", "air-strikes"),
        ("В Идлибе погибли 40 военных?", "soldiers-killed"),
    ],
)
def test_the_message_picks_the_point(matcher: ClaimMatcher, message: str, point: str) -> None:
    result = matcher.match(message)
    assert best_key(result) == "idlib-offensive"
    assert result.best is not None
    assert result.best.point_key == point
    assert 0.0 < result.best.point_score <= 1.0


def test_a_number_alone_steers_between_points(matcher: ClaimMatcher) -> None:
    forty = matcher.match("Idlib offensive: 40 killed").best
    fifty = matcher.match("Idlib offensive: 50 killed").best
    assert forty is not None and fifty is not None
    assert (forty.point_key, fifty.point_key) == ("soldiers-killed", "militant-casualties")


def test_no_point_when_the_message_names_none(matcher: ClaimMatcher) -> None:
    result = matcher.match("Militant offensive on government forces in Idlib, says the Ministry")
    assert best_key(result) == "idlib-offensive"
    assert result.best is not None and result.best.point_key is None


# --- typos -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "Did rebles kill 40 Syrain soldeirs in Idlbi?",
        "Militnat offensiev on goverment forces in Idlib",
        "Shellnig of a markte in Alepo kills 12 civillians",
    ],
)
def test_typos_still_find_the_incident(matcher: ClaimMatcher, message: str) -> None:
    result = matcher.match(message)
    assert best_key(result) in {"idlib-offensive", "aleppo-market"}
    assert result.status is not MatchStatus.NONE
    expected = "aleppo-market" if "12" in message else "idlib-offensive"
    assert best_key(result) == expected


# --- results are well-formed whatever the input ------------------------------------------


def check_well_formed(result: MatchResult, limit: int) -> None:
    assert len(result.candidates) <= limit
    scores = [c.score for c in result.candidates]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert all(0.0 <= c.point_score <= 1.0 for c in result.candidates)
    if result.status is not MatchStatus.NONE:
        assert result.candidates
    assert isinstance(result.query, str)


@pytest.fixture(scope="module")
def shared_matcher() -> ClaimMatcher:
    return build(IDLIB, ALEPPO, GRAIN, JUNK, EMPTY)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=st.text(), limit=st.integers(min_value=0, max_value=8))
def test_match_never_raises_on_any_text(
    shared_matcher: ClaimMatcher, text: str, limit: int
) -> None:
    check_well_formed(shared_matcher.match(text, limit=limit), limit)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    parts=st.lists(
        st.sampled_from(
            [
                "Idlib",
                "Идлиб",
                "إدلب",
                "40",
                "soldiers",
                "HTS",
                "\u202e",
                "\u200b",
                "\x00",
                "🔥",
                "🇸🇾",
                "#tag",
                "@user",
                "https://t.co/x",
                "—",
                "(@h)",
                "\n",
                "правда ли",
                "fake?",
                "ё",
                "ﬁ",
                "\ufeff",
                "\U000e0041",
                "  ",
                "1,000",
                "٣",
                "日本",
            ]
        ),
        max_size=40,
    )
)
def test_match_never_raises_on_adversarial_mixtures(
    shared_matcher: ClaimMatcher, parts: list[str]
) -> None:
    check_well_formed(shared_matcher.match(" ".join(parts)), 5)


@pytest.mark.parametrize(
    "text",
    [
        "Idlib " * 200_000,
        "🔥" * 50_000,
        "\u202e" * 10_000 + "Idlib",
        "".join(chr(c) for c in range(0, 0x3000)),
        "\x00\x01\x02" * 1000,
        "ا" * 10_000,
    ],
)
def test_match_survives_extreme_input(shared_matcher: ClaimMatcher, text: str) -> None:
    check_well_formed(shared_matcher.match(text), 5)


async def test_a_remembered_match_is_forgotten_when_the_index_changes() -> None:
    import dataclasses
    from collections.abc import AsyncIterator, Iterable

    from domain.checker import ClaimChecker
    from domain.dataset import sample_dataset
    from domain.model import IncidentView, KnownMedia

    _, (incident,) = sample_dataset()
    stored = {incident.key: incident}

    class Store:
        async def get_incidents(self, keys: Iterable[str]) -> dict[str, IncidentView]:
            return {k: stored[k] for k in keys if k in stored}

        async def iter_incidents(self, *, batch_size: int = 500) -> AsyncIterator[IncidentView]:
            for view in list(stored.values()):
                yield view

        async def incident_for_post(self, channel: str, message_id: int) -> str | None:
            return None

        async def iter_media(self) -> AsyncIterator[tuple[str, tuple[KnownMedia, ...]]]:
            for view in list(stored.values()):
                yield view.key, view.media

        async def count_incidents(self) -> int:
            return len(stored)

    checker = ClaimChecker(Store())
    await checker.load()
    claim = "Was the Zephyrbrook aqueduct bombed?"
    assert (await checker.match(claim)).status is MatchStatus.NONE
    assert await checker.match(claim) is await checker.match(claim)  # remembered
    stored[incident.key] = dataclasses.replace(incident, phrases=(claim,))
    await checker.refresh([incident.key])
    assert (await checker.match(claim)).status is not MatchStatus.NONE
    del stored[incident.key]
    await checker.refresh([incident.key])
    assert (await checker.match(claim)).status is MatchStatus.NONE
