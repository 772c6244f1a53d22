"""The web dashboard: static HTML, CSS and plain JS served at /ui, calling the public API."""

from workflows_svc.ui.routes import router

__all__ = ["router"]
