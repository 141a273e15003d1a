"""Open311's two formats: the same answer as JSON or as XML, chosen by the path's suffix.

XML follows the spec's examples: a list is an element of its own, each item
named for what it holds (``<service_requests><request>…``), booleans are
``true``/``false`` and an empty value is an empty element.
"""

from __future__ import annotations

import json
from typing import Any
from xml.etree import ElementTree

from aiohttp import web

FORMATS = {".json": "application/json", ".xml": "text/xml"}
# What the items of a list inside an answer are called in XML.
ITEMS = {"attributes": "attribute", "values": "value", "endpoints": "endpoint", "formats": "format"}


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, dict):
        for name, inner in value.items():
            _fill(ElementTree.SubElement(element, name), inner)
    elif isinstance(value, list):
        for inner in value:
            _fill(ElementTree.SubElement(element, ITEMS[element.tag]), inner)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def xml(root: str, item: str | None, answer: Any) -> bytes:
    """``answer`` as an XML document under ``root``; a list's items are each an ``item``."""
    element = ElementTree.Element(root)
    if isinstance(answer, list):
        for inner in answer:
            _fill(ElementTree.SubElement(element, item or root), inner)
    else:
        _fill(element, answer)
    return ElementTree.tostring(element, encoding="UTF-8", xml_declaration=True)


def respond(
    suffix: str, answer: Any, root: str, item: str | None = None, status: int = 200
) -> web.Response:
    """The answer in the format the suffix names (one of ``FORMATS``)."""
    if suffix == ".xml":
        body = xml(root, item, answer)
    else:
        body = json.dumps(answer, ensure_ascii=False).encode()
    return web.Response(body=body, status=status, content_type=FORMATS[suffix], charset="utf-8")
