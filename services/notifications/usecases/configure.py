"""Settings per location (and the chain's default), templates per type and locale, a client's opt-out."""

from __future__ import annotations

import asyncpg

from services.notifications import domain
from services.notifications.repository import Repository
from services.notifications.schemas import (
    NoticeTypeOut,
    OptOutIn,
    OptOutOut,
    SettingsIn,
    SettingsOut,
    TemplateIn,
    TemplateOut,
)
from shared.errors import Invalid, NotFound
from shared.paging import Page
from shared.uow import UnitOfWork

CHAIN_DEFAULT = ""  # the settings row every location without its own uses


def _settings_out(location_id: str | None, doc: dict[str, object] | None, source: str) -> SettingsOut:
    s = domain.settings_from_doc(doc)
    return SettingsOut(
        location_id=location_id,
        source=source,  # type: ignore[arg-type]
        time_zone=s.time_zone,
        send_window={"from": s.window.start.isoformat("minutes"), "to": s.window.end.isoformat("minutes")}
        if s.window
        else None,
        locale=s.locale,
        location_name=s.location_name,
        administrator={"name": s.administrator.name, "phone": s.administrator.phone}
        if (s.administrator.name or s.administrator.phone)
        else None,
        types=s.effective_channels(),
    )


async def save_settings(uow: UnitOfWork, chain_id: str, location_id: str | None, body: SettingsIn) -> SettingsOut:
    doc = body.doc()
    await Repository(uow.conn, chain_id).save_settings(location_id or CHAIN_DEFAULT, doc)
    return _settings_out(location_id, doc, "location" if location_id else "chain")


async def get_settings(conn: asyncpg.Connection, chain_id: str, location_id: str | None) -> SettingsOut:
    found = await Repository(conn, chain_id).get_settings(location_id or CHAIN_DEFAULT)
    if found is None:
        return _settings_out(location_id, None, "defaults")
    doc, row_location = found
    return _settings_out(location_id, doc, "location" if row_location else "chain")


def _kind(notice_type: str) -> domain.Kind:
    kind = domain.KINDS.get(notice_type)
    if kind is None:
        raise NotFound("unknown_notice_type", f"no notice type {notice_type!r}; types: {', '.join(domain.KINDS)}")
    return kind


async def save_template(uow: UnitOfWork, chain_id: str, notice_type: str, body: TemplateIn) -> TemplateOut:
    _kind(notice_type)
    problems = domain.template_problems(notice_type, body.text)
    if problems:
        raise Invalid("invalid_template", "; ".join(problems), field="text")
    await Repository(uow.conn, chain_id).save_template(notice_type, body.locale, body.text)
    preview = domain.preview(notice_type, body.text)
    segments = domain.count_segments(preview)
    return TemplateOut(
        type=notice_type,
        locale=body.locale,
        text=body.text,
        preview=preview,
        encoding=segments.encoding,
        segments=segments.count,
    )


async def delete_template(uow: UnitOfWork, chain_id: str, notice_type: str, locale: str) -> None:
    _kind(notice_type)
    if not await Repository(uow.conn, chain_id).delete_template(notice_type, locale):
        raise NotFound("no_template", f"the chain has no own {locale} text for {notice_type}")


async def list_templates(conn: asyncpg.Connection, chain_id: str, page: Page) -> list[NoticeTypeOut]:
    """Every notice type in the order of domain.KINDS, a page at a time (a few dozen types: one page)."""
    kinds = list(domain.KINDS.values())
    (after,) = page.after(str)
    start = 0 if after is None else next((n + 1 for n, k in enumerate(kinds) if k.type == after), -1)
    if start < 0:
        page.refuse()
    own: dict[str, dict[str, str]] = {}
    for notice_type, locale, text in await Repository(conn, chain_id).templates():
        own.setdefault(notice_type, {})[locale] = text
    return [
        NoticeTypeOut(
            type=k.type,
            audience=k.audience,
            description=k.description,
            placeholders=sorted(k.placeholders),
            default_text=k.template,
            texts=own.get(k.type, {}),
        )
        for k in page.cut(kinds[start : start + page.fetch], lambda k: (k.type,))
    ]


async def save_opt_out(uow: UnitOfWork, chain_id: str, client_id: str, body: OptOutIn) -> OptOutOut:
    await Repository(uow.conn, chain_id).save_opt_out(client_id, body.sms, body.chatbot)
    return OptOutOut(client_id=client_id, sms=body.sms, chatbot=body.chatbot)


async def get_opt_out(conn: asyncpg.Connection, chain_id: str, client_id: str) -> OptOutOut:
    sms, chatbot = await Repository(conn, chain_id).get_opt_out(client_id)
    return OptOutOut(client_id=client_id, sms=sms, chatbot=chatbot)
