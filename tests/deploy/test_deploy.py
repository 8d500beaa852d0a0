"""What can be checked of the container without a Docker engine: the entry point and the
settings it needs, run as the image runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from db.migrate import head_revision
from domain.media import ocr
from tests.helpers.pictures import screenshot

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def run(args: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        # The gazetteer built from the installed packages is cached per user; sharing the
        # test run's cache keeps each start from rebuilding it.
        "XDG_CACHE_HOME": os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache")),
        "DATABASE_URL": f"sqlite:///{tmp_path}/data/factcheck.db",
        **env,
    }
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_without_a_token_says_what_is_missing_and_no_traceback(tmp_path: Path) -> None:
    result = run(["run"], tmp_path)
    assert result.returncode == 2
    assert f"schema: empty -> {head_revision()}" in result.stdout  # migrations ran first
    assert "TELEGRAM_BOT_TOKEN: missing" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_settings_are_each_named_without_echoing_the_token(tmp_path: Path) -> None:
    result = run(
        ["run"],
        tmp_path,
        TELEGRAM_BOT_TOKEN="not-a-token-secret-value",
        WEBHOOK_URL="http://bot.example.org/hook",
        WEBHOOK_PORT="99999",
        ADMIN_IDS="12,abc",
    )
    assert result.returncode == 2
    for name in (
        "TELEGRAM_BOT_TOKEN",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
        "WEBHOOK_PORT",
        "ADMIN_IDS",
    ):
        assert f"  - {name}:" in result.stderr
    assert "not-a-token-secret-value" not in result.stderr + result.stdout


def test_healthcheck_in_polling_mode_checks_the_database(tmp_path: Path) -> None:
    assert run(["healthcheck"], tmp_path).returncode == 0
    broken = run(["healthcheck"], tmp_path, DATABASE_URL="mysql://nowhere/db")
    assert broken.returncode != 0
    assert "DATABASE_URL" in broken.stderr


def test_other_commands_pass_through(tmp_path: Path) -> None:
    result = run(["check", "--json", "Did rebels kill 40 Syrian soldiers in Idlib?"], tmp_path)
    assert '"id": "idlib-disputed-attack"' in result.stdout


@pytest.mark.parametrize("path", ["Dockerfile", "compose.yaml", ".env.example"])
def test_deploy_files_document_every_setting(path: str) -> None:
    text = (ROOT / path).read_text(encoding="utf-8")
    if path == ".env.example":
        from bot.config import Settings

        documented = {
            line.split("=")[0]
            for line in text.splitlines()
            if "=" in line and not line.startswith("#")
        }
        names = {name.upper() for name in Settings.__dataclass_fields__}
        assert names <= documented, names - documented
    else:
        assert "factcheck" in text


def test_import_dry_run_says_what_would_change_by_id(tmp_path: Path) -> None:
    data = json.loads((ROOT / "domain" / "data" / "idlib-reference.json").read_text("utf-8"))
    data["incidents"][0]["title"] = "Retitled"
    path = tmp_path / "retitle.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    run(["check", "warm up the database"], tmp_path)  # creates it, with the sample
    result = run(["import", "--dry-run", str(path)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "0 new, 1 changed" in result.stdout
    assert "changed: idlib-disputed-attack" in result.stdout


@pytest.mark.skipif(not ocr.available(), reason="Tesseract is not installed (tesseract-ocr)")
def test_check_reads_a_screenshot_given_as_a_picture(tmp_path: Path) -> None:
    shot = tmp_path / "screenshot.jpg"
    shot.write_bytes(screenshot("Did rebels kill 40 Syrian soldiers in Idlib?", "en"))
    result = run(["check", "--json", "--picture", str(shot)], tmp_path)
    answer = json.loads(result.stdout)
    assert answer["incident"]["id"] == "idlib-disputed-attack"
    assert answer["recognised"] == {"route": "text"}


def test_check_without_a_claim_or_a_picture_says_what_it_needs(tmp_path: Path) -> None:
    result = run(["check"], tmp_path)
    assert result.returncode == 2
    assert "give a claim, or --picture FILE" in result.stderr
