"""Unit tests of the wfa CLI, against a fake of the REST API (httpx.MockTransport)."""
