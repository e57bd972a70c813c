"""OpenID Connect sign-in: JWTs the test signs with keys it makes, published in a JWKS file the app reads.

A good token signs its user in (GET /me says who); expired, not-yet-valid, wrong-audience, wrong-issuer,
wrong-key, tampered, `alg: none` and HMAC-with-the-public-key tokens are all a 401 like a bad LAPIS token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from fastapi.testclient import TestClient

from app.main import create_app
from spatial.identity.model import Role
from tests.helpers import assert_problem, make_settings

ISSUER = "https://sso.longan.gov.vn/realms/lapis"
AUDIENCE = "lapis"
Key = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def public_jwk(key: Key, kid: str, alg: str | None = None) -> dict[str, Any]:
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    jwk = algorithm.to_jwk(key.public_key(), as_dict=True)
    return {**jwk, "kid": kid, "use": "sig", **({"alg": alg} if alg else {})}


def write_jwks(path: Path, *jwks: dict[str, Any]) -> Path:
    path.write_text(json.dumps({"keys": list(jwks)}))
    return path


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    values = {"iss": ISSUER, "aud": AUDIENCE, "sub": "8d1f-22", "preferred_username": "lan.nguyen",
              "lapis_role": "editor", "iat": now, "exp": now + 300}
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def keys() -> dict[str, Key]:
    return {"rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec": ec.generate_private_key(ec.SECP256R1()),
            "other": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


@pytest.fixture(scope="module")
def jwks_file(keys: dict[str, Key], tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("oidc")
    return write_jwks(folder / "jwks.json", public_jwk(keys["rsa"], "rsa1"), public_jwk(keys["ec"], "ec1", "ES256"))


@pytest.fixture(scope="module")
def oidc_client(db_url: str, jwks_file: Path) -> Iterator[TestClient]:
    settings = make_settings(db_url, jwks_file.parent, oidc_issuer=ISSUER, oidc_audience=AUDIENCE,
                             oidc_jwks=str(jwks_file))
    with TestClient(create_app(settings)) as client:
        yield client


def me(client: TestClient, token: str) -> Any:
    return client.get("/me", headers={"Authorization": f"Bearer {token}"})


def signed(key: Key, alg: str = "RS256", kid: str | None = "rsa1", **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm=alg, headers={"kid": kid} if kid else None)


def test_good_tokens_sign_their_user_in(oidc_client: TestClient, keys: dict[str, Key]) -> None:
    rsa_key, ec_key = keys["rsa"], keys["ec"]
    assert me(oidc_client, signed(rsa_key)).json() == {"user": "lan.nguyen", "role": "editor"}
    assert me(oidc_client, signed(ec_key, "ES256", "ec1", lapis_role="approver")).json()["role"] == "approver"
    assert me(oidc_client, signed(rsa_key, "PS256", kid=None)).status_code == 200  # no kid: the fitting keys
    assert me(oidc_client, signed(rsa_key, aud=["other-app", AUDIENCE])).status_code == 200
    # a list of roles: the highest one; unknown values are ignored
    many = me(oidc_client, signed(rsa_key, lapis_role=["viewer", "approver", "superuser"]))
    assert many.json() == {"user": "lan.nguyen", "role": "approver"}
    # exp a little in the past is within the leeway (clock skew); nbf a little ahead too
    now = int(time.time())
    assert me(oidc_client, signed(rsa_key, exp=now - 10, nbf=now + 10)).status_code == 200
    assert me(oidc_client, signed(rsa_key, preferred_username="Nguyễn Lan")).json()["user"] == "Nguyễn Lan"


def hs256_with_public_key(key: Key) -> str:
    """The classic confusion: an HMAC whose secret is the provider's (public) key in PEM."""
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa1"}).encode())
    body = b64(json.dumps(claims(lapis_role="admin")).encode())
    signature = hmac.new(pem, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(signature)}"


def tampered(token: str) -> str:
    head, body, signature = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["lapis_role"] = "admin"
    return f"{head}.{b64(json.dumps(payload).encode())}.{signature}"


def test_bad_tokens_are_401_like_a_bad_lapis_token(oidc_client: TestClient, keys: dict[str, Key]) -> None:
    rsa_key, now = keys["rsa"], int(time.time())
    bad = {
        "expired": signed(rsa_key, exp=now - 120),
        "not yet valid": signed(rsa_key, nbf=now + 120),
        "no exp": signed(rsa_key, exp=None),
        "wrong audience": signed(rsa_key, aud="another-app"),
        "no audience": signed(rsa_key, aud=None),
        "wrong issuer": signed(rsa_key, iss="https://evil.example/realms/lapis"),
        "wrong key, same kid": signed(keys["other"]),
        "wrong key, no kid": signed(keys["other"], kid=None),
        "unknown kid": signed(rsa_key, kid="rsa9"),
        "alg none": jwt.encode(claims(lapis_role="admin"), None, algorithm="none", headers={"kid": "rsa1"}),
        "HS256 with the public key": hs256_with_public_key(rsa_key),
        "ES256 claimed for an RSA key": signed(keys["ec"], "ES256", "rsa1"),
        "RS256 claimed for an ES256 key": signed(rsa_key, "RS256", "ec1"),
        "tampered payload": tampered(signed(rsa_key)),
        "no role": signed(rsa_key, lapis_role=None),
        "not a role": signed(rsa_key, lapis_role="superuser"),
        "no user": signed(rsa_key, preferred_username=None),
        "garbage": "eyJhbGciOi.not-json.at-all",
    }
    for what, token in bad.items():
        response = me(oidc_client, token)
        body = assert_problem(response, 401, "Authorization")
        assert response.headers["www-authenticate"].startswith("Bearer"), what
        assert body["detail"] == "the token is not valid (unknown, expired or revoked)", what
        assert token not in response.text, what
    # LAPIS's own tokens still work beside the provider's
    assert me(oidc_client, "lapis_" + "x" * 43).status_code == 401


def test_without_oidc_settings_a_jwt_is_just_a_bad_token(client: TestClient, keys: dict[str, Key]) -> None:
    assert_problem(me(client, signed(keys["rsa"])), 401, "Authorization")


def test_unreadable_keys_are_a_503_not_a_401(db_url: str, keys: dict[str, Key], tmp_path: Path) -> None:
    jwks = write_jwks(tmp_path / "jwks.json", public_jwk(keys["rsa"], "rsa1"))
    settings = make_settings(db_url, tmp_path, oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks=str(jwks))
    with TestClient(create_app(settings)) as client:
        jwks.unlink()  # present at start-up, gone at the first sign-in
        response = me(client, signed(keys["rsa"]))
        assert_problem(response, 503)
        assert response.headers["retry-after"] == "5"
        assert client.get("/me").json()["role"] == Role.anonymous  # anonymous reading goes on
