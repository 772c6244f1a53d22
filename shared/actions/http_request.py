"""The `http-request` action kind: calls a URL (`url`, `method`) and records the answer.

Its patterns are published in the OpenAPI schema and validated with as they are: each is
written so that ECMA-262 (JSON Schema) and Python read it the same way, so the published
schema accepts a value if and only if the API does (a fuzzer checks both directions).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, field_validator

from shared.actions.base import ActionBase, ActionSpec

HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")

# Any letter case: "get", "Patch" (stored upper-case).
METHOD = "^(?:" + "|".join(
    "".join(f"[{c}{c.lower()}]" for c in method) for method in HTTP_METHODS
) + ")$"


def _ipv6() -> str:
    """RFC 3986 `IPv6address` (what `ipaddress` accepts, minus zone ids)."""
    h16 = "[0-9A-Fa-f]{1,4}"
    octet = "(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    ls32 = f"(?:{h16}:{h16}|{octet}(?:\\.{octet}){{3}})"
    forms = [f"(?:{h16}:){{6}}{ls32}", f"::(?:{h16}:){{5}}{ls32}"]
    tails = [f"(?:{h16}:){{{4 - k}}}{ls32}" for k in range(5)] + [h16, ""]
    forms += [f"(?:(?:{h16}:){{0,{k}}}{h16})?::{tail}" for k, tail in enumerate(tails)]
    return "(?:" + "|".join(forms) + ")"


_SUB_DELIMS = "!$&'()*+,;="
_USERINFO = f"(?:[A-Za-z0-9._~%{_SUB_DELIMS}:-]*@)?"
_HOST = f"(?:[A-Za-z0-9._~%{_SUB_DELIMS}-]+|\\[{_ipv6()}\\])"
# An absolute http(s) URL in printable ASCII (IDN hosts as punycode): scheme, optional
# userinfo, a non-empty host, optional port, then path, query and fragment.
URL = f"^[Hh][Tt][Tt][Pp][Ss]?://{_USERINFO}{_HOST}(?::[0-9]{{1,5}})?(?:[/?#][!-~]*)?$"


class HttpRequestAction(ActionBase):
    """A stored `http-request` action; `method` is upper-case."""

    type: Literal["http-request"] = "http-request"
    url: str
    method: str


class HttpActionIn(ActionSpec):
    # An `http-request` action in a request body (no docstring: it would be published as
    # the schema's description).

    type: Literal["http-request"]
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        json_schema_extra={"pattern": URL}
    )
    method: Annotated[str, StringConstraints(min_length=1, max_length=10)] = Field(
        json_schema_extra={"pattern": METHOD}
    )

    @field_validator("url")
    @classmethod
    def _absolute_http_url(cls, url: str) -> str:
        if not re.fullmatch(URL, url):
            raise ValueError("url must be an absolute http(s) URL in printable ASCII")
        return url

    @field_validator("method")
    @classmethod
    def _known_method(cls, method: str) -> str:
        if not re.fullmatch(METHOD, method):
            raise ValueError(f"method must be one of {', '.join(HTTP_METHODS)}")
        return method.upper()

    def to_action(self, action_id: int) -> HttpRequestAction:
        """The stored action."""
        return HttpRequestAction(action_id=action_id, url=self.url, method=self.method)
