"""The dashboard's files: served from the package at /ui, open without the API key."""

from __future__ import annotations

import httpx
import pytest

from shared.web.limits import is_open
from workflows_svc.ui.routes import SERVED

KEY = "s3cret"
WITH_KEY = pytest.mark.parametrize("settings", [{"api_key": KEY}], indirect=True)


async def test_page_is_served_with_its_files(api: httpx.AsyncClient) -> None:
    page = await api.get("/ui")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert 'src="ui/static/main.js"' in page.text
    script = await api.get("/ui/static/main.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    css = await api.get("/ui/static/app.css")
    assert css.headers["content-type"].startswith("text/css")


async def test_every_module_the_page_imports_is_shipped() -> None:
    assert {"index.html", "app.css", "main.js", "api.js", "dom.js", "graph.js", "list.js",
            "ops.js", "workflow.js", "execution.js"} <= SERVED


@pytest.mark.parametrize("name", ["nope.js", "..%2Froutes.py", "__init__.py", "routes.py"])
async def test_only_shipped_files_are_served(api: httpx.AsyncClient, name: str) -> None:
    response = await api.get(f"/ui/static/{name}")
    assert response.status_code == 404
    assert response.json() == {"error": "Not Found"}


async def test_trailing_slash_redirects_to_the_page(api: httpx.AsyncClient) -> None:
    response = await api.get("/ui/")
    assert response.status_code == 308
    assert httpx.URL("http://test/ui/").join(response.headers["location"]).path == "/ui"


async def test_ui_is_not_in_the_openapi_schema(api: httpx.AsyncClient) -> None:
    paths = (await api.get("/openapi.json")).json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]


@WITH_KEY
async def test_ui_needs_no_key_but_the_api_still_does(api: httpx.AsyncClient) -> None:
    assert (await api.get("/ui")).status_code == 200
    assert (await api.get("/ui/static/api.js")).status_code == 200
    assert (await api.get("/workflows")).status_code == 401
    assert (await api.get("/workflows", headers={"X-API-Key": KEY})).status_code == 200


@pytest.mark.parametrize(
    ("path", "open_"),
    [("/ui", True), ("/ui/", True), ("/ui/static/main.js", True), ("/health", True),
     ("/uix", False), ("/ui-admin", False), ("/workflows", False), ("/workflows/ui", False)],
)
def test_open_paths(path: str, open_: bool) -> None:
    assert is_open(path) is open_
