"""The OpenID Connect verifier on its own: its settings (refused when half-done or unsafe), the role mapping, and
the JWKS read from a URL — cached, refetched for a new key at most so often, bounded in time and size."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from spatial.identity import oidc
from spatial.identity.model import Identity, Role
from spatial.identity.oidc import KeysUnavailable, OidcConfig, OidcVerifier, TokenRejected
from spatial.settings import Settings

ISSUER, AUDIENCE = "https://sso.example.vn/realms/lapis", "lapis"


def settings(**values: Any) -> Settings:
    return Settings(database_url="postgresql://unused/x", **values)


def test_settings_turn_oidc_on_only_whole_and_safe(tmp_path: Path) -> None:
    jwks = tmp_path / "jwks.json"
    jwks.write_text('{"keys": []}')
    assert OidcConfig.from_settings(settings()) is None
    whole = {"oidc_issuer": ISSUER, "oidc_audience": AUDIENCE, "oidc_jwks": str(jwks)}
    config = OidcConfig.from_settings(settings(**whole, oidc_role_map="qh-editors=editor, qh-leads = approver",
                                               oidc_default_role="viewer", oidc_algorithms="RS256,ES256"))
    assert config is not None and config.algorithms == ("RS256", "ES256") and config.default_role is Role.viewer
    assert config.role_map == {"qh-editors": Role.editor, "qh-leads": Role.approver}
    assert OidcConfig.from_settings(settings(**{**whole, "oidc_jwks": "https://sso.example.vn/certs"})) is not None
    assert OidcConfig.from_settings(settings(**{**whole, "oidc_jwks": "http://127.0.0.1:8080/certs"})) is not None
    refused = {
        "are set but": {"oidc_audience": AUDIENCE, "oidc_jwks": str(jwks)},
        "needs": {"oidc_issuer": ISSUER, "oidc_jwks": str(jwks)},
        "only asymmetric": {**whole, "oidc_algorithms": "RS256,none"},
        "only asymmetric ": {**whole, "oidc_algorithms": "HS256"},
        "none given": {**whole, "oidc_algorithms": " , "},
        "over https": {**whole, "oidc_jwks": "http://sso.example.vn/certs"},
        "neither": {**whole, "oidc_jwks": str(tmp_path / "missing.json")},
        "is not a LAPIS role": {**whole, "oidc_role_map": "qh=superuser"},
        "not 'claim value=role'": {**whole, "oidc_role_map": "editor"},
        "is not a LAPIS role ": {**whole, "oidc_default_role": "anonymous"},
    }
    for message, values in refused.items():
        with pytest.raises(ValueError, match=message.strip()):
            OidcConfig.from_settings(settings(**values))


def test_roles_come_from_the_claim_through_the_map() -> None:
    mapped = OidcVerifier(OidcConfig(ISSUER, AUDIENCE, "unused", role_claim="realm_access.roles",
                                     role_map={"qh-editors": Role.editor, "qh-leads": Role.approver}))
    assert mapped.role_of({"realm_access": {"roles": ["offline_access", "qh-editors"]}}) is Role.editor
    assert mapped.role_of({"realm_access": {"roles": ["qh-editors", "qh-leads"]}}) is Role.approver
    assert mapped.role_of({"realm_access": {"roles": ["editor"]}}) is None  # with a map, only mapped values count
    assert mapped.role_of({"realm_access": "qh-leads"}) is None and mapped.role_of({}) is None
    plain = OidcVerifier(OidcConfig(ISSUER, AUDIENCE, "unused", default_role=Role.viewer))
    assert plain.role_of({"lapis_role": "admin"}) is Role.admin
    assert plain.role_of({"lapis_role": ["anonymous", 7, {"x": 1}]}) is Role.viewer  # nothing usable: the default


class Provider:
    """A JWKS endpoint on 127.0.0.1 whose keys the test changes, counting the requests it answers."""

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.requests = 0
        self.delay_s = 0.0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server name
                provider.requests += 1
                time.sleep(provider.delay_s)
                body = json.dumps({"keys": provider.keys}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/protocol/openid-connect/certs"


@pytest.fixture()
def provider() -> Iterator[Provider]:
    provider = Provider()
    thread = threading.Thread(target=provider.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        provider.delay_s = 0
        provider.server.shutdown()
        provider.server.server_close()


def jwk(key: rsa.RSAPrivateKey, kid: str) -> dict[str, Any]:
    return {**jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": kid}


def token(key: rsa.RSAPrivateKey, kid: str, user: str = "lan") -> str:
    now = int(time.time())
    return jwt.encode({"iss": ISSUER, "aud": AUDIENCE, "exp": now + 60, "preferred_username": user,
                       "lapis_role": "viewer"}, key, algorithm="RS256", headers={"kid": kid})


def verify(verifier: OidcVerifier, text: str) -> Identity:
    return asyncio.run(verifier.identity(text))


def test_keys_from_a_url_are_cached_and_refetched_for_a_new_kid_at_most_so_often(provider: Provider) -> None:
    old, new = (rsa.generate_private_key(public_exponent=65537, key_size=2048) for _ in range(2))
    provider.keys = [jwk(old, "k1")]
    verifier = OidcVerifier(OidcConfig(ISSUER, AUDIENCE, provider.url, jwks_ttl_s=300))
    for user in ("a", "b", "c"):
        assert verify(verifier, token(old, "k1", user)) == Identity(user, Role.viewer)
    assert provider.requests == 1  # cached
    provider.keys = [jwk(old, "k1"), jwk(new, "k2")]  # the provider rotates its keys
    with pytest.raises(TokenRejected, match="kid 'k2'"):
        verify(verifier, token(new, "k2"))  # just read: not refetched yet
    assert provider.requests == 1
    verifier.jwks._read_at -= oidc.MIN_REFRESH_S  # time passes
    assert verify(verifier, token(new, "k2")) == Identity("lan", Role.viewer)
    assert provider.requests == 2
    for n in range(5):  # made-up kids: no request to the provider for each
        with pytest.raises(TokenRejected):
            verify(verifier, token(new, f"made-up-{n}"))
    assert provider.requests == 2


def test_a_slow_or_broken_provider_is_bounded(provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    provider.keys, provider.delay_s = [jwk(key, "k1")], 3.0
    verifier = OidcVerifier(OidcConfig(ISSUER, AUDIENCE, provider.url, jwks_timeout_s=0.5))
    started = time.monotonic()
    with pytest.raises(KeysUnavailable):
        verify(verifier, token(key, "k1"))
    assert time.monotonic() - started < 2.5
    provider.delay_s = 0
    with pytest.raises(KeysUnavailable):  # retried only after RETRY_S, not at every request
        verify(verifier, token(key, "k1"))
    verifier.jwks._read_at -= oidc.RETRY_S
    assert verify(verifier, token(key, "k1")).user == "lan"
    # a later failed refetch keeps the keys it had
    monkeypatch.setattr(oidc, "MAX_JWKS_BYTES", 10)  # the document is now "too large"
    verifier.jwks._read_at -= 3600
    assert verify(verifier, token(key, "k1")).user == "lan" and verifier.jwks.reads == 3
    with pytest.raises(ValueError, match="larger than 10 bytes"):
        oidc.read_jwks(provider.url, 1.0)
