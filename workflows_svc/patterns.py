"""Regular expressions the API validates with and publishes in its OpenAPI schema.

Each is written so that ECMA-262 (JSON Schema) and Python read it the same way, and the
request models validate with exactly these patterns: the published schema accepts a value
if and only if the API does (a fuzzer checks both directions). An action kind's patterns
live in its module (shared.actions.http_request).
"""

from __future__ import annotations

INTERVAL = "^[1-9][0-9]{0,9}[smh]$"

# A workflow id is its URL's path segment, so it may not contain `/` (the router splits on
# it, so `s/x` or `t/trigger` could never be read again); nor control characters. Anything
# else is kept (each percent-encoded in the URL as usual): every id reachable before.
WORKFLOW_ID = "^[^\\x00-\\x1f/]+$"


# A duration (shared.domain.durations): an integer and a unit. `after` must be longer than
# zero; `catchup_window` may be "0s" (never catch up).
DURATION = "^(0|[1-9][0-9]{0,9})(ms|s|m|h|d)$"
POSITIVE_DURATION = "^[1-9][0-9]{0,9}(ms|s|m|h|d)$"
# A declared input's name, as `${input.<name>}` reads it.
INPUT_NAME = "^[A-Za-z_][A-Za-z0-9_]{0,63}$"
