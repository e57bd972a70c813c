"""Failed sign-ins are limited per client address (429 with Retry-After, bounded memory; a good token is never
delayed nor counted), and no token — in a header, a JWT, or a URL — reaches the access log or the server's log."""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from app.access_log import AccessLog, AccessLogWriter, LineFormat
from app.main import create_app
from app.signin import FailureLimiter, client_key
from spatial.identity.model import Role
from tests.helpers import assert_problem, make_settings
from tests.identity_fixtures import bearer, token_for


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_within_the_window_block_an_address_until_the_oldest_leaves_it() -> None:
    clock = Clock()
    limiter = FailureLimiter(3, 60, clock=clock)
    for step in (0, 10, 20):
        clock.now = 1000 + step
        assert limiter.retry_after("a") is None
        limiter.failed("a")
    assert limiter.retry_after("a") == 40  # the first failure leaves the window at 1060
    assert limiter.retry_after("b") is None  # per address
    clock.now = 1059.5
    assert limiter.retry_after("a") == 1
    clock.now = 1060.0
    assert limiter.retry_after("a") is None  # two failures left in the window
    limiter.failed("a")
    assert limiter.retry_after("a") == 10  # blocked again until the one at 1010 leaves
    clock.now = 2000
    assert limiter.retry_after("a") is None and len(limiter) == 0  # forgotten once all are old


def test_the_limiter_remembers_a_bounded_number_of_addresses() -> None:
    limiter = FailureLimiter(2, 60, max_clients=100, clock=Clock())
    for n in range(5000):
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
        limiter.failed(f"10.0.{n // 256}.{n % 256}")
    assert len(limiter) == 100
    assert limiter.retry_after("10.0.19.135") is not None  # the latest (n = 4999) are kept
    assert limiter.retry_after("10.0.0.0") is None  # the oldest forgotten
    assert all(len(times) <= 2 for times in limiter._failures.values())


def test_addresses_are_counted_by_host_and_ipv6_by_its_64() -> None:
    assert client_key("203.0.113.7") == "203.0.113.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:203.0.113.7") == "203.0.113.7"
    assert client_key("testclient") == "testclient"


def test_an_address_that_fails_too_often_gets_429_and_good_tokens_are_never_held_up(db_url: str,
                                                                                      tmp_path: Path) -> None:
    token = token_for(db_url, Role.editor)
    bad = bearer("lapis_" + "x" * 43)
    app = create_app(make_settings(db_url, tmp_path, signin_max_failures=3, signin_failure_window_s=60))
    with TestClient(app, client=("203.0.113.7", 5000)) as client:
        for _ in range(20):  # successes are never counted
            started = time.perf_counter()
            assert client.get("/me", headers=bearer(token)).status_code == 200
            assert time.perf_counter() - started < 1
        for _ in range(2):
            assert client.get("/me", headers=bad).status_code == 401
        assert client.get("/me", headers=bearer(token)).status_code == 200  # below the limit: signed in at once
        assert client.get("/me", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 401  # the 3rd
        refused = client.get("/me", headers=bad)
        body = assert_problem(refused, 429, "Authorization")
        assert 55 <= int(refused.headers["retry-after"]) <= 60 and "try again in" in body["detail"]
        # while blocked, a good token is refused too (checking it would tell a guesser it was right) ...
        assert_problem(client.get("/me", headers=bearer(token)), 429)
        # ... but reading without signing in goes on, and other addresses are not affected
        assert client.get("/me").json() == {"user": None, "role": "anonymous"}
    with TestClient(app, client=("198.51.100.20", 5000)) as other:  # the same app, the same limiter
        assert other.get("/me", headers=bearer(token)).status_code == 200
        assert other.get("/me", headers=bad).status_code == 401
        assert other.get("/me", headers=bad).status_code == 401


def test_tokens_never_reach_the_logs(db_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**jwt.algorithms.ECAlgorithm.to_jwk(key.public_key(), as_dict=True),
                                          "kid": "k"}]}))
    now = int(time.time())
    good_jwt = jwt.encode({"iss": "https://sso", "aud": "lapis", "exp": now + 60, "preferred_username": "lan",
                           "lapis_role": "editor"}, key, algorithm="ES256", headers={"kid": "k"})
    expired_jwt = jwt.encode({"iss": "https://sso", "aud": "lapis", "exp": now - 600, "preferred_username": "lan",
                              "lapis_role": "editor"}, key, algorithm="ES256", headers={"kid": "k"})
    good, bad = token_for(db_url, Role.viewer), "lapis_" + "Q" * 43
    log_file = tmp_path / "access.log"
    writer = AccessLogWriter(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND), interval_s=3600)
    settings = make_settings(db_url, tmp_path, oidc_issuer="https://sso", oidc_audience="lapis", oidc_jwks=str(jwks))
    caplog.set_level(logging.DEBUG)
    with TestClient(AccessLog(create_app(settings), writer)) as client:
        assert client.get("/me", headers=bearer(good)).status_code == 200
        assert client.get("/me", headers=bearer(bad)).status_code == 401
        assert client.get("/me", headers=bearer(good_jwt)).json()["user"] == "lan"
        assert client.get("/me", headers=bearer(expired_jwt)).status_code == 401
        for name in ("access_token", "token", "id_token"):  # a token in the URL is refused, not used
            response = client.get(f"/me?f=json&{name}={good}")
            assert_problem(response, 400, name)
            assert good not in response.text
    writer.close()
    access = log_file.read_text()
    # everything the server logged (tracebacks included), not what the test's HTTP client logs of its own requests
    server = "\n".join(logging.Formatter().format(r) for r in caplog.records if not r.name.startswith("http"))
    assert access.count('"GET /me') == 7, access
    assert "/me?f=json&access_token=[redacted] " in access
    assert "OpenID Connect sign-in refused: Signature has expired" in server  # the reason, for the operator
    for secret in (good, bad, good_jwt, expired_jwt, good_jwt.split(".")[2], expired_jwt.split(".")[2], good[6:]):
        assert secret not in access and secret not in server
    assert "Bearer" not in access + server and "authorization" not in (access + server).lower()


def test_the_access_log_blanks_tokens_in_urls() -> None:
    line = LineFormat()((0.0, 0.0, "-", "GET", b"/me", b"access_token=abc&f=json&TOKEN=def;api_key=ghi&tokens=1",
                         "1.1", 400, 0))
    assert "/me?access_token=[redacted]&f=json&TOKEN=[redacted];api_key=[redacted]&tokens=1 " in line
