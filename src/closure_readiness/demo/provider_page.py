"""The demo sign-in provider's pages, served with nothing from outside 127.0.0.1.

The provider (oidc-provider-mock, demo only) links its pages to a stylesheet on a public CDN, so
every demo sign-in would tell that CDN someone is signing in. `LocalPages` wraps its WSGI app:
any stylesheet link to another site is pointed at a few lines of our own CSS, served by the
provider itself, and every page says (Content-Security-Policy) that it loads nothing from
anywhere else, so a newer provider version that adds an outside link is blocked, not obeyed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.wrappers import Response

STYLE_PATH = "/_demo/sign-in.css"
POLICY = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"
"""Nothing leaves 127.0.0.1. (No form-action: signing in ends in a redirect to the app.)"""

STYLE = """\
:root { color-scheme: light; font: 100%/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; }
body { margin: 0; color: #1f2328; background: #ffffff; }
.container { max-width: 40rem; margin: 0 auto; padding: 2rem 1rem; }
h1 { font-size: 1.75rem; margin: 0 0 1rem; }
h2 { font-size: 1.25rem; margin: 2rem 0 0.75rem; }
code { font-size: 0.9em; background: #f3f4f6; padding: 0.1em 0.3em; border-radius: 4px; }
input[type="text"] {
  box-sizing: border-box; width: 100%; font: inherit; padding: 0.6rem 0.75rem;
  border: 2px solid #57606a; border-radius: 6px;
}
button {
  font: inherit; cursor: pointer; margin: 0 0.5rem 0.5rem 0; padding: 0.6rem 1.1rem;
  color: #ffffff; background: #1f5fad; border: 2px solid #1f5fad; border-radius: 6px;
}
button.outline { color: #1f5fad; background: #ffffff; }
button.secondary { color: #3d4651; border-color: #57606a; }
button.contrast { background: #3d4651; border-color: #3d4651; }
button:hover { text-decoration: underline; }
:focus-visible { outline: 3px solid #f2a900; outline-offset: 2px; }
[aria-invalid="true"] { border-color: #b42318; }
small { display: block; color: #b42318; }
"""

_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_OUTSIDE_HREF = re.compile(r"""(\bhref\s*=\s*)(["'])(?:https?:)?//[^"']*\2""", re.IGNORECASE)

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _local_link(match: re.Match[str]) -> str:
    tag = match.group()
    if not _OUTSIDE_HREF.search(tag):
        return tag
    if "stylesheet" not in tag.lower():
        return ""  # an icon or font from another site: the page does without it
    return _OUTSIDE_HREF.sub(rf"\1\2{STYLE_PATH}\2", tag)


def local_html(html: str) -> str:
    """The page with every stylesheet from another site replaced by the local one."""
    return _LINK.sub(_local_link, html)


class LocalPages:
    """WSGI middleware: the provider's pages with a local stylesheet and a same-site policy."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("PATH_INFO") == STYLE_PATH:
            response = Response(STYLE, mimetype="text/css")
            response.headers["Cache-Control"] = "no-store"
            return response(environ, start_response)
        response = Response.from_app(self.app, environ)
        if response.mimetype == "text/html":
            response.set_data(local_html(response.get_data(as_text=True)))
            response.headers["Content-Security-Policy"] = POLICY
        return response(environ, start_response)
