"""Where a web push may go: https to the public internet only, checked on subscribing and
again on sending, and sent to the very address checked."""

import pytest
import requests

from notifications.delivery.endpoints import EndpointSession, Unresolved, push_endpoint_problem
from tests.notifications.servers import serve, tls_for

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


# The session a push goes through: to the address checked, whatever the name says next


def test_endpoint_session_posts_to_the_address_it_checked_when_the_name_rebinds(fake_dns):
    with serve("127.0.0.1") as checked, serve("127.0.0.2", checked.port) as neighbour:
        url = f"http://push.test:{checked.port}/push/abc"
        fake_dns.answer("push.test", "127.0.0.1", "127.0.0.2")  # then the neighbour
        session = EndpointSession()

        assert session.check(url, allow_local=True) is None
        assert requests.post(url, timeout=5).status_code == 201  # a new look-up: the neighbour
        assert session.post(url, timeout=5).status_code == 201
        assert session.post(url, timeout=5).status_code == 201

    assert fake_dns.lookups == ["push.test", "push.test"]  # the check's and the plain post's
    assert checked.received == [("/push/abc", f"push.test:{checked.port}")] * 2
    assert neighbour.received == [("/push/abc", f"push.test:{checked.port}")]


def test_endpoint_session_pins_an_international_name_as_the_request_writes_it(fake_dns):
    with serve("127.0.0.1") as checked:
        fake_dns.answer("püsh.test", "127.0.0.1")
        fake_dns.answer("xn--psh-hoa.test", "127.0.0.2")
        url = f"http://püsh.test:{checked.port}/push/abc"
        session = EndpointSession()

        assert session.check(url, allow_local=True) is None
        assert session.post(url, timeout=5).status_code == 201

    assert checked.received == [("/push/abc", f"xn--psh-hoa.test:{checked.port}")]


def test_endpoint_session_keeps_the_name_for_tls_at_the_checked_address(fake_dns, tmp_path):
    tls, ca_file = tls_for("push.test", tmp_path)
    with serve("127.0.0.1", tls=tls) as checked:
        url = f"https://push.test:{checked.port}/push/abc"
        fake_dns.answer("push.test", "127.0.0.1", "127.0.0.2")  # nothing listens there
        session = EndpointSession()

        assert session.check(url, allow_local=True) is None
        response = session.post(url, timeout=5, verify=str(ca_file))

    assert response.status_code == 201
    assert checked.server_names == ["push.test"]  # SNI names the host, not the address
    assert checked.received == [("/push/abc", f"push.test:{checked.port}")]


def test_endpoint_session_checks_the_certificate_against_the_name(fake_dns, tmp_path):
    tls, ca_file = tls_for("other.test", tmp_path)  # trusted, but for another name
    with serve("127.0.0.1", tls=tls) as checked:
        url = f"https://push.test:{checked.port}/push/abc"
        fake_dns.answer("push.test", "127.0.0.1")
        session = EndpointSession()
        session.check(url, allow_local=True)

        with pytest.raises(requests.exceptions.SSLError, match="push.test"):
            session.post(url, timeout=5, verify=str(ca_file))

    assert checked.received == []


def test_endpoint_session_posts_nowhere_it_did_not_check_or_refused(fake_dns):
    with serve("127.0.0.1") as server:
        fake_dns.answer("push.test", "127.0.0.1")
        session = EndpointSession()
        refused = f"http://push.test:{server.port}/push/abc"
        assert session.check(refused, allow_local=False)  # http to loopback, in production

        for url in (refused, f"http://127.0.0.1:{server.port}/push/abc"):
            with pytest.raises(requests.ConnectionError, match="not checked"):
                session.post(url, timeout=5)

    assert server.received == []
