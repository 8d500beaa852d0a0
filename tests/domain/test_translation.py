"""Moderators' translations of a record, one text at a time."""

from __future__ import annotations

import pytest

from domain.moderation import InputError
from domain.sample import reference_incident
from domain.translation import translate, translate_source


def test_an_incident_language_starts_with_its_title_and_can_be_taken_away() -> None:
    incident = reference_incident()
    with pytest.raises(InputError, match="translate the title into de first"):
        translate(incident, "de", "place", "Idlib")
    titled = translate(incident, "de", "title", "Gemeldete Offensive in Idlib")
    placed = translate(titled, "de", "place", "Idlib")
    assert placed.translations["de"].title == "Gemeldete Offensive in Idlib"
    assert placed.translations["de"].place == "Idlib"
    assert "de" not in translate(placed, "de", "title", "-").translations


def test_a_source_language_starts_with_its_name() -> None:
    source = reference_incident().accounts[0].source
    with pytest.raises(InputError, match="translate the name into de first"):
        translate_source(source, "de", "affiliation", "Russland")
    named = translate_source(source, "de", "name", "Russisches Verteidigungsministerium")
    assert named.translations["de"].name == "Russisches Verteidigungsministerium"
    with pytest.raises(InputError, match="not a language code"):
        translate_source(source, "Deutsch!", "name", "x")
