"""Regular expressions the API validates with and publishes in its OpenAPI schema.

Each is written so that ECMA-262 (JSON Schema) and Python read it the same way, and the
request models validate with exactly these patterns: the published schema accepts a value
if and only if the API does (a fuzzer checks both directions).
"""

from __future__ import annotations

HTTP_METHODS = ("GET", "PUT", "POST", "DELETE", "PATCH")

# Any letter case: "get", "Patch" (stored upper-case).
METHOD = "^(?:" + "|".join(
    "".join(f"[{c}{c.lower()}]" for c in method) for method in HTTP_METHODS
) + ")$"

INTERVAL = "^[1-9][0-9]{0,9}[smh]$"

# A workflow id is its URL's path segment, so it may not contain `/` (the router splits on
# it, so `s/x` or `t/trigger` could never be read again); nor control characters. Anything
# else is kept (each percent-encoded in the URL as usual): every id reachable before.
WORKFLOW_ID = "^[^\\x00-\\x1f/]+$"


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
