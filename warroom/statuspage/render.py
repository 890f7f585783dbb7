"""The status page as files: HTML, Atlassian-shaped JSON and an Atom feed (docs/statuspage.md).

Escaping is by construction: every text reaches the HTML through `_e` (html.escape, quotes
included) and the feed through ElementTree, which escapes what it writes; JSON is written by
json.dumps. No JavaScript anywhere: the page reads the same with it off, and a hostile
incident title or message has nothing to run in. The colours follow `prefers-color-scheme`;
the layout is one column that fits a phone.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from datetime import datetime
from html import escape
from typing import Any

from warroom.domain.common.jsonable import utc_iso
from warroom.domain.statuspage.page import (
    STATE_LABELS,
    PageIncident,
    StatusPage,
)

ATOM_ENTRIES = 50


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


CSS = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1d2330;--muted:#5b6473;--line:#d9dde3;
--ok:#1f8a4c;--degraded:#b7950b;--partial:#d35400;--major:#c0392b;--card:#f6f7f9}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--fg:#e6e9ef;--muted:#9aa3b2;
--line:#2c323c;--card:#1a1e26;--ok:#3fbf74;--degraded:#e0c341;--partial:#f08a3c;
--major:#f0645a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);overflow-wrap:anywhere;
font:16px/1.5 system-ui,-apple-system,
"Segoe UI",Roboto,sans-serif}
main,header,footer{max-width:46rem;margin:0 auto;padding:0 1rem}
header{padding-top:1.5rem}h1{font-size:1.6rem;margin:0 0 1rem}
h2{font-size:1.2rem;margin:2rem 0 .75rem}h3{font-size:1.05rem;margin:0 0 .5rem}
a{color:inherit}
.banner{padding:1rem;border-radius:.5rem;color:#fff;font-weight:600;background:var(--ok)}
.banner.minor{background:var(--degraded);color:#111}.banner.major{background:var(--partial)}
.banner.critical{background:var(--major)}
ul.components{list-style:none;margin:0;padding:0;border:1px solid var(--line);
border-radius:.5rem}
ul.components>li{padding:.75rem 1rem;border-top:1px solid var(--line)}
ul.components>li:first-child{border-top:0}
.row{display:flex;justify-content:space-between;gap:1rem;flex-wrap:wrap}
.state{font-weight:600}.operational{color:var(--ok)}
.degraded_performance{color:var(--degraded)}.partial_outage{color:var(--partial)}
.major_outage{color:var(--major)}
.desc,.meta,time{color:var(--muted);font-size:.9rem}
.bars{display:flex;gap:1px;margin-top:.5rem;height:1.6rem}
.bars span{flex:1;border-radius:1px;background:var(--ok)}
.bars span.degraded_performance{background:var(--degraded)}
.bars span.partial_outage{background:var(--partial)}
.bars span.major_outage{background:var(--major)}
article.incident{background:var(--card);border:1px solid var(--line);border-radius:.5rem;
padding:1rem;margin-bottom:1rem}
ol.updates{list-style:none;margin:0;padding:0}
ol.updates li{margin:.75rem 0}
.body{white-space:pre-wrap;overflow-wrap:anywhere;margin:.25rem 0}
.word{font-weight:600}
footer{padding:2rem 1rem;color:var(--muted);font-size:.85rem}
"""


def _document(title: str, body: str, page: StatusPage, depth: int = 0) -> str:
    up = "../" * depth
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{_e(title)}</title>\n"
        f"<link rel=\"alternate\" type=\"application/atom+xml\" title=\"{_e(page.name)}\" "
        f"href=\"{up}history.atom\">\n"
        f"<style>{CSS}</style>\n</head>\n<body>\n"
        f"<header><h1><a href=\"{up}index.html\">{_e(page.name)}</a></h1></header>\n"
        f"<main>\n{body}</main>\n"
        f"<footer>Updated <time datetime=\"{utc_iso(page.updated_at)}\">"
        f"{_when(page.updated_at)}</time> · <a href=\"{up}history.atom\">Atom feed</a> · "
        f"<a href=\"{up}summary.json\">summary.json</a></footer>\n</body>\n</html>\n"
    )


def _updates(inc: PageIncident) -> str:
    items = "".join(
        f"<li><span class=\"word\">{_e(u.status_word)}</span> · "
        f"<time datetime=\"{utc_iso(u.at)}\">{_when(u.at)}</time>"
        f"<p class=\"body\">{_e(u.body)}</p></li>\n" for u in inc.updates)
    return f"<ol class=\"updates\">\n{items}</ol>\n"


def _incident_card(inc: PageIncident, depth: int = 0, heading: str = "h3") -> str:
    link = f"{'../' * depth}{inc.path}"
    return (f"<article class=\"incident {inc.impact}\" id=\"{_e(inc.id)}\">\n"
            f"<{heading}><a href=\"{_e(link)}\">{_e(inc.name)}</a></{heading}>\n"
            f"<p class=\"meta\">{_e(inc.status_word)} · impact {_e(inc.impact)}</p>\n"
            f"{_updates(inc)}</article>\n")


def index_html(page: StatusPage) -> str:
    parts = [f"<p class=\"banner {page.indicator}\" role=\"status\">"
             f"{_e(page.description)}</p>\n"]
    if page.active:
        parts.append("<section aria-labelledby=\"active\"><h2 id=\"active\">Active "
                     "incidents</h2>\n")
        parts += [_incident_card(inc) for inc in page.active]
        parts.append("</section>\n")
    parts.append("<section aria-labelledby=\"components\"><h2 id=\"components\">Components"
                 "</h2>\n")
    grouped = {g.id: g for g in page.groups}
    shown: set[str] = set()
    items: list[str] = []
    for c in page.components:
        if c.group_id is not None:
            if c.group_id in shown:
                continue
            shown.add(c.group_id)
            g = grouped[c.group_id]
            members = [m for m in page.components if m.group_id == g.id]
            inner = "".join(_component(page, m) for m in members)
            items.append(f"<li><div class=\"row\"><strong>{_e(g.name)}</strong>"
                         f"<span class=\"state {g.status}\">{_e(STATE_LABELS[g.status])}"
                         f"</span></div>\n<ul class=\"components\">\n{inner}</ul></li>\n")
        else:
            items.append(_component(page, c))
    if items:
        parts.append(f"<ul class=\"components\">\n{''.join(items)}</ul>\n")
    else:
        parts.append("<p class=\"desc\">No services are configured.</p>\n")
    parts.append("</section>\n<section aria-labelledby=\"history\"><h2 id=\"history\">Past "
                 "incidents (90 days)</h2>\n")
    if page.history:
        parts += [_incident_card(inc) for inc in page.history]
    else:
        parts.append("<p class=\"desc\">No incidents reported in the last 90 days.</p>\n")
    parts.append("</section>\n")
    return _document(page.name, "".join(parts), page)


def _component(page: StatusPage, c: Any) -> str:
    desc = f"<div class=\"desc\">{_e(c.description)}</div>" if c.description else ""
    days = page.bars.get(c.id, ())
    bar = "".join(
        f"<span class=\"{d.status}\" title=\"{d.day.isoformat()}: "
        f"{_e(STATE_LABELS[d.status])}\"></span>" for d in days)
    bars = (f"<div class=\"bars\" role=\"img\" aria-label=\"{len(days)} days: "
            f"{sum(d.status != 'operational' for d in days)} with incidents\">{bar}</div>"
            if days else "")
    return (f"<li><div class=\"row\"><span>{_e(c.name)}</span>"
            f"<span class=\"state {c.status}\">{_e(c.status_label)}</span></div>"
            f"{desc}{bars}</li>\n")


def incident_html(page: StatusPage, inc: PageIncident) -> str:
    body = _incident_card(inc, depth=1, heading="h2")
    return _document(f"{inc.name} · {page.name}", body, page, depth=1)


# ---- JSON, in Atlassian Statuspage's /api/v2 shape --------------------------------------------


def _page_json(page: StatusPage) -> dict[str, Any]:
    return {"id": _slug(page.name), "name": page.name, "url": page.url or "",
            "time_zone": "Etc/UTC", "updated_at": utc_iso(page.updated_at)}


def _slug(text: str) -> str:
    out = "".join(c if c.isalnum() else "-" for c in text.lower()).strip("-")
    return out or "status"


def incident_json(page: StatusPage, inc: PageIncident) -> dict[str, Any]:
    page_id = _slug(page.name)
    return {
        "id": inc.id, "name": inc.name, "status": inc.status, "impact": inc.impact,
        "created_at": utc_iso(inc.created_at), "updated_at": utc_iso(inc.updated_at),
        "monitoring_at": next((utc_iso(u.at) for u in reversed(inc.updates)
                               if u.status == "monitoring"), None),
        "resolved_at": utc_iso(inc.resolved_at) if inc.resolved_at else None,
        "started_at": utc_iso(inc.started_at),
        "shortlink": page.link(inc.path), "page_id": page_id,
        "incident_updates": [{
            "id": u.id, "status": u.status, "body": u.body, "incident_id": inc.id,
            "created_at": utc_iso(u.at), "updated_at": utc_iso(u.at),
            "display_at": utc_iso(u.at),
        } for u in inc.updates],
        "components": [c for c in _components_json(page) if c["id"] in inc.components],
    }


def _components_json(page: StatusPage) -> list[dict[str, Any]]:
    page_id = _slug(page.name)
    out: list[dict[str, Any]] = []
    for c in page.components:
        out.append({"id": c.id, "name": c.name, "status": c.status,
                    "created_at": utc_iso(page.updated_at), "updated_at": utc_iso(c.updated_at),
                    "position": c.position, "description": c.description,
                    "showcase": True, "group_id": c.group_id, "page_id": page_id,
                    "group": False, "only_show_if_degraded": False})
    for g in page.groups:
        out.append({"id": g.id, "name": g.name, "status": g.status,
                    "created_at": utc_iso(page.updated_at),
                    "updated_at": utc_iso(page.updated_at), "position": len(page.components)
                    + g.position, "description": None, "showcase": False, "group_id": None,
                    "page_id": page_id, "group": True, "components": list(g.components),
                    "only_show_if_degraded": False})
    return out


def summary(page: StatusPage) -> dict[str, Any]:
    return {
        "page": _page_json(page),
        "status": {"indicator": page.indicator, "description": page.description},
        "components": _components_json(page),
        "incidents": [incident_json(page, i) for i in page.active],
        "scheduled_maintenances": [],
    }


def incidents(page: StatusPage) -> dict[str, Any]:
    return {"page": _page_json(page),
            "incidents": [incident_json(page, i) for i in page.incidents]}


def dumps(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# ---- Atom -----------------------------------------------------------------------------------

_ATOM = "http://www.w3.org/2005/Atom"


def _xml_text(text: str) -> str:
    """XML 1.0 cannot hold most control characters at all, escaped or not: drop them."""
    return "".join(c for c in text if c in "\t\n\r" or not (ord(c) < 32 or 0xD800 <= ord(c)
                                                            <= 0xDFFF or ord(c) in (0xFFFE,
                                                                                    0xFFFF)))


def atom(page: StatusPage) -> str:
    ET.register_namespace("", _ATOM)

    def el(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, f"{{{_ATOM}}}{tag}", attrs)
        if text is not None:
            node.text = _xml_text(text)
        return node

    feed = ET.Element(f"{{{_ATOM}}}feed")
    el(feed, "id", f"tag:warroom,2024:{_slug(page.name)}:history")
    el(feed, "title", f"{page.name}: incident history")
    el(feed, "updated", utc_iso(page.updated_at))
    el(feed, "link", rel="alternate", type="text/html", href=page.link("index.html"))
    el(feed, "link", rel="self", href=page.link("history.atom"))
    entries = sorted(((inc, u) for inc in page.incidents for u in inc.updates),
                     key=lambda p: p[1].at, reverse=True)[:ATOM_ENTRIES]
    for inc, u in entries:
        entry = el(feed, "entry")
        el(entry, "id", f"tag:warroom,2024:{_slug(page.name)}:{inc.id}:{u.id}")
        el(entry, "title", f"{inc.name}: {u.status_word}")
        el(entry, "updated", utc_iso(u.at))
        el(entry, "published", utc_iso(u.at))
        el(entry, "link", rel="alternate", type="text/html", href=page.link(inc.path))
        author = el(entry, "author")
        el(author, "name", page.name)
        el(entry, "content", u.body, type="text")
    return "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n" + ET.tostring(
        feed, encoding="unicode") + "\n"


def site(page: StatusPage) -> dict[str, bytes]:
    """Every file of the static site, by its path: what `statuspage build` writes and what
    /status/ serves."""
    files = {
        "index.html": index_html(page),
        "summary.json": dumps(summary(page)),
        "incidents.json": dumps(incidents(page)),
        "history.atom": atom(page),
    }
    for inc in page.incidents:
        files[inc.path] = incident_html(page, inc)
    return {path: text.encode("utf-8") for path, text in files.items()}
