"""A small, escaping SVG writer for the report's own drawings.

Every piece of text that reaches the drawing goes through :func:`esc`; the
finished drawing is handed to the template as ``Markup``.
"""

from __future__ import annotations

from html import escape

from markupsafe import Markup

from reports.units import human  # noqa: F401  (re-exported for the drawings)

STAGE_COLOURS = {
    "plan": "#6b7280",
    "engage": "#2563eb",
    "design_transition": "#7c3aed",
    "obtain_build": "#0891b2",
    "deliver_support": "#059669",
    "improve": "#d97706",
}
WAIT = "#dc2626"
WORK = "#059669"
INK = "#1f2937"
MUTED = "#6b7280"


_CONTROLS = {c: "\ufffd" for c in (*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F)}


def esc(text: object) -> str:
    """Escape text for SVG and HTML, quotes included; a control character (which XML forbids) shows as �."""
    return escape(str(text).translate(_CONTROLS), quote=True)


class Svg:
    """Collects SVG elements; ``markup()`` returns the finished drawing."""

    def __init__(self, width: float, height: float, *, label: str, cls: str = "") -> None:
        self.width = width
        self.height = height
        self.label = label
        self.cls = cls
        self.parts: list[str] = []

    def add(self, element: str) -> None:
        self.parts.append(element)

    def rect(self, x: float, y: float, w: float, h: float, *, fill: str = "#fff", stroke: str = INK, rx: float = 4, width: float = 1, cls: str = "") -> None:
        c = f' class="{esc(cls)}"' if cls else ""
        self.add(f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rx}" fill="{fill}" stroke="{stroke}" stroke-width="{width}"{c}/>')

    def text(self, x: float, y: float, content: object, *, size: float = 12, anchor: str = "start", weight: str = "normal",
             fill: str = INK, title: str | None = None) -> None:
        tip = f"<title>{esc(title)}</title>" if title else ""
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" fill="{fill}">'
            f"{tip}{esc(content)}</text>"
        )

    def line(self, x1: float, y1: float, x2: float, y2: float, *, stroke: str = INK, width: float = 1, dash: str | None = None, marker: bool = False) -> None:
        d = f' stroke-dasharray="{dash}"' if dash else ""
        m = ' marker-end="url(#arrow)"' if marker else ""
        self.add(f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}" stroke-width="{width}"{d}{m}/>')

    def path(self, d: str, *, stroke: str = INK, width: float = 1, fill: str = "none", marker: bool = False, dash: str | None = None, title: str | None = None) -> None:
        m = ' marker-end="url(#arrow)"' if marker else ""
        da = f' stroke-dasharray="{dash}"' if dash else ""
        tip = f"<title>{esc(title)}</title>" if title else ""
        self.add(f'<path d="{d}" stroke="{stroke}" stroke-width="{width:.2f}" fill="{fill}"{m}{da}>{tip}</path>')

    def markup(self) -> Markup:
        defs = (
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse">'
            f'<path d="M0,0 L10,5 L0,10 z" fill="{MUTED}"/></marker></defs>'
        )
        cls = f' class="{esc(self.cls)}"' if self.cls else ""
        return Markup(
            f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{esc(self.label)}"{cls} '
            f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" width="{self.width:.0f}" height="{self.height:.0f}" '
            f'style="max-width: 100%; height: auto" '
            f'font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif">{defs}{"".join(self.parts)}</svg>'
        )


def short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
