"""The Typer application, its global options and the one-line error handling."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, ParamSpec, TypeVar

import httpx
import typer
from rich.console import Console

from wfa.client import DEFAULT_URL, Api
from wfa.errors import ApiError, CliError

P = ParamSpec("P")
R = TypeVar("R")

app = typer.Typer(
    name="wfa",
    help="Operate workflows_svc: apply definitions from files, trigger and follow runs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

JsonFlag = Annotated[bool, typer.Option("--json", help="Print JSON (for scripts).")]


@dataclass
class Env:
    """What every command needs: where the server is, how to print."""

    url: str
    api_key: str | None
    poll_s: float
    transport: httpx.BaseTransport | None = None
    out: Console = field(default_factory=lambda: console())

    @contextmanager
    def api(self) -> Iterator[Api]:
        api = Api(self.url, self.api_key, transport=self.transport)
        try:
            yield api
        finally:
            api.close()


def console() -> Console:
    """Standard output; a pipe gets wide lines (rich assumes 80 columns) so ids never fold."""
    out = Console()
    return out if out.is_terminal or os.environ.get("COLUMNS") else Console(width=200)


@app.callback()
def root(
    ctx: typer.Context,
    url: Annotated[str, typer.Option(
        "--url", envvar="WFA_URL", help="workflows_svc's base URL.", show_default=True,
    )] = DEFAULT_URL,
    api_key: Annotated[str | None, typer.Option(
        "--api-key", envvar="WFA_API_KEY", help="Sent as X-API-Key (the server's API_KEY).",
        show_default=False,
    )] = None,
    poll_s: Annotated[float, typer.Option(
        "--poll-interval", envvar="WFA_POLL_INTERVAL_S", min=0.0, hidden=True,
        help="Seconds between two polls of --wait and --follow.",
    )] = 0.5,
) -> None:
    """wfa: the workflow automation service from the command line."""
    # Tests hand an httpx transport in as the context object (`CliRunner.invoke(obj=...)`).
    transport = ctx.obj if isinstance(ctx.obj, httpx.BaseTransport) else None
    ctx.obj = Env(url=url, api_key=api_key or None, poll_s=poll_s, transport=transport)


def env_of(ctx: typer.Context) -> Env:
    env = ctx.find_object(Env)
    assert env is not None, "the root callback sets the Env"
    return env


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """A `CliError` ends the command with its one line on stderr and its exit status."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except CliError as exc:
            one_line = " ".join(exc.message.split())  # a server's text may hold newlines
            typer.echo(f"wfa: error: {one_line}", err=True)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def needs_route(feature: str, call: Callable[[], R]) -> R:
    """Run `call`; an older server without the route gets one line that says so."""
    try:
        return call()
    except ApiError as exc:
        if exc.route_missing:
            raise CliError(
                f"this server cannot {feature} yet: {exc.message.split(': ')[0]}; "
                "it needs a workflows_svc with the v2 lifecycle endpoints"
            ) from None
        raise
