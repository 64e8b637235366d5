"""Authentication through the HTTP API on both stacks: sign-up, sign-in, cookies and CSRF,
TOTP, throttling, password and role changes, and a session store outage."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient

try:  # what Starlette's TestClient returns when httpx2 is installed
    import httpx2 as httpx
except ImportError:  # pragma: no cover
    import httpx  # type: ignore[no-redef]

from lumen.api.app import create_app
from lumen.clock import ManualClock
from lumen.factory import Lumen, build_services
from lumen.services.container import Services

from .conftest import PASSWORD, Account, Stack, make_admin, make_settings, sign_up

API = "/api/v1"
SIGNUP = f"{API}/auth/signup"
LOGIN = f"{API}/auth/login"
LOGIN_MFA = f"{API}/auth/login/mfa"
BAD_CREDENTIALS = "wrong e-mail address or password"

BuildClient = Callable[..., tuple[Services, TestClient]]


# -- helpers ---------------------------------------------------------------------------------


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def login(
    client: TestClient, email: str, password: str = PASSWORD, **kwargs: Any
) -> httpx.Response:
    return client.post(LOGIN, json={"email": email, "password": password}, **kwargs)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The ``error`` object of an error response (which must have that shape)."""
    body = response.json()
    assert set(body) == {"error"}, body
    error: dict[str, Any] = body["error"]
    assert error["status"] == response.status_code
    return error


def error_fields(response: httpx.Response) -> list[str]:
    return [f["field"] for f in error_of(response)["fields"]]


def raw_set_cookies(response: httpx.Response) -> dict[str, str]:
    """Each Set-Cookie header, keyed by the cookie's name."""
    headers = response.headers.get_list("set-cookie")
    return {header.split("=", 1)[0].strip(): header for header in headers}


def cookie_attributes(raw: str) -> dict[str, str]:
    """The attributes of one Set-Cookie header, lower-cased (flags map to '')."""
    attributes: dict[str, str] = {}
    for part in raw.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        attributes[name.lower()] = value.strip()
    return attributes


def audit_outcomes(services: Services, action: str) -> list[str]:
    with services.database.session() as db:
        rows, _ = services.audit.list_events(db, limit=500, offset=0, action=action)
        return [row.outcome for row in rows if row.action == action]


def wrong_totp_code(secret: str, now: float) -> str:
    """Six digits that no step near ``now`` accepts."""
    totp = pyotp.TOTP(secret)
    near = {totp.at(now + delta) for delta in (-60, -30, 0, 30, 60)}
    return next(code for code in ("000000", "111111", "222222", "333333") if code not in near)


@pytest.fixture
def build_client(
    tmp_path: Path, stack: Stack, clock: ManualClock, rag_lumen: Lumen
) -> Iterator[BuildClient]:
    """Builds a service and its HTTPS client with settings overrides.

    It uses the stack's database like ``services`` does: a test takes one or the other.
    """
    with ExitStack() as cleanup:

        def build(**overrides: Any) -> tuple[Services, TestClient]:
            settings = make_settings(tmp_path, stack, **overrides)
            services = build_services(settings, clock=clock, lumen=rag_lumen)
            cleanup.callback(services.close)
            client = cleanup.enter_context(
                TestClient(
                    create_app(services=services),
                    base_url="https://testserver",
                    raise_server_exceptions=False,
                )
            )
            return services, client

        yield build


# -- sign-up ---------------------------------------------------------------------------------


def test_sign_up_returns_the_account_without_secrets(client: TestClient) -> None:
    response = client.post(SIGNUP, json={"email": " Carol@Example.org ", "password": PASSWORD})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "email",
        "role",
        "organisation",
        "two_factor_enabled",
        "created_at",
        "last_login_at",
    }
    assert body["email"] == "carol@example.org"
    assert body["role"] == "patient"
    assert body["organisation"] is None
    assert body["two_factor_enabled"] is False
    assert "argon2" not in response.text
    assert PASSWORD not in response.text
    assert "set-cookie" not in response.headers  # sign-up does not sign in


def test_sign_up_refuses_a_used_email(client: TestClient, alice: Account) -> None:
    for email in (alice.email, alice.email.upper()):
        response = client.post(SIGNUP, json={"email": email, "password": PASSWORD})
        assert response.status_code == 409, response.text
        assert error_of(response)["code"] == "conflict"


def test_sign_ups_from_one_address_are_throttled(build_client: BuildClient) -> None:
    """A used e-mail gets 409, so each address may probe only a few e-mails an hour."""
    _services, client = build_client(
        auth={"signups_per_ip": 3, "signup_window_s": 3600}, api={"trust_forwarded_for": True}
    )

    def sign_up_from(address: str, email: str) -> httpx.Response:
        body = {"email": email, "password": PASSWORD}
        return client.post(SIGNUP, json=body, headers={"X-Forwarded-For": address})

    codes = [
        sign_up_from("203.0.113.7", email).status_code
        for email in ("a@example.org", "a@example.org", "b@example.org")
    ]
    assert codes == [201, 409, 201]
    refused = sign_up_from("203.0.113.7", "c@example.org")
    assert refused.status_code == 429, refused.text
    assert error_of(refused)["code"] == "rate_limited"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert "c@example.org" not in refused.text
    elsewhere = sign_up_from("198.51.100.2", "c@example.org")  # the limit is per address
    assert elsewhere.status_code == 201, elsewhere.text
    signed_in = client.post(
        f"{API}/auth/login",
        json={"email": "a@example.org", "password": PASSWORD},
        headers={"X-Forwarded-For": "203.0.113.7"},
    )
    assert signed_in.status_code == 200, signed_in.text  # signing in is not throttled by it


def test_sign_up_validates_the_email(client: TestClient) -> None:
    for email in ("", "carol", "carol@", "@example.org", "carol@example", "ca rol@example.org"):
        response = client.post(SIGNUP, json={"email": email, "password": PASSWORD})
        assert response.status_code == 422, (email, response.text)
        assert error_fields(response) == ["email"], email


def test_sign_up_applies_the_password_policy(client: TestClient) -> None:
    refused = {
        "plum-orbit-sky": "15 characters",  # 14 characters
        "1qaz2wsx3edc4rfv": "too common",
        "x7#" * 100: "at most 256",  # 300 characters
    }
    for index, (password, reason) in enumerate(refused.items()):
        email = f"weak{index}@example.org"
        response = client.post(SIGNUP, json={"email": email, "password": password})
        assert response.status_code == 422, (password, response.text)
        error = error_of(response)
        assert [f["field"] for f in error["fields"]] == ["password"]
        assert reason in error["fields"][0]["message"]
        assert login(client, email, password).status_code == 401  # nothing was created

    accepted = ["plum-orbit-skye", ("ember quartz willow " * 4)[:64]]  # 15 and 64 characters
    assert [len(p) for p in accepted] == [15, 64]
    for index, password in enumerate(accepted):
        email = f"strong{index}@example.org"
        response = client.post(SIGNUP, json={"email": email, "password": password})
        assert response.status_code == 201, response.text

    response = client.post(
        SIGNUP, json={"email": "extra@example.org", "password": PASSWORD, "role": "admin"}
    )
    assert response.status_code == 422
    assert error_fields(response) == ["role"]


# -- sign-in ---------------------------------------------------------------------------------


def test_wrong_password_and_unknown_email_look_the_same(
    client: TestClient, services: Services, alice: Account
) -> None:
    wrong_password = login(client, alice.email, "not the right password at all")
    unknown_email = login(client, "nobody@example.org", PASSWORD)
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert error_of(wrong_password) == error_of(unknown_email)
    assert error_of(wrong_password)["message"] == BAD_CREDENTIALS
    assert "set-cookie" not in wrong_password.headers

    outcomes = audit_outcomes(services, "auth.login")
    assert outcomes.count("failure") == 2
    assert outcomes.count("success") == 1  # alice's sign-in in the fixture
    assert services.audit.verify().ok


def test_login_sets_hardened_cookies_and_a_bearer_token(
    client: TestClient, services: Services, alice: Account
) -> None:
    response = login(client, alice.email, headers={"User-Agent": "pytest-browser"})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mfa_required"] is False
    assert body["ticket"] is None
    assert body["user"]["id"] == alice.id
    assert body["expires_in"] == services.settings.auth.idle_timeout_s
    token = body["token"]

    cookies = raw_set_cookies(response)
    assert set(cookies) == {"lumen_session", "lumen_csrf"}
    session_cookie = cookie_attributes(cookies["lumen_session"])
    assert cookies["lumen_session"].startswith(f"lumen_session={token};")
    assert "httponly" in session_cookie
    assert "secure" in session_cookie
    assert session_cookie["samesite"] == "lax"
    assert session_cookie["path"] == "/"
    csrf_cookie = cookie_attributes(cookies["lumen_csrf"])
    assert "httponly" not in csrf_cookie
    assert "secure" in csrf_cookie

    # The body's token is a bearer token (no cookies sent).
    client.cookies.clear()
    me = client.get(f"{API}/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["id"] == alice.id
    assert me.json()["last_login_at"] is not None

    assert "success" in audit_outcomes(services, "auth.login")
    assert services.audit.verify().ok


def test_cookie_sessions_need_the_csrf_header(client: TestClient, alice: Account) -> None:
    # Bearer requests need no CSRF header.
    assert not client.cookies
    assert client.post(f"{API}/auth/totp/setup", headers=alice.headers).status_code == 200

    response = login(client, alice.email)
    assert response.status_code == 200
    token = response.json()["token"]
    csrf = client.cookies["lumen_csrf"]

    # Reads need only the cookie.
    me = client.get(f"{API}/me")
    assert me.status_code == 200
    assert me.json()["email"] == alice.email

    # Writes need the header too, and it must match the cookie.
    refused = client.post(f"{API}/auth/totp/setup")
    assert refused.status_code == 403
    assert "CSRF" in error_of(refused)["message"]
    wrong = client.post(f"{API}/auth/totp/setup", headers={"X-CSRF-Token": csrf + "x"})
    assert wrong.status_code == 403
    allowed = client.post(f"{API}/auth/totp/setup", headers={"X-CSRF-Token": csrf})
    assert allowed.status_code == 200, allowed.text

    # Signing out through the cookie: CSRF checked, then both cookies are cleared.
    assert client.post(f"{API}/auth/logout").status_code == 403
    assert client.get(f"{API}/me").status_code == 200
    out = client.post(f"{API}/auth/logout", headers={"X-CSRF-Token": csrf})
    assert out.status_code == 204
    assert set(raw_set_cookies(out)) == {"lumen_session", "lumen_csrf"}
    assert "lumen_session" not in client.cookies
    assert client.get(f"{API}/me", headers=bearer(token)).status_code == 401
    assert client.get(f"{API}/me", headers=alice.headers).status_code == 200


# -- two-factor authentication ---------------------------------------------------------------


def _enable_totp(client: TestClient, clock: ManualClock, account: Account) -> tuple[str, list[str]]:
    setup = client.post(f"{API}/auth/totp/setup", headers=account.headers)
    assert setup.status_code == 200, setup.text
    secret = setup.json()["secret"]
    uri = setup.json()["otpauth_uri"]
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri
    assert "issuer=Lumen" in uri
    assert pyotp.parse_uri(uri).secret == secret

    wrong = client.post(
        f"{API}/auth/totp/enable",
        json={"code": wrong_totp_code(secret, clock.now()), "password": PASSWORD},
        headers=account.headers,
    )
    assert wrong.status_code == 422
    assert error_fields(wrong) == ["code"]

    code = pyotp.TOTP(secret).at(clock.now())
    # the session alone is not enough: a stolen one could lock the owner out
    for body in ({"code": code}, {"code": code, "password": PASSWORD + "x"}):
        refused = client.post(f"{API}/auth/totp/enable", json=body, headers=account.headers)
        assert refused.status_code == 422
        assert error_fields(refused) == ["password"]
    enabled = client.post(
        f"{API}/auth/totp/enable",
        json={"code": code, "password": PASSWORD},
        headers=account.headers,
    )
    assert enabled.status_code == 200, enabled.text
    codes: list[str] = enabled.json()["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    again = client.post(
        f"{API}/auth/totp/enable",
        json={"code": code, "password": PASSWORD},
        headers=account.headers,
    )
    assert again.status_code == 409
    return secret, codes


def _mfa_ticket(client: TestClient, email: str, password: str = PASSWORD) -> str:
    response = login(client, email, password)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["mfa_required"] is True
    assert body["token"] is None
    assert body["user"] is None
    assert "set-cookie" not in response.headers
    assert not client.cookies
    ticket: str = body["ticket"]
    return ticket


def test_totp_sign_in(client: TestClient, services: Services, clock: ManualClock) -> None:
    carol = sign_up(client, "carol@example.org")
    secret, _ = _enable_totp(client, clock, carol)
    me = client.get(f"{API}/me", headers=carol.headers)
    assert me.json()["two_factor_enabled"] is True

    ticket = _mfa_ticket(client, carol.email)
    # A ticket is not a session.
    assert client.get(f"{API}/me", headers=bearer(ticket)).status_code == 401

    wrong = client.post(
        LOGIN_MFA, json={"ticket": ticket, "code": wrong_totp_code(secret, clock.now())}
    )
    assert wrong.status_code == 401
    assert error_of(wrong)["message"] == "wrong code"
    empty = client.post(LOGIN_MFA, json={"ticket": ticket})
    assert empty.status_code == 422
    assert error_fields(empty) == ["code"]

    clock.advance(30)  # a new step: the code used to enable TOTP is spent
    code = pyotp.TOTP(secret).at(clock.now())
    done = client.post(LOGIN_MFA, json={"ticket": ticket, "code": code})
    assert done.status_code == 200, done.text
    assert done.json()["mfa_required"] is False
    assert set(raw_set_cookies(done)) == {"lumen_session", "lumen_csrf"}
    token = done.json()["token"]
    assert client.get(f"{API}/me", headers=bearer(token)).status_code == 200
    client.cookies.clear()

    # The ticket was consumed.
    reused = client.post(LOGIN_MFA, json={"ticket": ticket, "code": code})
    assert reused.status_code == 401

    # The same code in a new sign-in is a replay.
    replay_ticket = _mfa_ticket(client, carol.email)
    replay = client.post(LOGIN_MFA, json={"ticket": replay_ticket, "code": code})
    assert replay.status_code == 401
    assert "set-cookie" not in replay.headers

    assert audit_outcomes(services, "auth.mfa.totp").count("failure") == 2
    assert audit_outcomes(services, "auth.mfa.totp").count("success") == 1
    assert "mfa_required" in audit_outcomes(services, "auth.login")
    assert services.audit.verify().ok


def test_recovery_codes_work_once(client: TestClient, clock: ManualClock) -> None:
    carol = sign_up(client, "carol@example.org")
    _, codes = _enable_totp(client, clock, carol)

    ticket = _mfa_ticket(client, carol.email)
    used = client.post(LOGIN_MFA, json={"ticket": ticket, "recovery_code": codes[3].upper()})
    assert used.status_code == 200, used.text
    assert client.get(f"{API}/me", headers=bearer(used.json()["token"])).status_code == 200
    client.cookies.clear()

    ticket = _mfa_ticket(client, carol.email)
    again = client.post(LOGIN_MFA, json={"ticket": ticket, "recovery_code": codes[3]})
    assert again.status_code == 401
    other = client.post(LOGIN_MFA, json={"ticket": ticket, "recovery_code": codes[4]})
    assert other.status_code == 200, other.text


def test_too_many_wrong_codes_end_the_ticket(build_client: BuildClient, clock: ManualClock) -> None:
    # A loose account throttle, so that the ticket's own limit is what ends the attempt.
    _, client = build_client(auth={"login_failures_per_account": 20})
    carol = sign_up(client, "carol@example.org")
    secret, _ = _enable_totp(client, clock, carol)
    ticket = _mfa_ticket(client, carol.email)
    wrong = wrong_totp_code(secret, clock.now())
    messages = [
        error_of(client.post(LOGIN_MFA, json={"ticket": ticket, "code": wrong}))["message"]
        for _ in range(6)
    ]
    assert messages == ["wrong code"] * 5 + ["too many wrong codes; sign in again"]

    clock.advance(30)
    right = client.post(
        LOGIN_MFA, json={"ticket": ticket, "code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert right.status_code == 401
    assert "set-cookie" not in right.headers


def test_totp_setup_keeps_an_active_secret(client: TestClient, clock: ManualClock) -> None:
    carol = sign_up(client, "carol@example.org")
    secret, _ = _enable_totp(client, clock, carol)
    again = client.post(f"{API}/auth/totp/setup", headers=carol.headers)
    assert again.status_code == 409
    assert "secret" not in again.text

    ticket = _mfa_ticket(client, carol.email)
    clock.advance(30)
    code = pyotp.TOTP(secret).at(clock.now())
    done = client.post(LOGIN_MFA, json={"ticket": ticket, "code": code})
    assert done.status_code == 200, done.text


def test_wrong_codes_count_against_the_account(
    client: TestClient, services: Services, clock: ManualClock
) -> None:
    carol = sign_up(client, "carol@example.org")
    secret, _ = _enable_totp(client, clock, carol)
    limit = services.settings.auth.login_failures_per_account
    wrong = wrong_totp_code(secret, clock.now())
    ticket = _mfa_ticket(client, carol.email)
    # Every password and code attempt from this address takes one of the account's slots.
    for _ in range(limit - 3):
        assert client.post(LOGIN_MFA, json={"ticket": ticket, "code": wrong}).status_code == 401
    # A fresh ticket (the password is right) does not wipe the count.
    ticket = _mfa_ticket(client, carol.email)
    assert client.post(LOGIN_MFA, json={"ticket": ticket, "code": wrong}).status_code == 401
    # The account is throttled now: no new ticket, and a live one takes no more codes.
    second = login(client, carol.email)
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > 0
    clock.advance(30)
    right = client.post(
        LOGIN_MFA, json={"ticket": ticket, "code": pyotp.TOTP(secret).at(clock.now())}
    )
    assert right.status_code == 429
    assert "set-cookie" not in right.headers


def test_a_short_password_needs_totp(client: TestClient, clock: ManualClock) -> None:
    carol = sign_up(client, "carol@example.org")
    short = "tidal-mesa"  # 10 characters
    refused = client.post(
        f"{API}/auth/password",
        json={"current_password": PASSWORD, "new_password": short},
        headers=carol.headers,
    )
    assert refused.status_code == 422
    assert error_fields(refused) == ["new_password"]

    _enable_totp(client, clock, carol)
    changed = client.post(
        f"{API}/auth/password",
        json={"current_password": PASSWORD, "new_password": short},
        headers=carol.headers,
    )
    assert changed.status_code == 200, changed.text
    token = changed.json()["token"]
    client.cookies.clear()

    disable = client.post(
        f"{API}/auth/totp/disable", json={"password": short}, headers=bearer(token)
    )
    assert disable.status_code == 422
    error = error_of(disable)
    assert [f["field"] for f in error["fields"]] == ["password"]
    assert "15 characters" in error["fields"][0]["message"]
    me = client.get(f"{API}/me", headers=bearer(token))
    assert me.json()["two_factor_enabled"] is True

    # Length counts after NFKC normalisation: 16 code points as typed, 13 once composed.
    decomposed = "tidal-mesa" + "e\u0301" * 3
    changed = client.post(
        f"{API}/auth/password",
        json={"current_password": short, "new_password": decomposed},
        headers=bearer(token),
    )
    assert changed.status_code == 200, changed.text
    token = changed.json()["token"]
    client.cookies.clear()
    disable = client.post(
        f"{API}/auth/totp/disable", json={"password": decomposed}, headers=bearer(token)
    )
    assert disable.status_code == 422
    assert error_fields(disable) == ["password"]

    strong = client.post(
        f"{API}/auth/password",
        json={"current_password": decomposed, "new_password": PASSWORD},
        headers=bearer(token),
    )
    assert strong.status_code == 200, strong.text
    token = strong.json()["token"]
    client.cookies.clear()
    off = client.post(
        f"{API}/auth/totp/disable", json={"password": PASSWORD}, headers=bearer(token)
    )
    assert off.status_code == 204
    assert client.get(f"{API}/me", headers=bearer(token)).json()["two_factor_enabled"] is False
    signed_in = login(client, carol.email)
    assert signed_in.json()["mfa_required"] is False


# -- throttling ------------------------------------------------------------------------------


def test_failed_logins_throttle_the_account(
    client: TestClient, services: Services, alice: Account, bob: Account
) -> None:
    limit = services.settings.auth.login_failures_per_account
    for _ in range(limit):
        assert login(client, alice.email, "a wrong password, again").status_code == 401
    throttled = login(client, alice.email)  # even the right password
    assert throttled.status_code == 429
    assert error_of(throttled)["code"] == "rate_limited"
    retry_after = int(throttled.headers["Retry-After"])
    assert 0 < retry_after <= services.settings.auth.login_window_s
    assert "set-cookie" not in throttled.headers
    assert "throttled" in audit_outcomes(services, "auth.login")

    # Another account from the same address is not affected.
    assert login(client, bob.email).status_code == 200


def test_the_account_throttle_window_ends(
    client: TestClient, services: Services, clock: ManualClock, stack: Stack, alice: Account
) -> None:
    if stack.name != "embedded":
        pytest.skip("Redis windows run on real time, not on the manual clock")
    window = services.settings.auth.login_window_s
    for _ in range(services.settings.auth.login_failures_per_account):
        assert login(client, alice.email, "a wrong password, again").status_code == 401
    clock.advance(window - 10)
    throttled = login(client, alice.email)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "10"
    clock.advance(11)
    assert login(client, alice.email).status_code == 200


def test_failed_logins_from_an_address_delay_it_but_never_block_a_right_password(
    build_client: BuildClient, clock: ManualClock, stack: Stack
) -> None:
    _, client = build_client(
        auth={"login_failures_per_ip": 3, "login_delay_s": 1.0, "login_max_delay_s": 8.0},
        api={"trust_forwarded_for": True},
    )
    dave = sign_up(client, "dave@example.org")
    nat = {"X-Forwarded-For": "203.0.113.7"}
    for index in range(3):
        failed = login(client, f"victim{index}@example.org", "guess guess guess", headers=nat)
        assert failed.status_code == 401
    # A shared address: a right password from it still signs in (no 15-minute block) ...
    assert login(client, dave.email, headers=nat).status_code == 200
    # ... while guesses from it are slowed down: one attempt per (growing) delay.
    delayed = login(client, "victim9@example.org", "guess guess guess", headers=nat)
    assert delayed.status_code == 429
    assert 1 <= int(delayed.headers["Retry-After"]) <= 8
    assert login(client, dave.email, headers={"X-Forwarded-For": "198.51.100.2"}).status_code == 200
    if stack.name == "embedded":  # the in-process store runs on the manual clock
        for _ in range(2):  # each failure past the limit doubles the next delay
            clock.advance(1.5)
            assert login(client, "victim9@example.org", "guess", headers=nat).status_code == 401
        again = login(client, "victim9@example.org", "guess", headers=nat)
        assert again.status_code == 429
        assert int(again.headers["Retry-After"]) == 2


# -- password change -------------------------------------------------------------------------


def test_password_change(client: TestClient, services: Services, alice: Account) -> None:
    other = login(client, alice.email).json()["token"]
    client.cookies.clear()

    wrong = client.post(
        f"{API}/auth/password",
        json={"current_password": "not my password at all", "new_password": "plum-orbit-skye"},
        headers=alice.headers,
    )
    assert wrong.status_code == 422
    assert error_fields(wrong) == ["current_password"]
    assert client.get(f"{API}/me", headers=alice.headers).status_code == 200

    changed = client.post(
        f"{API}/auth/password",
        json={"current_password": PASSWORD, "new_password": "plum-orbit-skye"},
        headers=alice.headers,
    )
    assert changed.status_code == 200, changed.text
    new_token = changed.json()["token"]
    assert new_token not in (alice.token, other)
    client.cookies.clear()
    assert client.get(f"{API}/me", headers=alice.headers).status_code == 401
    assert client.get(f"{API}/me", headers=bearer(other)).status_code == 401
    assert client.get(f"{API}/me", headers=bearer(new_token)).status_code == 200

    assert login(client, alice.email).status_code == 401
    assert login(client, alice.email, "plum-orbit-skye").status_code == 200
    outcomes = audit_outcomes(services, "auth.password_change")
    assert sorted(outcomes) == ["failure", "success"]


# -- roles -----------------------------------------------------------------------------------


def test_role_change_by_an_admin(
    client: TestClient, services: Services, alice: Account, bob: Account
) -> None:
    admin = make_admin(services, alice)

    assert client.get(f"{API}/admin/users", headers=bob.headers).status_code == 403
    patch = client.patch(
        f"{API}/admin/users/{bob.id}", json={"role": "pharma"}, headers=bob.headers
    )
    assert patch.status_code == 403
    assert client.get(f"{API}/admin/audit", headers=bob.headers).status_code == 403

    invalid = client.patch(
        f"{API}/admin/users/{bob.id}", json={"role": "root"}, headers=admin.headers
    )
    assert invalid.status_code == 422
    changed = client.patch(
        f"{API}/admin/users/{bob.id}", json={"role": "pharma"}, headers=admin.headers
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["role"] == "pharma"
    assert client.get(f"{API}/me", headers=bob.headers).status_code == 401

    again = login(client, bob.email)
    assert again.json()["user"]["role"] == "pharma"
    client.cookies.clear()

    demote_self = client.patch(
        f"{API}/admin/users/{admin.id}", json={"role": "patient"}, headers=admin.headers
    )
    assert demote_self.status_code == 409
    missing = client.patch(
        f"{API}/admin/users/00000000-0000-0000-0000-000000000000",
        json={"role": "pharma"},
        headers=admin.headers,
    )
    assert missing.status_code == 404

    audit = client.get(
        f"{API}/admin/audit", params={"action": "admin.set_role"}, headers=admin.headers
    )
    assert audit.status_code == 200, audit.text
    rows = audit.json()["items"]
    assert len(rows) == 1
    assert rows[0]["actor_id"] == admin.id
    assert rows[0]["actor_role"] == "admin"
    assert rows[0]["object_id"] == bob.id
    assert rows[0]["outcome"] == "success"
    assert services.audit.verify().ok


# -- session store outage --------------------------------------------------------------------


def test_a_session_store_outage_fails_closed(
    tmp_path: Path, clock: ManualClock, rag_lumen: Lumen
) -> None:
    down = Stack(
        "redis-down",
        f"sqlite:///{tmp_path / 'lumen.db'}",
        {"backend": "redis", "url": "redis://127.0.0.1:1/0", "timeout_s": 0.2},
    )
    services = build_services(make_settings(tmp_path, down), clock=clock, lumen=rag_lumen)
    with TestClient(
        create_app(services=services), base_url="https://testserver", raise_server_exceptions=False
    ) as client:
        created = client.post(SIGNUP, json={"email": "erin@example.org", "password": PASSWORD})
        assert created.status_code in (201, 503), created.text
        responses = [
            login(client, "erin@example.org"),
            client.get(f"{API}/me", headers=bearer("a" * 43)),
            client.get(f"{API}/me/sessions", headers=bearer("a" * 43)),
            client.post(f"{API}/auth/logout", headers=bearer("a" * 43)),
            client.get(f"{API}/me", cookies={"lumen_session": "a" * 43}),
        ]
        for response in responses:
            # Fail closed: never a 200, and a 503 (not "signed out") while the store is down.
            assert response.status_code == 503, response.text
            error = error_of(response)
            assert "Traceback" not in response.text
            assert "redis" not in response.text.lower()
            assert error["code"] == "unavailable"
            assert "token" not in response.json()
            assert "set-cookie" not in response.headers
