"""Where a web push may go: https to the public internet only, checked on subscribing and
again on sending."""

import pytest

from notifications.delivery.endpoints import Unresolved, push_endpoint_problem

PRODUCTION_REFUSED = [
    "http://127.0.0.1:6379/",
    "https://127.0.0.1/push/abc",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.1/push/abc",
    "https://172.16.5.4/push/abc",
    "https://192.168.1.1/push/abc",
    "https://100.64.0.1/push/abc",  # carrier-grade NAT
    "https://0.0.0.0/push/abc",
    "https://[::1]/push/abc",
    "https://[fe80::1]/push/abc",
    "https://[fd00::1]/push/abc",
    "https://[::ffff:10.0.0.1]/push/abc",  # a private address written as IPv6
    "https://[::ffff:0:a00:1]/push/abc",  # and as SIIT writes it
    "https://[::a00:1]/push/abc",  # and as a deprecated IPv4-compatible address
    "https://[64:ff9b::a00:1]/push/abc",  # NAT64 of 10.0.0.1
    "https://[64:ff9b::7f00:1]/push/abc",  # NAT64 of 127.0.0.1
    "https://[64:ff9b::a9fe:a9fe]/push/abc",  # NAT64 of the cloud metadata address
    "https://[64:ff9b:1::808:808]/push/abc",  # a network's own NAT64 prefix (RFC 8215)
    "https://[2002:a00:1::]/push/abc",  # 6to4 of 10.0.0.1
    "https://[2002:7f00:1::1]/push/abc",  # 6to4 of 127.0.0.1
    "https://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/push/abc",  # Teredo
    "https://8.8.8.8:8443/push/abc",  # a public address on another port than 443
    "https://[2001:4860:4860::8888]:6379/push/abc",
    "https://localhost/push/abc",  # a name that resolves to loopback
    "https://224.0.0.1/push/abc",
    "http://8.8.8.8/push/abc",  # public, but not https
    "https://user:secret@8.8.8.8/push/abc",
    "ftp://8.8.8.8/push/abc",
    "https:///push/abc",
]


@pytest.mark.parametrize("endpoint", PRODUCTION_REFUSED)
def test_push_endpoint_problem_refuses_all_but_https_to_public_addresses(endpoint):
    assert push_endpoint_problem(endpoint, allow_local=False)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://8.8.8.8/push/abc",
        "https://8.8.8.8:443/push/abc",
        "https://[2001:4860:4860::8888]/push/abc",
        "https://[64:ff9b::808:808]/push/abc",  # NAT64 of a public address
        "https://[2002:808:808::1]/push/abc",  # 6to4 of a public address
    ],
)
def test_push_endpoint_problem_takes_https_to_a_public_address(endpoint):
    assert push_endpoint_problem(endpoint, allow_local=False) is None
    assert push_endpoint_problem(endpoint, allow_local=True) is None


@pytest.mark.parametrize(
    ("endpoint", "allowed"),
    [
        ("http://127.0.0.1:6379/", True),
        ("https://localhost/push/abc", True),
        ("https://[::1]/push/abc", True),
        ("https://10.0.0.1/push/abc", False),  # this machine only, not its network
        ("https://169.254.169.254/latest/meta-data/", False),
        ("http://8.8.8.8/push/abc", False),
        ("https://8.8.8.8:8443/push/abc", False),  # any port on this machine only
        ("https://[64:ff9b::7f00:1]/push/abc", False),  # a gateway's, not this machine's
    ],
)
def test_push_endpoint_problem_with_local_endpoints_allowed_takes_loopback_only(endpoint, allowed):
    assert (push_endpoint_problem(endpoint, allow_local=True) is None) is allowed


def test_push_endpoint_problem_gives_no_verdict_on_a_name_that_does_not_resolve():
    with pytest.raises(Unresolved):
        push_endpoint_problem("https://push.invalid/push/abc", allow_local=False)


def test_push_endpoint_problem_names_port_443():
    problem = push_endpoint_problem("https://8.8.8.8:8443/push/abc", allow_local=False)
    assert "port 443" in problem
