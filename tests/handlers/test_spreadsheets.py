"""Spreadsheet import (CSV and XLSX, with bad rows) and the export round trip."""

from __future__ import annotations

from datetime import timedelta

import pytest
from openpyxl import Workbook
from support import FIXED_NOW

from bot.sheets import read_rows, write_rows
from config.catalog import default_catalog
from config.settings import Settings
from handlers.orders import OrderEvents
from handlers.spreadsheets import EXPORT_COLUMNS, export_contacts, import_contacts, import_orders
from storage import contacts, orders
from storage.contacts import TagSource
from storage.orders import OrderChange, OrderItem, OrderStatus

TZ = Settings().tz
ORDER_ROWS = [
    ["id", "contact", "status", "sku", "qty", "price", "carrier", "tracking_no", "placed_at"],
    ["A1", "wechat:oA", "paid", "tea-250g", 2, None, None, None, "2026-10-01 12:00"],
    ["A1", "wechat:oA", "paid", "coffee-1kg", 1, None, None, None, None],
    ["A2", "telegram:5", "shipped", "teapot", 1, 280, "SF", "SF1", "2026-11-01"],
    ["A3", "telegram:5", "flying", "teapot", 1, None, None, None, None],
    ["A4", "telegram:6", "paid", "tea-250g", 1, None, None, None, None],
    ["A4", "telegram:6", "paid", "unknown-sku", 1, None, None, None, None],
    [None, "telegram:7", "paid", "tea-250g", 1, None, None, None, None],
    [None, None, None, None, None, None, None, None, None],
]


def _write_csv(path, rows):
    write_rows(path, rows[0], [dict(zip(rows[0], row, strict=True)) for row in rows[1:]])


def _write_xlsx(path, rows):
    workbook = Workbook()
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)


@pytest.mark.parametrize(("suffix", "write"), [(".csv", _write_csv), (".xlsx", _write_xlsx)])
async def test_import_orders_reports_bad_rows_and_imports_the_rest(redis, tmp_path, suffix, write):
    path = tmp_path / f"orders{suffix}"
    write(path, ORDER_ROWS)
    events, seen, progress = OrderEvents(), [], []

    async def listen(event):
        seen.append((event.order.id, event.source))

    events.subscribe(listen)
    report = await import_orders(
        redis,
        read_rows(path),
        now=FIXED_NOW,
        catalog=default_catalog(),
        language="en",
        tz=TZ,
        listeners=events,
        progress=progress.append,
    )
    assert [(e.row, e.field) for e in report.errors] == [
        (8, "id"),
        (5, "status"),
        (7, "items[1].price"),
    ]
    assert (report.imported, report.unchanged) == (2, 0)
    assert sum(progress) == 6, "every row with an id is counted once"
    a1 = await orders.get(redis, "A1")
    assert [i.sku for i in a1.items] == ["tea-250g", "coffee-1kg"] and a1.amount == 246.0
    assert a1.placed_at.astimezone(TZ).isoformat() == "2026-10-01T12:00:00+08:00"
    assert (await orders.get(redis, "A2")).tracking_no == "SF1"
    assert await orders.get(redis, "A4") is None, "an order with a bad line is not half-imported"
    assert sorted(seen) == [("A1", "import"), ("A2", "import")]

    again = await import_orders(
        redis, read_rows(path), now=FIXED_NOW, catalog=default_catalog(), language="en", tz=TZ
    )
    assert (again.imported, again.unchanged) == (0, 2)


async def test_import_contacts_reports_a_bad_row(redis, tmp_path):
    path = tmp_path / "contacts.xlsx"
    _write_xlsx(
        path,
        [
            ["联系人", "姓名", "手机", "地址", "来源", "标签", "备注"],
            ["wechat:oB", "王芳", 13800000000, "杭州", "douyin", "VIP，回头客", "爱喝绿茶"],
            ["not a ref", "x", None, None, None, None, None],
        ],
    )
    report = await import_contacts(redis, read_rows(path), now=FIXED_NOW)
    assert [(e.row, e.field) for e in report.errors] == [(3, "contact")]
    contact = await contacts.get(redis, "wechat:oB")
    assert (contact.display_name, contact.phone, contact.address, contact.source) == (
        "王芳",
        "13800000000",
        "杭州",
        "douyin",
    )
    assert set(await contacts.tags_of(redis, "wechat:oB")) == {"VIP", "回头客"}
    assert [n.text for n in await contacts.notes_of(redis, "wechat:oB")] == ["爱喝绿茶"]


async def _archive(redis):
    return [row async for row in export_contacts(redis, TZ)]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
async def test_export_round_trip(redis, tmp_path, suffix):
    await contacts.touch(redis, "wechat:oA", FIXED_NOW - timedelta(days=9), display_name="Amy")
    await contacts.update(
        redis, "wechat:oA", {"phone": "+86 138", "address": "上海; 1号", "source": "ad"}
    )
    await contacts.add_tags(redis, "wechat:oA", ["VIP", "茶"], TagSource.OWNER, FIXED_NOW)
    await contacts.add_note(redis, "wechat:oA", "telegram:1", "likes green tea", FIXED_NOW)
    await contacts.add_note(redis, "wechat:oA", "telegram:1", "call after 6", FIXED_NOW)
    await contacts.touch(redis, "telegram:5", FIXED_NOW, language="en")
    tea = OrderItem("tea-250g", "Tea", 1, 59.0)
    await orders.apply(redis, OrderChange("A1", "wechat:oA", OrderStatus.PAID, (tea,)), FIXED_NOW)
    exported = await _archive(redis)
    assert exported[0]["products"] == "Tea" and exported[0]["spend"] == 59.0
    path = tmp_path / f"archive{suffix}"
    assert write_rows(path, EXPORT_COLUMNS, exported) == 2

    await redis.flushdb()
    report = await import_contacts(redis, read_rows(path), now=FIXED_NOW)
    assert report.errors == [] and report.imported == 2
    contact_columns = ("contact", "name", "channel", "phone", "source", "language", "tags", "notes")
    again = await _archive(redis)

    def contact_part(rows):
        return sorted(({c: r[c] for c in contact_columns} for r in rows), key=str)

    assert contact_part(again) == contact_part(exported)
    assert {r["address"] for r in again} == {"上海; 1号", ""}
    assert (await import_contacts(redis, read_rows(path), now=FIXED_NOW)).imported == 0
