"""The `http-request` action kind: calls a URL (`url`, `method`) and records the answer.

Its patterns are published in the OpenAPI schema and validated with as they are: each is
written so that ECMA-262 (JSON Schema) and Python read it the same way, so the published
schema accepts a value if and only if the API does (a fuzzer checks both directions).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

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


# RFC 9110 token: a header name.
HEADER_NAME = "^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$"
# An expected status: a code, or a class such as "2xx".
STATUS_CLASS = "^[1-5][xX][xX]$"
Scalar = str | int | float | bool
HeaderName = Annotated[str, StringConstraints(pattern=HEADER_NAME)]
ExpectedStatus = Annotated[int, Field(ge=100, le=599)] | Annotated[
    str, StringConstraints(pattern=STATUS_CLASS)
]


class HttpRequestAction(ActionBase):
    """A stored `http-request` action; `method` is upper-case. Absent options are v1's."""

    type: Literal["http-request"] = "http-request"
    url: str
    method: str
    headers: dict[str, str] | None = None
    query: dict[str, Scalar] | None = None
    body: Any = None
    content_type: str | None = None
    timeout_s: float | None = None
    expect_status: list[int | str] | None = None
    follow_redirects: bool = True

    def expects(self, status: int) -> bool:
        """Whether an answer with `status` is a success (default: any status below 400)."""
        if not self.expect_status:
            return status < 400
        return any(
            status == want if isinstance(want, int) else str(status)[0] == want[0]
            for want in self.expect_status
        )


class HttpActionIn(ActionSpec):
    # An `http-request` action in a request body (no docstring: it would be published as
    # the schema's description).
    stored: ClassVar[type[ActionBase]] = HttpRequestAction

    type: Literal["http-request"]
    url: Annotated[str, StringConstraints(min_length=1, max_length=2048)] = Field(
        json_schema_extra={"pattern": URL}
    )
    method: Annotated[str, StringConstraints(min_length=1, max_length=10)] = Field(
        json_schema_extra={"pattern": METHOD}
    )

    headers: Annotated[
        dict[HeaderName, Annotated[str, StringConstraints(max_length=8192)]],
        Field(max_length=100, json_schema_extra={"additionalProperties": False}),
    ] | None = None
    query: dict[Annotated[str, StringConstraints(min_length=1, max_length=256)], Scalar] | None = (
        Field(default=None, max_length=100)
    )
    body: Any = Field(default=None, description="a JSON value sent as JSON, or a string sent "
                      "as is with content_type (default text/plain)")
    content_type: Annotated[str, StringConstraints(min_length=1, max_length=256)] | None = None
    timeout_s: float | None = Field(default=None, gt=0, description="at most HTTP_TIMEOUT_S")
    expect_status: list[ExpectedStatus] | None = Field(
        default=None, min_length=1, max_length=50,
        description='codes or classes ("2xx"); default: any status below 400',
    )
    follow_redirects: bool = True

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
        action = super().to_action(action_id)
        assert isinstance(action, HttpRequestAction)
        return action
