"""Registers the Unicode TrueType fonts every PDF uses, once per process."""

from __future__ import annotations

import threading
from pathlib import Path

from reportlab.lib.fonts import addMapping
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

REGULAR = "DejaVuSans"
BOLD = "DejaVuSans-Bold"
DEBIAN_PACKAGE = "fonts-dejavu-core"
FONT_DIRS = (
    Path("/usr/share/fonts/truetype/dejavu"),  # Debian, Ubuntu
    Path("/usr/share/fonts/dejavu"),  # Fedora, Arch (dejavu-sans-fonts)
    Path("/usr/share/fonts/TTF"),  # Arch (ttf-dejavu)
    Path("/usr/local/share/fonts/dejavu"),
    Path("/usr/local/share/fonts"),
)
"""Standard places only: a font is never fetched, and never read from a user-writable path."""

_lock = threading.Lock()
_registered = False


def font_path(name: str, dirs: tuple[Path, ...] = FONT_DIRS) -> Path:
    """The first `<name>.ttf` in the standard font folders; a RuntimeError says what to install."""
    for folder in dirs:
        candidate = folder / f"{name}.ttf"
        if candidate.is_file():
            return candidate
    searched = ", ".join(str(folder) for folder in dirs)
    raise RuntimeError(
        f"The font {name}.ttf was not found (searched {searched}). PDFs need it to print names "
        f"in every language: install the Debian package {DEBIAN_PACKAGE} "
        f"(apt-get install {DEBIAN_PACKAGE})."
    )


def register_fonts() -> tuple[str, str]:
    """Register DejaVu Sans and its bold once; return the (regular, bold) font names.

    The family mapping makes <b> in our own markup use the bold face, and keeps <i> on a
    Unicode font rather than falling back to Helvetica.
    """
    global _registered
    with _lock:
        if not _registered:
            regular = TTFont(REGULAR, str(font_path(REGULAR)))
            bold = TTFont(BOLD, str(font_path(BOLD)))
            pdfmetrics.registerFont(regular)
            pdfmetrics.registerFont(bold)
            addMapping(REGULAR, 0, 0, REGULAR)
            addMapping(REGULAR, 1, 0, BOLD)
            addMapping(REGULAR, 0, 1, REGULAR)
            addMapping(REGULAR, 1, 1, BOLD)
            addMapping(BOLD, 0, 0, BOLD)
            addMapping(BOLD, 1, 0, BOLD)
            addMapping(BOLD, 0, 1, BOLD)
            addMapping(BOLD, 1, 1, BOLD)
            _registered = True
    return REGULAR, BOLD
