"""What a sign-in needs besides the token store: the OpenID Connect verifier (when configured) and the limit on
failed sign-ins per client address. Built once per app (`install_sign_in`, from `create_app`), so a half-done
OIDC configuration stops the app at start-up instead of refusing every sign-in later.

Failed sign-ins: a client address (an IPv6 one by its /64, which one host can fill) that made
`signin_max_failures` failed sign-ins within `signin_failure_window_s` is answered 429 with Retry-After for every
sign-in until the oldest of them leaves the window — a good token too: answering it would tell a guesser which
guess was right. A successful sign-in is never delayed, nor counted. Memory is bounded: at most `MAX_CLIENTS`
addresses are remembered (the least recently failing are forgotten first) with at most `signin_max_failures`
times each. The count is per server process (each `lapis serve` worker keeps its own).
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI

from app.problems import Problem
from spatial.identity.oidc import OidcConfig, OidcVerifier
from spatial.settings import Settings

MAX_CLIENTS = 10_000


def client_key(host: str) -> str:
    """The address failures are counted under: IPv4 as is, IPv6 by its /64 network."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class FailureLimiter:
    """Failed sign-ins per client within a sliding window, for a bounded number of clients."""

    def __init__(self, max_failures: int, window_s: float, *, max_clients: int = MAX_CLIENTS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self.max_clients = max_clients
        self.clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._failures)

    def retry_after(self, client: str) -> int | None:
        """Seconds until `client` may sign in again; None if it may now."""
        times = self._failures.get(client)
        if times is None:
            return None
        now = self.clock()
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            del self._failures[client]
            return None
        if len(times) < self.max_failures:
            return None
        return max(1, math.ceil(times[0] + self.window_s - now))

    def failed(self, client: str) -> None:
        times = self._failures.pop(client, None) or deque(maxlen=self.max_failures)
        times.append(self.clock())
        self._failures[client] = times  # now the most recent
        while len(self._failures) > self.max_clients:
            self._failures.popitem(last=False)

    def check(self, client: str) -> None:
        """Raise the 429 problem if `client` has used up its failed sign-ins."""
        wait = self.retry_after(client)
        if wait is not None:
            raise Problem(429, "Too many failed sign-ins",
                          f"too many failed sign-ins from this address; try again in {wait} s",
                          parameter="Authorization", headers={"Retry-After": str(wait)})


@dataclass(frozen=True)
class SignIn:
    oidc: OidcVerifier | None
    limiter: FailureLimiter

    @classmethod
    def from_settings(cls, settings: Settings) -> SignIn:
        config = OidcConfig.from_settings(settings)
        return cls(oidc=OidcVerifier(config) if config else None,
                   limiter=FailureLimiter(settings.signin_max_failures, settings.signin_failure_window_s))


def install_sign_in(app: FastAPI, settings: Settings) -> None:
    app.state.sign_in = SignIn.from_settings(settings)


def sign_in_of(app: FastAPI) -> SignIn:
    return app.state.sign_in
