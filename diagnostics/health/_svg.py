"""The SVG Tiny Portable/Secure rules of a BIMI logo that receivers enforce, checked on the bytes.

    svg_problems(data) -> list[str]    plain sentences; empty when the logo passes

Parsed with defusedxml: a DTD, an entity or an external reference in the XML itself is refused
(and reported) rather than expanded. The rules checked are those that make Gmail, Apple Mail and
Yahoo drop a logo: the tiny-ps profile and version 1.2, a <title>, a square viewBox, no x= or y= on
the root, no scripts or event handlers, no animation, no raster or foreign content, and no
reference outside the file. Not checked: colours, the logo's design, or the size of the artwork
inside the viewBox (the receivers' own tools judge those).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

__all__ = ["svg_problems"]

_SVG = "{http://www.w3.org/2000/svg}"
_XLINK = "{http://www.w3.org/1999/xlink}"
_FORBIDDEN = {
    "script": "a script",
    "foreignObject": "foreign (non-SVG) content",
    "image": "an embedded or linked image",
    "animate": "animation",
    "animateMotion": "animation",
    "animateTransform": "animation",
    "animateColor": "animation",
    "set": "animation",
    "video": "video",
    "audio": "audio",
    "iframe": "an iframe",
}


def _local(tag: object) -> str:
    text = str(tag)
    return text.split("}", 1)[1] if text.startswith("{") else text


def svg_problems(data: bytes) -> list[str]:
    """What keeps `data` from being a BIMI logo (SVG Tiny PS), as sentences."""
    try:
        root = fromstring(data)
    except DefusedXmlException:
        return ["the file uses a DTD or entities, which SVG Tiny PS forbids"]
    except ET.ParseError as exc:
        return [f"the file is not well-formed XML ({exc})"]
    if root.tag != f"{_SVG}svg":
        return ["the file is not an SVG image (its root element is not <svg> in the SVG namespace)"]
    problems: list[str] = []
    if root.get("baseProfile") != "tiny-ps":
        problems.append('the <svg> element needs baseProfile="tiny-ps"')
    if root.get("version") != "1.2":
        problems.append('the <svg> element needs version="1.2"')
    if root.get("x") is not None or root.get("y") is not None:
        problems.append("the <svg> element must not have x= or y= attributes")
    title = root.find(f"{_SVG}title")
    if title is None or not (title.text or "").strip():
        problems.append("the logo needs a <title> (the brand's name) right inside <svg>")
    problems.extend(_view_box(root.get("viewBox")))
    seen: set[str] = set()
    for element in root.iter():
        name = _local(element.tag)
        what = _FORBIDDEN.get(name)
        if what and what not in seen:
            seen.add(what)
            problems.append(f"the logo contains {what} (<{name}>), which SVG Tiny PS forbids")
        for attribute, value in element.attrib.items():
            local = _local(attribute).lower()
            if local.startswith("on") and "event handlers" not in seen:
                seen.add("event handlers")
                problems.append(f"the logo has an event handler ({local}=), a script in effect")
            reference = attribute in ("href", f"{_XLINK}href") and not value.startswith("#")
            linked = "url(" in value and "url(#" not in value.replace(" ", "")
            if (reference or linked) and "external" not in seen:
                seen.add("external")
                problems.append(
                    f"the logo refers to something outside the file ({value[:80]!r}); "
                    "everything must be inside it"
                )
    return problems


def _view_box(text: str | None) -> list[str]:
    if not text:
        return ["the <svg> element needs a viewBox (a square one, e.g. 0 0 100 100)"]
    try:
        _, _, width, height = (float(v) for v in text.replace(",", " ").split())
    except ValueError:
        return [f"the viewBox {text!r} is not four numbers"]
    if width <= 0 or width != height:
        return [f"the viewBox {text!r} is not square; BIMI logos must be"]
    return []
