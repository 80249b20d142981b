"""``hcl.Parse``: pick the HCL or the JSON parser by the first character that is not a space."""

from __future__ import annotations

from outrider.hcl1.ast import ObjectList
from outrider.hcl1.json_parser import parse_json
from outrider.hcl1.parser import parse_hcl


def parse(text: str) -> ObjectList:
    """The document's root object list; raises :class:`~outrider.hcl1.errors.HCLError`.

    A document whose first non-space character is ``{`` is JSON (``lexMode``).
    """
    src = text.encode("utf-8", "surrogatepass")
    if text.lstrip()[:1] == "{":
        return parse_json(src)
    return parse_hcl(src)
