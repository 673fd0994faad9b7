"""Orders and contacts from spreadsheet rows, and the customer archive back out.

Rows are mappings of column name to cell value (:mod:`bot.sheets` reads the
files). Orders go through :func:`handlers.orders.record_order`, one order per
id: several rows with the same id are the lines of one order. A bad row is
reported with its row number and the field, and the rest are imported.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from redis.asyncio import Redis

from bot.messages import ContactRef
from config.catalog import Catalog
from config.i18n import normalize_language
from config.settings import DEFAULT_TZ
from handlers.orders import record_order
from schedules import birthday
from storage import contacts, orders
from storage.contacts import TagSource
from storage.orders import OrderError, OrderListener

Row = Mapping[str, Any]
NumberedRow = tuple[int, Row]
Progress = Callable[[int], None]

ORDER_COLUMNS: dict[str, str] = {
    "id": "id", "order": "id", "order_id": "id", "订单号": "id",
    "contact": "contact", "联系人": "contact", "客户": "contact",
    "status": "status", "状态": "status",
    "sku": "sku", "name": "name", "product": "name", "商品": "name", "商品名": "name",
    "qty": "qty", "quantity": "qty", "数量": "qty",
    "price": "price", "单价": "price",
    "amount": "amount", "金额": "amount",
    "carrier": "carrier", "快递": "carrier", "快递公司": "carrier",
    "tracking_no": "tracking_no", "tracking": "tracking_no", "运单号": "tracking_no",
    "placed_at": "placed_at", "date": "placed_at", "下单时间": "placed_at",
}  # fmt: skip
CONTACT_COLUMNS: dict[str, str] = {
    "contact": "contact", "联系人": "contact",
    "name": "name", "姓名": "name", "昵称": "name",
    "phone": "phone", "电话": "phone", "手机": "phone",
    "address": "address", "地址": "address",
    "source": "source", "来源": "source",
    "language": "language", "语言": "language",
    "tags": "tags", "标签": "tags",
    "notes": "notes", "备注": "notes",
    "birthday": "birthday", "生日": "birthday",
}  # fmt: skip
ORDER_FIELDS = ("id", "contact", "status", "amount", "carrier", "tracking_no", "placed_at")
ITEM_FIELDS = ("sku", "name", "qty", "price")
EXPORT_COLUMNS = (
    "contact", "short_id", "name", "channel", "phone", "address", "source", "language",
    "birthday", "first_purchase", "last_purchase", "products", "orders", "spend", "tags", "notes",
    "first_seen", "last_seen",
)  # fmt: skip
LIST_SEPARATOR = "; "
_TAG_SPLIT = re.compile(r"[;,；，]")
_NOTE_SPLIT = re.compile(r"[;；]")
_ITEM_INDEX = re.compile(r"^items\[(\d+)\]")
EXPORT_BATCH = 500


@dataclass(frozen=True, slots=True)
class RowError:
    """Why one row was not imported."""

    row: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}: {self.field}: {self.message}"


@dataclass
class ImportReport:
    """What an import did."""

    imported: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def _columns(row: Row, names: Mapping[str, str]) -> dict[str, Any]:
    """The row with its columns renamed to ours; unknown columns are ignored."""
    renamed: dict[str, Any] = {}
    for column, value in row.items():
        ours = names.get(column.strip().lower())
        if ours and value is not None and str(value).strip() != "":
            renamed[ours] = value.strip() if isinstance(value, str) else value
    return renamed


async def import_orders(
    redis: Redis,
    rows: Iterable[NumberedRow],
    *,
    now: datetime,
    catalog: Catalog,
    language: str,
    tz: ZoneInfo,
    listeners: Iterable[OrderListener] = (),
    progress: Progress = lambda done: None,
) -> ImportReport:
    """Record every order in ``rows`` (one row per order line)."""
    report = ImportReport()
    for group in _group_by_order(rows, report):
        body = _order_body(group)
        try:
            recorded = await record_order(
                redis,
                body,
                now=now,
                catalog=catalog,
                language=language,
                tz=tz,
                source="import",
                listeners=listeners,
            )
        except OrderError as exc:
            report.errors.append(RowError(_row_of(exc.field, group), exc.field, exc.message))
        else:
            report.imported += recorded.changed
            report.unchanged += not recorded.changed
        progress(len(group))
    return report


def _group_by_order(rows: Iterable[NumberedRow], report: ImportReport) -> list[list[NumberedRow]]:
    groups: dict[str, list[NumberedRow]] = {}
    for number, raw in rows:
        row = _columns(raw, ORDER_COLUMNS)
        if "id" not in row:
            report.errors.append(RowError(number, "id", "required"))
            continue
        groups.setdefault(str(row["id"]), []).append((number, row))
    return list(groups.values())


def _order_body(group: list[NumberedRow]) -> dict[str, Any]:
    first = group[0][1]
    body = {name: first[name] for name in ORDER_FIELDS if name in first}
    items = [{k: row[k] for k in ITEM_FIELDS if k in row} for _, row in group]
    if any(items):
        body["items"] = items
    return body


def _row_of(field_name: str, group: list[NumberedRow]) -> int:
    """The spreadsheet row an error is about: an item's own row, else the order's first."""
    item = _ITEM_INDEX.match(field_name)
    return group[int(item[1])][0] if item else group[0][0]


async def import_contacts(
    redis: Redis,
    rows: Iterable[NumberedRow],
    *,
    now: datetime,
    author: str = "import",
    progress: Progress = lambda done: None,
    tz: ZoneInfo = DEFAULT_TZ,
) -> ImportReport:
    """Create or update contacts: name, phone, address, source, language, tags, notes,
    birthday (which schedules the birthday greeting). A row with a bad contact or
    birthday is reported and left out whole."""
    report = ImportReport()
    for number, raw in rows:
        row = _columns(raw, CONTACT_COLUMNS)
        try:
            contact_id = ContactRef.parse(str(row.get("contact", ""))).id
        except ValueError:
            report.errors.append(RowError(number, "contact", "must be channel:id"))
            progress(1)
            continue
        try:
            born = _birthday(row.get("birthday"))
        except ValueError as exc:
            report.errors.append(RowError(number, "birthday", str(exc)))
        else:
            changed = await _import_contact(redis, contact_id, row, now, author)
            if born and born != await _stored_birthday(redis, contact_id):
                await birthday.record_birthday(redis, contact_id, born, now, tz)
                changed = True
            report.imported += changed
            report.unchanged += not changed
        progress(1)
    return report


async def _stored_birthday(redis: Redis, contact_id: str) -> str | None:
    contact = await contacts.get(redis, contact_id)
    return contact.birthday if contact else None


def _birthday(value: Any) -> str | None:
    """``MM-DD`` from a cell (text, or a spreadsheet date); None when empty."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date | datetime):
        return f"{value.month:02d}-{value.day:02d}"
    return birthday.parse_birthday(str(value))


async def _import_contact(
    redis: Redis, contact_id: str, row: Mapping[str, Any], now: datetime, author: str
) -> bool:
    before = await _snapshot(redis, contact_id)
    await contacts.ensure(redis, contact_id, now)
    fields = {name: str(row[name]) for name in ("phone", "address", "source") if name in row}
    if "name" in row:
        fields["display_name"] = str(row["name"])
    language = normalize_language(str(row.get("language", "")))
    if language:
        fields["language"] = language
    if fields:
        await contacts.update(redis, contact_id, fields)
    tags = [t.strip() for t in _TAG_SPLIT.split(str(row.get("tags", ""))) if t.strip()]
    await contacts.add_tags(redis, contact_id, tags, TagSource.OWNER, now)
    known = {note.text for note in await contacts.notes_of(redis, contact_id)}
    for text in _NOTE_SPLIT.split(str(row.get("notes", ""))):
        if text.strip() and text.strip() not in known:
            await contacts.add_note(redis, contact_id, author, text.strip(), now)
            known.add(text.strip())
    return await _snapshot(redis, contact_id) != before


async def _snapshot(redis: Redis, contact_id: str) -> tuple[Any, ...]:
    return (
        await contacts.get(redis, contact_id),
        tuple(await contacts.tags_of(redis, contact_id)),
        len(await contacts.notes_of(redis, contact_id)),
    )


async def export_contacts(redis: Redis, tz: ZoneInfo) -> AsyncIterator[dict[str, Any]]:
    """The customer archive, one row per contact (in the order they first appeared)."""
    start = 0
    while ids := await contacts.ids_by_first_seen(redis, start, EXPORT_BATCH):
        for contact_id in ids:
            row = await _export_row(redis, contact_id, tz)
            if row is not None:
                yield row
        start += EXPORT_BATCH


async def _export_row(redis: Redis, contact_id: str, tz: ZoneInfo) -> dict[str, Any] | None:
    contact = await contacts.get(redis, contact_id)
    if contact is None:
        return None
    summary = await orders.purchase_summary(redis, contact_id)
    bought = [o for o in await orders.orders_of(redis, contact_id) if o.counted]
    products = dict.fromkeys(item.name for o in reversed(bought) for item in o.items)

    def local(moment: datetime | None) -> str:
        return moment.astimezone(tz).isoformat(timespec="seconds") if moment else ""

    return {
        "contact": contact.id,
        "short_id": contact.short_id,
        "name": contact.display_name or "",
        "channel": contact.channel,
        "phone": contact.phone or "",
        "address": contact.address or "",
        "source": contact.source or "",
        "language": contact.language or "",
        "birthday": contact.birthday or "",
        "first_purchase": local(summary.first),
        "last_purchase": local(summary.last),
        "products": LIST_SEPARATOR.join(products),
        "orders": summary.orders,
        "spend": summary.spend,
        "tags": LIST_SEPARATOR.join(await contacts.tags_of(redis, contact_id)),
        "notes": LIST_SEPARATOR.join(n.text for n in await contacts.notes_of(redis, contact_id)),
        "first_seen": local(contact.first_seen),
        "last_seen": local(contact.last_seen),
    }
