"""TargetPolicy: which addresses an http-request action may reach (no network needed)."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from runner_svc.actions.http.target_policy import DeniedTarget, TargetPolicy
from shared.infra.settings import Settings

# The class defaults, whatever the environment of the test run says.
DEFAULTS = Settings(_env_file=None, http_deny_networks="", http_allow_networks="")  # type: ignore[call-arg]


def default_policy(allow: str = "") -> TargetPolicy:
    return TargetPolicy(DEFAULTS.deny_networks(), Settings(
        _env_file=None, http_allow_networks=allow  # type: ignore[call-arg]
    ).allow_networks())


@pytest.mark.parametrize("address", [
    "127.0.0.1", "127.255.255.254", "::1",                       # loopback
    "0.0.0.0", "0.1.2.3", "::",                                  # unspecified / this host
    "169.254.169.254", "169.254.0.1", "fe80::1", "febf:ffff::1",  # link-local, metadata
    "fd00:ec2::254", "100.100.100.200",                          # metadata (AWS v6, Alibaba)
    "::ffff:127.0.0.1", "::ffff:0.0.0.0", "::ffff:169.254.169.254",  # IPv4-mapped
    "::127.0.0.1", "::169.254.169.254",                          # IPv4-compatible
    "64:ff9b::127.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::",     # NAT64 (well-known prefix)
    "2002:7f00:1::1", "2002:a9fe:a9fe::",                        # 6to4
])
def test_default_policy_refuses(address: str) -> None:
    reason = default_policy().refusal(ipaddress.ip_address(address))

    assert reason is not None and "denied network" in reason


@pytest.mark.parametrize("address", [
    "93.184.215.14", "10.1.2.3", "192.168.1.10", "2606:2800:21f:cb07:6820:80da:af6b:8b2c",
    "::ffff:93.184.215.14", "64:ff9b::8.8.8.8", "2002:0808:0808::1",
])
def test_default_policy_lets_other_addresses_through(address: str) -> None:
    assert default_policy().refusal(ipaddress.ip_address(address)) is None


def test_the_allow_list_exempts_exactly_what_it_lists() -> None:
    policy = default_policy(allow="127.0.0.1/32, 169.254.10.0/24")

    for allowed in ("127.0.0.1", "::ffff:127.0.0.1", "169.254.10.7"):
        assert policy.refusal(ipaddress.ip_address(allowed)) is None, allowed
    for denied in ("127.0.0.2", "0.0.0.0", "::ffff:0.0.0.0", "::1", "169.254.169.254"):
        assert policy.refusal(ipaddress.ip_address(denied)) is not None, denied


def test_the_refusal_names_the_embedded_address() -> None:
    reason = default_policy().refusal(ipaddress.ip_address("64:ff9b::a9fe:a9fe"))

    assert reason == "target address 169.254.169.254 (embedded in 64:ff9b::a9fe:a9fe) " \
                     "is in a denied network"


@pytest.mark.parametrize(("host", "address"), [
    ("0", "0.0.0.0"), ("2852039166", "169.254.169.254"), ("0x7f.1", "127.0.0.1"),
    ("127.1", "127.0.0.1"), ("localhost", None), ("[::ffff:0.0.0.0]", "0.0.0.0"),
])
async def test_resolve_reads_numeric_spellings_as_the_os_does(
    host: str, address: str | None
) -> None:
    with pytest.raises(DeniedTarget) as denied:
        await default_policy().resolve(host, 80)

    assert address is None or address in str(denied.value)


def test_settings_read_the_lists_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_ALLOW_NETWORKS", "127.0.0.1/32,::1")
    monkeypatch.setenv("HTTP_DENY_NETWORKS", "10.0.0.0/8")

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert [str(n) for n in settings.allow_networks()] == ["127.0.0.1/32", "::1/128"]
    assert "10.0.0.0/8" in [str(n) for n in settings.deny_networks()]
    assert "127.0.0.0/8" in [str(n) for n in settings.deny_networks()]  # added to, not replaced
    monkeypatch.setenv("HTTP_ALLOW_NETWORKS", "127.0.0.1/33")
    with pytest.raises(ValidationError):
        Settings(_env_file=None)  # type: ignore[call-arg]
