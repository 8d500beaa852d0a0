"""The public page of an incident, `/i/<key>`: what the bot answers, for readers outside
Telegram and for search engines.

The page lays out the incident, the grid of who asserts, disputes or partly supports each
point, and every account side by side with its figures as the source phrased them — the
same record as the answer, never a verdict of our own. It embeds the incident's
ClaimReview JSON-LD and Open Graph tags (a link shared in Telegram previews with the
title and the tally).

Every stored text is escaped where it is written into the page (`html.escape` with
quotes, for attributes too); the JSON-LD is written by `json_ld`, which no stored text
can break out of. Links go only to http(s) addresses.
"""

from __future__ import annotations

import html
from urllib.parse import quote

from bot import messages as msg
from bot.i18n import LANGUAGES, is_right_to_left, t, tp
from bot.localized import incident_text, local, point_text, source_name
from bot.markup import comma, semicolon
from bot.render import STANCE_MARKS, date_line
from domain.claim_review import claim_reviews, json_ld, web_address
from domain.model import AccountView, IncidentStatus, IncidentView, Stance

_STATUS = {
    IncidentStatus.CONTESTED: msg.STATUS_CONTESTED,
    IncidentStatus.CORROBORATED: msg.STATUS_CORROBORATED,
    IncidentStatus.SINGLE_SOURCE: msg.STATUS_SINGLE_SOURCE,
}
_LOCALES = {"en": "en_GB", "ru": "ru_RU", "uk": "uk_UA", "ar": "ar_AR"}

STYLE = """
:root { --line: #8884; --muted: #666; }
@media (prefers-color-scheme: dark) {
  body { background: #16181c; color: #e8e8e8; } :root { --muted: #aaa; } a { color: #8cf; }
}
body { font: 16px/1.5 system-ui, sans-serif; margin: 0; }
main { max-width: 72rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.5rem; margin: .5rem 0; }
.meta, .muted { color: var(--muted); }
.grid-wrap { overflow-x: auto; }
table { border-collapse: collapse; min-width: 100%; }
th, td { border: 1px solid var(--line); padding: .4rem .6rem; text-align: start;
         vertical-align: top; }
td.stance { white-space: nowrap; }
.accounts { display: grid; gap: 1rem;
            grid-template-columns: repeat(auto-fill, minmax(16rem, 1fr)); }
.account { border: 1px solid var(--line); border-radius: .5rem; padding: .75rem; }
.account h3 { margin: 0 0 .25rem; font-size: 1.05rem; }
.figures { padding-left: 1.2rem; }
[dir="rtl"] .figures { padding-left: 0; padding-right: 1.2rem; }
""".strip()


def page_url(base: str, key: str, language: str | None = None) -> str:
    url = f"{base.rstrip('/')}/i/{quote(key, safe='')}"
    return f"{url}?lang={language}" if language else url


def page_language(requested: str | None, accept_language: str, default: str) -> str:
    """`?lang=` when it is one of ours, else the first of ours the browser accepts."""
    if requested in LANGUAGES:
        return requested
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        code = tag.split("-")[0].lower()
        if code in LANGUAGES and weight > 0:
            ranked.append((-weight, position, code))
    return min(ranked)[2] if ranked else default


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _stance_cell(account: AccountView, point_key: str, language: str) -> str:
    stance = account.stance_on(point_key)
    word = tp(language, msg.STANCES[stance])
    note = next((s for s in account.stances if s.point_key == point_key), None)
    title = ""
    if note is not None and note.note:
        title = f' title="{_e(local(language, note.note, note.translations))}"'
    return f'<td class="stance stance-{stance.value}"{title}>{STANCE_MARKS[stance]} {_e(word)}</td>'


def _account_card(account: AccountView, language: str) -> str:
    kind = tp(language, msg.KINDS[account.source.kind])
    parts = [
        '<article class="account">',
        f"<h3>{_e(source_name(account.source, language))}</h3>",
        f'<p class="muted">{_e(kind)}</p>',
        f"<p>{_e(local(language, account.summary, account.translations))}</p>",
    ]
    if account.figures:
        items = "".join(
            f"<li>{_e(local(language, f.label, f.translations))}: <b>{_e(f.raw)}</b></li>"
            for f in account.figures
        )
        parts.append(f'<ul class="figures">{items}</ul>')
    extra = []
    link = web_address(account.url)
    if link:
        extra.append(
            f'<a href="{_e(link)}" rel="nofollow noopener">{_e(t(language, msg.LINK))}</a>'
        )
    if account.published_on:
        extra.append(f"<time>{account.published_on.isoformat()}</time>")
    if extra:
        parts.append(f'<p class="muted">{" · ".join(extra)}</p>')
    parts.append("</article>")
    return "".join(parts)


def tally(incident: IncidentView, language: str) -> str:
    """A line for link previews: how many sources, how many points contested."""
    contested = sum(
        1
        for point in incident.points
        if incident.accounts_with(point.key, Stance.ASSERTS)
        and incident.accounts_with(point.key, Stance.DISPUTES)
    )
    return t(language, msg.PAGE_TALLY, sources=len(incident.accounts), contested=contested)


def incident_page(incident: IncidentView, language: str, *, base: str, publisher: str) -> str:
    """The whole page, as one HTML document."""
    url = page_url(base, incident.key, language)
    title = incident_text(incident, language, "title")
    summary = incident_text(incident, language, "summary")
    where = comma(language).join(
        incident_text(incident, language, name)
        for name in ("place", "country")
        if getattr(incident, name)
    )
    direction = "rtl" if is_right_to_left(language) else "ltr"
    reviews = claim_reviews(incident, publisher, url=page_url(base, incident.key))
    alternates = "".join(
        f'<link rel="alternate" hreflang="{code}" href="{_e(page_url(base, incident.key, code))}">'
        for code in LANGUAGES
    )
    accounts = incident.accounts
    header_cells = "".join(
        f'<th scope="col">{_e(source_name(a.source, language))}</th>' for a in accounts
    )
    rows = "".join(
        f'<tr><th scope="row">{n}. {_e(point_text(p, language))}</th>'
        + "".join(_stance_cell(a, p.key, language) for a in accounts)
        + "</tr>"
        for n, p in enumerate(incident.points, 1)
    )
    description = f"{tally(incident, language)} {summary}".strip()
    return "".join(
        [
            "<!DOCTYPE html>",
            f'<html lang="{language}" dir="{direction}">',
            "<head>",
            '<meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)} · {_e(publisher)}</title>",
            f'<meta name="description" content="{_e(description)}">',
            f'<link rel="canonical" href="{_e(url)}">',
            alternates,
            '<meta property="og:type" content="article">',
            f'<meta property="og:title" content="{_e(title)}">',
            f'<meta property="og:description" content="{_e(description)}">',
            f'<meta property="og:url" content="{_e(url)}">',
            f'<meta property="og:site_name" content="{_e(publisher)}">',
            f'<meta property="og:locale" content="{_LOCALES[language]}">',
            f"<style>{STYLE}</style>",
            f'<script type="application/ld+json">{json_ld(reviews)}</script>',
            "</head>",
            "<body><main>",
            f"<h1>{_e(title)}</h1>",
            f'<p class="meta">📍 {_e(where)} · 🗓 {_e(date_line(incident, language))}</p>',
            f"<p>{_e(summary)}</p>",
            f"<p><b>{_e(t(language, _STATUS[incident.status]))}</b></p>",
            f"<h2>{_e(t(language, msg.PAGE_GRID))}</h2>",
            '<div class="grid-wrap"><table>',
            f'<thead><tr><th scope="col">{_e(t(language, msg.PAGE_POINT))}</th>',
            f"{header_cells}</tr></thead>",
            f"<tbody>{rows}</tbody></table></div>",
            f"<h2>{_e(t(language, msg.ACCOUNTS_HEADING))}</h2>",
            '<div class="accounts">',
            "".join(_account_card(a, language) for a in accounts),
            "</div>",
            f'<footer><p class="muted">{_e(t(language, msg.PAGE_FOOTER))}</p>',
            '<p class="muted">'
            + semicolon(language).join(
                f'<a href="{_e(page_url(base, incident.key, code))}" hreflang="{code}">{code}</a>'
                for code in LANGUAGES
            )
            + "</p></footer>",
            "</main></body></html>",
        ]
    )


def not_found_page(language: str) -> str:
    direction = "rtl" if is_right_to_left(language) else "ltr"
    text = _e(t(language, msg.PAGE_NOT_FOUND))
    return (
        f'<!DOCTYPE html><html lang="{language}" dir="{direction}"><head><meta charset="utf-8">'
        f"<title>{text}</title></head><body><main><p>{text}</p></main></body></html>"
    )
