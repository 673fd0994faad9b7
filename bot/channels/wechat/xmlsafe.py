"""XML from the network, checked before wechatpy (xmltodict) ever sees it.

WeChat never sends a DOCTYPE, so any document type or entity declaration is
refused outright: that stops external entities (XXE) and entity expansion
("billion laughs") without relying on the parser's defaults.
"""

from __future__ import annotations

from typing import NoReturn
from xml.parsers import expat

MAX_BODY_BYTES = 64 * 1024


class UnsafeXml(ValueError):
    """The body is not well-formed XML, or declares a DTD or entities."""


def _refuse(*_: object) -> NoReturn:
    raise UnsafeXml("DTD and entity declarations are not accepted")


def check_xml(body: bytes | str) -> str:
    """The body as text, if it is well-formed XML without DTD or entities; else ``UnsafeXml``."""
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    try:
        parser.Parse(body, True)
    except expat.ExpatError as exc:
        raise UnsafeXml(f"malformed XML: {exc}") from None
    text = body.decode("utf-8", errors="strict") if isinstance(body, bytes) else body
    return text
