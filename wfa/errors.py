"""The CLI's failures, each rendered as one line, and its exit statuses."""

from __future__ import annotations

import httpx

EXIT_OK = 0
EXIT_FAILED = 1  # an execution ended failed or cancelled; apply left something undone
EXIT_USAGE = 2  # click's own status for a bad command line
EXIT_REQUEST = 3  # the server could not be reached or refused the request
EXIT_TIMEOUT = 4  # --wait gave up before the execution ended


class CliError(Exception):
    """A failure the user reads as one line; `exit_code` is the process's status."""

    def __init__(self, message: str, exit_code: int = EXIT_REQUEST) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ApiError(CliError):
    """The server answered with an error status."""

    def __init__(self, message: str, status_code: int, body: dict[str, object]) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.body = body

    @property
    def route_missing(self) -> bool:
        """True when the server has no such route (older server), not no such resource."""
        return self.status_code == 405 or (
            self.status_code == 404 and self.body.get("error") in ("Not Found", None)
        )


def error_body(response: httpx.Response) -> dict[str, object]:
    try:
        body = response.json()
    except ValueError:
        return {"error": response.text.strip()[:200] or None}
    return body if isinstance(body, dict) else {"error": str(body)[:200]}


def api_error(response: httpx.Response, *, has_key: bool) -> ApiError:
    """The one line that explains an error answer."""
    body = error_body(response)
    code = response.status_code
    reason = str(body.get("error") or body.get("detail") or response.reason_phrase)
    where = f"{response.request.method} {response.request.url.path}"
    if code == 401:
        hint = "WFA_API_KEY was rejected" if has_key else "set WFA_API_KEY to the server's API_KEY"
        message = f"401 unauthorized ({where}): {reason}; {hint}"
    elif code == 404:
        message = f"404 not found ({where}): {reason}"
    elif code == 409:
        extra = "".join(
            f", {key}: {body[key]}" for key in ("status", "nextRetryAt") if body.get(key)
        )
        message = f"409 conflict ({where}): {reason}{extra}"
    elif code == 429:
        after = response.headers.get("retry-after")
        suffix = f"; retry after {after} s" if after else ""
        message = f"429 too many requests ({where}): {reason}{suffix}"
    else:
        message = f"{code} {response.reason_phrase.lower()} ({where}): {reason}"
    return ApiError(message, code, body)


def transport_error(exc: httpx.TransportError, base_url: str) -> CliError:
    """A refused connection, DNS failure or timeout, named with the URL tried."""
    if isinstance(exc, httpx.TimeoutException):
        what = "timed out"
    elif isinstance(exc, httpx.ConnectError):
        what = f"connection failed ({exc or 'refused'})"
    else:
        what = f"{type(exc).__name__}: {exc}"
    return CliError(f"cannot reach the server at {base_url} (WFA_URL): {what}")
