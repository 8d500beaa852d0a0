"""The desk's API over real HTTP on 127.0.0.1, against the running bot: who may use it,
and that its writes are the chat's writes (checked, versioned, audited, answered)."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from domain.sample import REFERENCE_INCIDENT_KEY
from tests.double import BotApiDouble
from tests.helpers.desk import signed_init_data
from tests.helpers.running_bot import RunningBot, running_bot, serving_web

ADMIN = 900
STRANGER = 4321
CLAIM = "Did rebels kill 40 Syrian soldiers in Idlib?"


class Desk:
    def __init__(self, base: str, init_data: str) -> None:
        self.base, self.init_data = base, init_data

    async def call(
        self, method: str, path: str, body: Any = None, *, request_id: str | None = None
    ) -> tuple[int, Any]:
        headers = {"Authorization": f"tma {self.init_data}"}
        if method != "GET":
            headers["X-Request-Id"] = request_id or str(uuid.uuid4())
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                method, f"{self.base}/desk/api{path}", json=body, headers=headers
            ) as response,
        ):
            return response.status, await response.json(content_type=None)


@asynccontextmanager
async def desk_of(
    double: BotApiDouble, tmp_path: Path, port: int, user_id: int = ADMIN
) -> AsyncIterator[tuple[RunningBot, Desk]]:
    base = f"http://127.0.0.1:{port}"
    async with running_bot(
        double, tmp_path, environment=serving_web(port, ADMIN_IDS=str(ADMIN))
    ) as bot:
        yield bot, Desk(base, signed_init_data(double.token, user_id))


async def test_without_valid_init_data_nothing_is_served(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_of(bot_api, tmp_path, unused_tcp_port) as (_bot, desk):
        forged = Desk(desk.base, signed_init_data("1:wrong-token-for-this-bot-000000000", ADMIN))
        stale = Desk(
            desk.base,
            signed_init_data(bot_api.token, ADMIN, auth_date=int(time.time()) - 7200),
        )
        nothing = Desk(desk.base, "")
        results = [
            await forged.call("GET", "/incidents"),
            await stale.call("GET", "/incidents"),
            await nothing.call("GET", "/incidents"),
        ]
    assert [status for status, _ in results] == [401, 401, 401]
    assert "signature" in results[0][1]["error"]
    assert "too long ago" in results[1][1]["error"]


async def test_someone_who_is_not_staff_is_refused_and_it_is_audited(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_of(bot_api, tmp_path, unused_tcp_port, STRANGER) as (bot, desk):
        status, body = await desk.call("GET", f"/incidents/{REFERENCE_INCIDENT_KEY}")
        write, _ = await desk.call("POST", "/undo", {})
        refusals = await bot.services.database.audit.latest(5, refusals=True)
    assert (status, write) == (403, 403)
    assert body == {"error": "the desk is for moderators only"}
    assert any(e.actor_id == STRANGER for e in refusals)


async def test_a_stance_set_in_the_grid_changes_the_bots_answer(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_of(bot_api, tmp_path, unused_tcp_port) as (_bot, desk):
        status, record = await desk.call("GET", f"/incidents/{REFERENCE_INCIDENT_KEY}")
        assert status == 200
        version = record["version"]
        status, saved = await desk.call(
            "POST",
            f"/incidents/{REFERENCE_INCIDENT_KEY}/stance",
            {
                "account": "state-media-report",
                "point": "soldiers-killed",
                "stance": "asserts",
                "version": version,
            },
        )
        user = bot_api.add_user(700, "Reader")
        chat = bot_api.add_private_chat(user)
        bot_api.user_sends(user, chat, CLAIM)
        (answer, *_rest) = await bot_api.wait_for_messages(chat, 1)
        _, audit = await desk.call("GET", "/audit?limit=1")
    assert status == 200 and saved["version"] == version + 1
    asserting = next(line for line in (answer.plain or "").splitlines() if "asserts:" in line)
    assert "Syrian state media" in asserting
    assert audit[0]["key"] == REFERENCE_INCIDENT_KEY and audit[0]["who"] == "Moderator"


async def test_a_save_on_an_old_version_is_refused_with_the_current_record(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_of(bot_api, tmp_path, unused_tcp_port) as (_bot, desk):
        _, record = await desk.call("GET", f"/incidents/{REFERENCE_INCIDENT_KEY}")
        first = dict(record["incident"], title="First moderator's title")
        second = dict(record["incident"], title="Second moderator's title")
        path = f"/incidents/{REFERENCE_INCIDENT_KEY}"
        ok, _ = await desk.call("PUT", path, {"incident": first, "version": record["version"]})
        late, conflict = await desk.call(
            "PUT", path, {"incident": second, "version": record["version"]}
        )
        _, now = await desk.call("GET", path)
    assert (ok, late) == (200, 409)
    assert conflict["current"]["incident"]["title"] == "First moderator's title"
    assert now["incident"]["title"] == "First moderator's title"


async def test_a_replayed_request_is_refused(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_of(bot_api, tmp_path, unused_tcp_port) as (_bot, desk):
        _, record = await desk.call("GET", f"/incidents/{REFERENCE_INCIDENT_KEY}")
        change = {
            "account": "state-media-report",
            "point": "soldiers-killed",
            "stance": "disputes",
            "version": record["version"],
        }
        path = f"/incidents/{REFERENCE_INCIDENT_KEY}/stance"
        first, _ = await desk.call("POST", path, change, request_id="same-request-0001")
        again, body = await desk.call("POST", path, change, request_id="same-request-0001")
    assert (first, again) == (200, 409)
    assert body["replayed"] is True


async def test_invalid_records_are_refused_with_every_problem(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_of(bot_api, tmp_path, unused_tcp_port) as (bot, desk):
        _, record = await desk.call("GET", f"/incidents/{REFERENCE_INCIDENT_KEY}")
        broken = dict(record["incident"], title="")
        broken["accounts"] = [dict(record["incident"]["accounts"][0], source="nobody")]
        status, body = await desk.call(
            "PUT",
            f"/incidents/{REFERENCE_INCIDENT_KEY}",
            {"incident": broken, "version": record["version"]},
        )
        unchanged = await bot.services.database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    assert status == 422
    assert any("title" in p for p in body["problems"])
    assert any("nobody" in p for p in body["problems"])
    assert unchanged is not None and unchanged.version == record["version"]


async def test_desk_command_gives_staff_the_mini_app_button_and_menu(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(
        bot_api, tmp_path, ADMIN_IDS=str(ADMIN), WEB_BASE_URL="https://desk.example.org"
    ):
        admin = bot_api.add_user(ADMIN, "Admin")
        chat = bot_api.add_private_chat(admin)
        stranger = bot_api.add_user(STRANGER, "Stranger")
        stranger_chat = bot_api.add_private_chat(stranger)
        bot_api.user_sends(admin, chat, "/desk")
        bot_api.user_sends(stranger, stranger_chat, "/desk")
        (offer,) = await bot_api.wait_for_messages(chat, 1)
        (refused,) = await bot_api.wait_for_messages(stranger_chat, 1)
    markup: dict[str, Any] = offer.reply_markup or {}
    (button,) = [b for row in markup["inline_keyboard"] for b in row]
    assert button == {"text": "🛠 Desk", "web_app": {"url": "https://desk.example.org/desk"}}
    menu = bot_api.menu_buttons[chat.id]
    assert menu["type"] == "web_app" and menu["web_app"]["url"].endswith("/desk")
    assert refused.plain == "This is for moderators only."
    assert stranger_chat.id not in bot_api.menu_buttons


async def test_desk_command_says_what_is_missing_without_an_https_address(
    bot_api: BotApiDouble, tmp_path: Path
) -> None:
    async with running_bot(bot_api, tmp_path, ADMIN_IDS=str(ADMIN)):
        admin = bot_api.add_user(ADMIN, "Admin")
        chat = bot_api.add_private_chat(admin)
        bot_api.user_sends(admin, chat, "/desk")
        (reply,) = await bot_api.wait_for_messages(chat, 1)
    assert "set WEB_BASE_URL" in (reply.plain or "")


async def test_a_dataset_is_previewed_by_id_then_imported_and_exported(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_of(bot_api, tmp_path, unused_tcp_port) as (bot, desk):
        status, exported = await desk.call("GET", "/export")
        assert status == 200
        exported["incidents"][0]["title"] = "Retitled by an import"
        broken = {**exported, "incidents": [{"id": "x"}]}
        refused, problems = await desk.call("POST", "/import?preview=1", broken)
        previewed, plan = await desk.call("POST", "/import?preview=1", exported)
        unchanged = await bot.services.database.repository.get_incident(REFERENCE_INCIDENT_KEY)
        imported, result = await desk.call("POST", "/import", exported)
        changed = await bot.services.database.repository.get_incident(REFERENCE_INCIDENT_KEY)
    assert refused == 422 and problems["problems"]
    assert previewed == 200 and plan["changed"] == [REFERENCE_INCIDENT_KEY]
    assert unchanged is not None and unchanged.title != "Retitled by an import"
    assert imported == 200 and "1 changed" in result["imported"]
    assert changed is not None and changed.title == "Retitled by an import"


async def test_admins_appoint_moderators_and_moderators_cannot(
    bot_api: BotApiDouble, tmp_path: Path, unused_tcp_port: int
) -> None:
    async with desk_of(bot_api, tmp_path, unused_tcp_port) as (_bot, admin):
        appointed, _ = await admin.call("POST", "/moderators", {"id": 777, "name": "Mira"})
        moderator = Desk(admin.base, signed_init_data(bot_api.token, 777))
        allowed, _ = await moderator.call("GET", "/incidents")
        refused, _ = await moderator.call("POST", "/moderators", {"id": 778})
        _, team = await admin.call("GET", "/moderators")
        removed, _ = await admin.call("DELETE", "/moderators/777", {})
        after, _ = await moderator.call("GET", "/incidents")
    assert (appointed, allowed, refused, removed, after) == (200, 200, 403, 200, 403)
    assert team["moderators"] == [{"id": 777, "name": "Mira", "role": "moderator"}]
