"""Access tokens from the province's own identity provider (OpenID Connect), verified here, locally.

A JWT is accepted only when all of these hold (PyJWT checks the signature and the registered claims):
- its `alg` is on the allow-list — asymmetric algorithms only, so neither `none` nor an HMAC "signed" with the
  provider's public key gets through — and the key that verifies it is of that algorithm's family;
- the key comes from the configured JWKS (a file, or an https URL fetched with a timeout), chosen by `kid`;
- `iss` is the configured issuer, `aud` holds the configured audience, `exp` is in the future and `nbf` (if any)
  in the past, each with a small leeway for clock skew;
- it names a user (`user_claim`) and a LAPIS role: the role claim's value(s) mapped through `role_map` (or, with
  no map, read as role names), the highest one winning; `default_role` for a token that maps to none.

The JWKS is cached for `jwks_ttl_s`; a token with a `kid` the cache does not know (the provider rotated its keys)
refetches it, but at most once per `MIN_REFRESH_S`, so random `kid`s cannot make LAPIS hammer the provider. The
document (at most `MAX_JWKS_BYTES`) and the keys kept from it (at most `MAX_KEYS`) are bounded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import unicodedata
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jwt

from spatial.identity.model import USER_ROLES, Identity, Role
from spatial.settings import Settings

# the algorithms LAPIS can accept, by the key type (JWK `kty`) that must verify them
KEY_TYPES = {**dict.fromkeys(("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"), "RSA"),
             **dict.fromkeys(("ES256", "ES384", "ES512"), "EC"), "EdDSA": "OKP"}
MAX_KEYS = 32
MAX_JWKS_BYTES = 256 * 1024
MAX_TOKEN_BYTES = 16 * 1024
MIN_REFRESH_S = 30.0
RETRY_S = 3.0  # after a failed first read
log = logging.getLogger("lapis")
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


class TokenRejected(Exception):
    """The JWT does not sign anyone in; the message says why, for the server's log (never the token itself)."""


class KeysUnavailable(Exception):
    """The JWKS could not be read (and no earlier copy is at hand): no JWT can be checked right now."""


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    audience: str
    jwks: str  # an http(s) URL or a file
    user_claim: str = "preferred_username"
    role_claim: str = "lapis_role"
    role_map: dict[str, Role] = field(default_factory=dict)
    default_role: Role | None = None
    algorithms: tuple[str, ...] = tuple(KEY_TYPES)
    leeway_s: float = 30.0
    jwks_ttl_s: float = 300.0
    jwks_timeout_s: float = 5.0

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """The configuration LAPIS_OIDC_* describe; None when no issuer is set. A half or unsafe one is a
        ValueError, raised when the app starts rather than at the first sign-in."""
        if not settings.oidc_issuer:
            if settings.oidc_audience or settings.oidc_jwks:
                raise ValueError("LAPIS_OIDC_AUDIENCE/LAPIS_OIDC_JWKS are set but LAPIS_OIDC_ISSUER is not")
            return None
        if not settings.oidc_audience or not settings.oidc_jwks:
            raise ValueError("OpenID Connect needs LAPIS_OIDC_ISSUER, LAPIS_OIDC_AUDIENCE and LAPIS_OIDC_JWKS")
        return cls(issuer=settings.oidc_issuer, audience=settings.oidc_audience,
                   jwks=_checked_jwks(settings.oidc_jwks), user_claim=settings.oidc_user_claim,
                   role_claim=settings.oidc_role_claim, role_map=parse_role_map(settings.oidc_role_map),
                   default_role=_role(settings.oidc_default_role) if settings.oidc_default_role else None,
                   algorithms=parse_algorithms(settings.oidc_algorithms), leeway_s=settings.oidc_leeway_s,
                   jwks_ttl_s=settings.oidc_jwks_ttl_s, jwks_timeout_s=settings.oidc_jwks_timeout_s)


def _role(text: str) -> Role:
    role = Role.__members__.get(text.strip())
    if role not in USER_ROLES:
        raise ValueError(f"{text.strip()!r} is not a LAPIS role ({', '.join(USER_ROLES)})")
    return role


def parse_role_map(text: str) -> dict[str, Role]:
    """`LAPIS_OIDC_ROLE_MAP`: `claim value=role` pairs, comma-separated: `qh-editors=editor,qh-leads=approver`."""
    mapping: dict[str, Role] = {}
    for pair in filter(None, (p.strip() for p in text.split(","))):
        value, sep, role = pair.rpartition("=")
        if not sep or not value.strip():
            raise ValueError(f"LAPIS_OIDC_ROLE_MAP: {pair!r} is not 'claim value=role'")
        mapping[value.strip()] = _role(role)
    return mapping


def parse_algorithms(text: str) -> tuple[str, ...]:
    algorithms = tuple(a.strip() for a in text.split(",") if a.strip())
    unsafe = [a for a in algorithms if a not in KEY_TYPES]
    if unsafe or not algorithms:
        raise ValueError(f"LAPIS_OIDC_ALGORITHMS: {', '.join(unsafe) or 'none given'} — only asymmetric "
                         f"algorithms may be allowed ({', '.join(KEY_TYPES)})")
    return algorithms


def _checked_jwks(source: str) -> str:
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        if parts.scheme == "http" and parts.hostname not in LOOPBACK:
            raise ValueError("LAPIS_OIDC_JWKS: fetch the keys over https (http only from this machine)")
        return source
    if not Path(source).is_file():
        raise ValueError(f"LAPIS_OIDC_JWKS: {source!r} is neither an http(s) URL nor a readable file")
    return source


def read_jwks(source: str, timeout_s: float) -> list[dict[str, Any]]:
    """The signing keys of a JWKS document (blocking: a file read, or an HTTP GET with `timeout_s`)."""
    if urlsplit(source).scheme in ("http", "https"):
        request = urllib.request.Request(source, headers={"Accept": "application/json"})  # noqa: S310 - checked
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - http(s) only
            data = response.read(MAX_JWKS_BYTES + 1)
    else:
        with open(source, "rb") as file:
            data = file.read(MAX_JWKS_BYTES + 1)
    if len(data) > MAX_JWKS_BYTES:
        raise ValueError(f"the JWKS is larger than {MAX_JWKS_BYTES} bytes")
    keys = json.loads(data).get("keys")
    if not isinstance(keys, list):
        raise ValueError("the JWKS has no 'keys' list")
    usable = [k for k in keys if isinstance(k, dict) and k.get("kty") in set(KEY_TYPES.values())
              and k.get("use", "sig") == "sig" and _parses(k)]
    return usable[:MAX_KEYS]


def _parses(jwk: dict[str, Any]) -> bool:
    try:
        jwt.PyJWK(jwk)
    except jwt.PyJWTError:
        return False
    return True


class JwksCache:
    """The provider's keys, read at most once per `ttl_s` (and on an unknown `kid`, at most once per
    MIN_REFRESH_S); concurrent requests share one read; a failed read keeps the keys it had."""

    def __init__(self, source: str, *, ttl_s: float, timeout_s: float) -> None:
        self.source = source
        self.ttl_s = ttl_s
        self.timeout_s = timeout_s
        self.reads = 0  # how many times the source was read (for tests and the curious)
        self._keys: list[dict[str, Any]] | None = None
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()

    async def keys(self, *, refresh: bool = False) -> list[dict[str, Any]]:
        if self._due(refresh):
            async with self._lock:
                if self._due(refresh):  # another request may have read them meanwhile
                    await self._read()
        if self._keys is None:
            raise KeysUnavailable("the JWKS could not be read; LAPIS tries again shortly")
        return self._keys

    async def _read(self) -> None:
        self._read_at = time.monotonic()
        self.reads += 1
        try:
            self._keys = await asyncio.to_thread(read_jwks, self.source, self.timeout_s)
        except (OSError, ValueError) as exc:  # ValueError: not JSON, too large, no keys list
            log.warning("OpenID Connect: cannot read the JWKS (%s)%s", exc,
                        "" if self._keys is None else "; the keys read before stay in use")

    def _due(self, refresh: bool) -> bool:
        age = time.monotonic() - self._read_at
        if self._keys is None:
            return age >= RETRY_S
        return age >= (min(self.ttl_s, MIN_REFRESH_S) if refresh else self.ttl_s)


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


class OidcVerifier:
    """Turns a provider's JWT into a LAPIS identity, or says why it will not."""

    def __init__(self, config: OidcConfig) -> None:
        self.config = config
        self.jwks = JwksCache(config.jwks, ttl_s=config.jwks_ttl_s, timeout_s=config.jwks_timeout_s)

    async def identity(self, token: str) -> Identity:
        if len(token) > MAX_TOKEN_BYTES:
            raise TokenRejected("the token is too long")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise TokenRejected(f"malformed JWT: {exc}") from None
        alg, kid = header.get("alg"), header.get("kid")
        if alg not in self.config.algorithms:
            raise TokenRejected(f"algorithm {alg!r} is not allowed")
        keys = _fitting(await self.jwks.keys(), alg, kid)
        if not keys and kid is not None:  # perhaps a new key of the provider's
            keys = _fitting(await self.jwks.keys(refresh=True), alg, kid)
        if not keys:
            raise TokenRejected(f"no key in the JWKS verifies {alg} with kid {kid!r}")
        return self._identity(self._claims(token, alg, keys))

    def _claims(self, token: str, alg: str, keys: list[dict[str, Any]]) -> dict[str, Any]:
        failure: Exception | None = None
        for jwk in keys:
            try:
                return jwt.decode(token, jwt.PyJWK(jwk, algorithm=alg), algorithms=[alg],
                                  audience=self.config.audience, issuer=self.config.issuer,
                                  leeway=self.config.leeway_s, options={"require": ["exp", "iss", "aud"]})
            except jwt.InvalidSignatureError as exc:
                failure = exc  # another key of the set may have signed it
            except jwt.PyJWTError as exc:
                raise TokenRejected(str(exc)) from None
        raise TokenRejected(f"signature: {failure}")

    def _identity(self, claims: dict[str, Any]) -> Identity:
        user = claims.get(self.config.user_claim)
        if not isinstance(user, str) or not user.strip() or len(user) > 255 or not user.isprintable():
            raise TokenRejected(f"the token has no usable {self.config.user_claim!r} claim")
        role = self.role_of(claims)
        if role is None:
            raise TokenRejected(f"{user}: the {self.config.role_claim!r} claim names no LAPIS role")
        return Identity(unicodedata.normalize("NFC", user.strip()), role)

    def role_of(self, claims: dict[str, Any]) -> Role | None:
        """The highest role the role claim maps to (a dotted name reaches into objects: `realm_access.roles`)."""
        value: Any = claims
        for part in self.config.role_claim.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        names = self.config.role_map or {role.value: role for role in USER_ROLES}
        roles = [names[v] for v in values if isinstance(v, str) and v in names]
        return max(roles, key=lambda r: r.rank) if roles else self.config.default_role


def _fitting(keys: list[dict[str, Any]], alg: str, kid: str | None) -> list[dict[str, Any]]:
    """The keys that may verify `alg` (its family, and its `alg` if the key names one) with this `kid`."""
    return [k for k in keys if k.get("kty") == KEY_TYPES[alg] and k.get("alg", alg) == alg
            and (kid is None or k.get("kid") == kid)]
