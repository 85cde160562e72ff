"""Data of a map's layers written into the page after the templates are rendered.

Branca renders each layer's script with Jinja, then compiles what it wrote as a *second*
Jinja template.  A layer that wrote its data (tens of thousands of structures, hundreds of
commune outlines) into its script therefore had Jinja's lexer read megabytes of JSON: for
the Nord's structures map, 0.22 s of its 0.29 s of rendering, at each map built.  And data
text inside a template is a template-injection risk (see ``map_layers.escape``).

Here a layer's template writes a token in place of its data (:meth:`CarriesData.payload`);
:func:`render_page` renders the page, then replaces each token with the data as JSON, in
one pass over the page: the JSON is never read by Jinja, nor searched for tokens again.
The JSON is escaped for an HTML ``<script>`` exactly like Jinja's ``tojson`` (``<`` ``>``
``&`` ``'`` as ``\\u`` escapes), with compact separators.
"""

from __future__ import annotations

import json
import re

from branca.element import Element

__all__ = ["CarriesData", "render_page", "script_json"]

_TOKEN = re.compile(r"__donnees_[0-9a-z_]+__")


def script_json(value: object) -> str:
    """``value`` as JSON safe inside an HTML ``<script>`` (same escapes as Jinja's
    ``tojson``, compact separators)."""
    text = json.dumps(value, separators=(",", ":"))
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("'", "\\u0027"))


class CarriesData:
    """Mixin of a folium element whose template writes ``{{ this.payload("rows") }}`` where
    its data go (``rows`` being the name of the attribute that holds them)."""

    def payload(self, attribute: str) -> str:
        token = f"__donnees_{self.get_name()}_{attribute}__"
        self._payloads = {**getattr(self, "_payloads", {}), token: attribute}
        return token

    def payload_json(self, token: str) -> str:
        return script_json(getattr(self, self._payloads[token]))


def _carriers(element: Element):
    stack = [element]
    while stack:
        current = stack.pop()
        if isinstance(current, CarriesData):
            yield current
        stack.extend(getattr(current, "_children", {}).values())


def render_page(element: Element) -> str:
    """The complete HTML page of ``element``'s root with every layer's data in place."""
    root = element.get_root()
    page = root.render()
    owners = {token: layer for layer in _carriers(root)
              for token in getattr(layer, "_payloads", {})}
    # a token that no layer wrote (a text of the data shaped like one) stays as it is
    return _TOKEN.sub(lambda m: owners[m.group(0)].payload_json(m.group(0))
                      if m.group(0) in owners else m.group(0), page)
