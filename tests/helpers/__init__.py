"""What several test modules share: databases to test on, a running bot, look-alike
incidents and phrasings, shortcuts into the stores. Fixtures live in `tests/conftest.py`;
plain functions and data live here, imported by name."""
