"""The moderators' desk: a Telegram Mini App served by the bot's web server.

`auth` checks who opened it (Telegram's signed init data), `api` is the JSON the page
talks to — every write through the same domain rules, version checks, audit events and
change log as the chat commands — and `static/` the page itself (plain HTML, CSS and
JavaScript: nothing to build).
"""
