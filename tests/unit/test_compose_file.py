"""docker-compose.yaml and the Dockerfiles hang together (no Docker engine needed)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
SERVICES = {"workflows-svc": 8081, "scheduler-svc": 8082, "runner-svc": 8083}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_services_present(compose: dict[str, Any]) -> None:
    assert {"mongo", "kafka", *SERVICES} <= set(compose["services"])
    assert compose["services"]["mongo"]["image"].startswith("mongo:")
    kafka_image = compose["services"]["kafka"]["image"]
    assert re.fullmatch(r"apache/kafka:4\.\d+\.\d+", kafka_image), kafka_image


def test_every_service_builds_its_own_stage_of_the_one_dockerfile(
    compose: dict[str, Any],
) -> None:
    builds = {name: svc["build"] for name, svc in compose["services"].items() if "build" in svc}
    assert set(builds) == set(SERVICES)
    text = (ROOT / "Dockerfile").read_text()
    for name, build in builds.items():
        dockerfile = ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
        assert dockerfile == ROOT / "Dockerfile", name
        module = name.replace("-", "_")
        assert (ROOT / module / "__main__.py").is_file(), name
        assert build["target"] == module, name
        stage = text.split(f"FROM base AS {module}\n", 1)[1].split("\nFROM ", 1)[0]
        assert f"ENV SERVICE={module} PORT={SERVICES[name]}" in stage, name
        assert f"EXPOSE {SERVICES[name]}" in stage, name
    assert re.search(r"^FROM python:3\.1[1-9]\S* AS base$", text, re.M)
    assert 'CMD ["sh", "-c", "exec python -m \\"$SERVICE\\""]' in text
    assert re.search(r"^USER (?!root)\S+", text, re.M), "runs as root"
    assert "HEALTHCHECK" in text and "/health" in text
    assert "-c constraints.txt" in text, "does not install the pinned versions"


def test_healthchecks_and_depends_on(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, svc in services.items():
        assert svc.get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name, port in SERVICES.items():
        svc = services[name]
        # CMD-SHELL: Docker and podman's Docker API run it the same way
        assert svc["healthcheck"]["test"][0] == "CMD-SHELL", name
        assert "/health" in " ".join(svc["healthcheck"]["test"]), name
        for dep in ("mongo", "kafka"):
            assert svc["depends_on"][dep]["condition"] == "service_healthy", (name, dep)
        env = svc["environment"]
        assert str(env["PORT"]) == str(port), name
        assert env["KAFKA_URL"] == "kafka:29092", name
        assert env["DATABASE_URL"].startswith("mongodb://admin:password@mongo:27017"), name


def test_services_listen_on_all_interfaces_in_containers(compose: dict[str, Any]) -> None:
    """In a container, 127.0.0.1 is unreachable through a published port (issue 8's bug)."""
    for name in SERVICES:
        assert compose["services"][name]["environment"]["HOST"] == "0.0.0.0", name
    assert re.search(r"^\s+HOST=0\.0\.0\.0\b", (ROOT / "Dockerfile").read_text(), re.M)


def test_outside_containers_the_default_host_stays_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from shared.infra.settings import Settings

    monkeypatch.delenv("HOST", raising=False)
    assert Settings().host == "127.0.0.1"


def test_local_images_override_only_swaps_images(compose: dict[str, Any]) -> None:
    """deps/images/compose.local.yaml (the container tier) runs images built here, pulls none."""
    override = yaml.safe_load((ROOT / "deps/images/compose.local.yaml").read_text())
    assert set(override["services"]) == set(compose["services"])
    for name, svc in override["services"].items():
        assert svc["image"].startswith("localhost/workflow-automation/"), name
        assert svc["pull_policy"] == "never", name
        assert not {"ports", "build", "depends_on", "volumes"} & set(svc), name
        if "healthcheck" in svc:
            assert svc["healthcheck"]["test"][0] == "CMD-SHELL", name


def test_ports_bound_to_loopback_only(compose: dict[str, Any]) -> None:
    for name, svc in compose["services"].items():
        for mapping in svc.get("ports", []):
            assert str(mapping).startswith("127.0.0.1:"), f"{name}: {mapping}"


def test_kafka_is_kraft_with_internal_listener(compose: dict[str, Any]) -> None:
    env = compose["services"]["kafka"]["environment"]
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert "INTERNAL://kafka:29092" in env["KAFKA_ADVERTISED_LISTENERS"]
    assert str(env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"]).lower() == "false"
    assert "ZOOKEEPER" not in " ".join(env)


def test_start_deps_script_is_executable() -> None:
    for script in ("start-deps.sh", "dev.sh", ".ci/run", "deps/images.sh"):
        path = ROOT / script
        assert path.is_file(), script
        assert os.access(path, os.X_OK), f"{script} is not executable"
