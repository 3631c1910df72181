"""Authentication: API keys and JWT bearer tokens, every way a credential can be wrong, and
no message quoting the credential."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.errors import AuthenticationError, DefinitionError
from metrics_layer.server.auth import ServiceAuthenticator

from .helpers import KEY_ADMIN, KEY_DE, SECRET, forged, token


def refused(auth: ServiceAuthenticator, headers: dict[str, str], match: str) -> str:
    """The refusal's message, checked to quote no credential sent."""
    with pytest.raises(AuthenticationError, match=match) as caught:
        auth.authenticate(headers)
    message = str(caught.value)
    for value in headers.values():
        secret_part = value.removeprefix("Bearer ").strip()
        assert len(secret_part) < 12 or secret_part not in message
        assert secret_part[-12:] not in message or len(secret_part) < 12
    return message


# -- API keys --------------------------------------------------------------------------------


def test_a_known_key_is_its_subject_roles_and_claims(auth: ServiceAuthenticator) -> None:
    principal = auth.authenticate({"X-API-Key": KEY_DE})
    assert (principal.subject, principal.roles, dict(principal.claims)) == (
        "dashboard-de",
        ("tenant",),
        {"country": "DE"},
    )
    assert auth.authenticate({"x-api-key": KEY_ADMIN}).roles == ("admin",)


@pytest.mark.parametrize(
    "key",
    [KEY_DE[:-1], KEY_DE + "x", KEY_DE.upper(), " " + KEY_DE + "\n", "x" * 9000, "\udcff" * 40],
)
def test_a_wrong_key_is_refused_without_being_quoted(auth: ServiceAuthenticator, key: str) -> None:
    refused(auth, {"X-API-Key": key}, "the API key in X-API-Key is not valid")


def test_the_hash_of_a_key_is_not_a_key(auth: ServiceAuthenticator) -> None:
    refused(auth, {"X-API-Key": hashlib.sha256(KEY_DE.encode()).hexdigest()}, "not valid")


def test_no_credentials_is_refused_unless_anonymous_is_enabled(
    auth: ServiceAuthenticator, tmp_path: Path, layer: ml.SemanticLayer
) -> None:
    refused(auth, {}, "needs credentials")
    file = tmp_path / "access.yml"
    file.write_text(
        "anonymous: {roles: [public], claims: {country: FR}}\n"
        "policies: [{name: public, when: {roles: [public]}}]\n"
    )
    open_auth = ServiceAuthenticator.from_file(file, layer, {})
    principal = open_auth.authenticate({})
    assert (principal.subject, principal.roles, dict(principal.claims)) == (
        "anonymous",
        ("public",),
        {"country": "FR"},
    )


def test_two_credentials_at_once_are_refused(auth: ServiceAuthenticator) -> None:
    refused(
        auth, {"X-API-Key": KEY_DE, "Authorization": f"Bearer {token({})}"}, "send one credential"
    )


@pytest.mark.parametrize("value", ["Basic dXNlcjpwYXNz", "Bearer", "Bearer   ", "Token abc"])
def test_other_authorization_schemes_are_refused(auth: ServiceAuthenticator, value: str) -> None:
    refused(auth, {"Authorization": value}, "must be 'Bearer <token>'")


def test_keys_from_the_environment_are_hashed_and_checked(
    access_dir: Path, layer: ml.SemanticLayer
) -> None:
    plain = "env-key-" + "e" * 40
    keys = [{"subject": "ops", "key": plain, "roles": ["admin"]}]
    env = {"METRICS_LAYER_JWT_SECRET": SECRET, "METRICS_LAYER_API_KEYS": json.dumps(keys)}
    auth = ServiceAuthenticator.from_file(access_dir / "access.yml", layer, env)
    assert auth.authenticate({"X-API-Key": plain}).subject == "ops"
    assert all(plain.encode() not in repr(k).encode() for k in auth.config.keys)
    short = json.dumps([{"subject": "ops", "key": "short-key"}])
    with pytest.raises(DefinitionError, match="shorter than 32 characters") as caught:
        ServiceAuthenticator.from_file(
            access_dir / "access.yml",
            layer,
            {"METRICS_LAYER_JWT_SECRET": SECRET, "METRICS_LAYER_API_KEYS": short},
        )
    assert "short-key" not in str(caught.value)


def test_a_plain_key_in_the_file_is_refused_at_its_line(
    tmp_path: Path, layer: ml.SemanticLayer
) -> None:
    file = tmp_path / "access.yml"
    secret = "plain-key-" + "p" * 40
    file.write_text(
        f"api_keys:\n  - {{subject: a, key: {secret}}}\npolicies: [{{name: all, when: {{}}}}]\n"
    )
    with pytest.raises(DefinitionError, match=r"access.yml:2:\d+: error: a plain API key") as e:
        ServiceAuthenticator.from_file(file, layer, {})
    assert secret not in str(e.value)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("policies: []\n", "policies"),
        ("policies: [{name: a, when: {}, colour: red}]\n", "colour"),
        ("policies: [{name: a, when: {}, metrics: {deny: [no_such_metric]}}]\n", "no_such_metric"),
        (
            "policies: [{name: a, when: {}, dimensions: {allow: [user.nope]}}]\n",
            "'user.nope', which the definitions do not have",
        ),
        ("policies: [{name: a, when: {}, row_filter: 'country = {claims.c}'}]\n", "'country'"),
        ("policies: [{name: a, when: {}, row_filter: 'user.country = 1; DROP'}]\n", "row_filter"),
        ("policies: [{name: a, when: {}, row_filter: 'user.x = {c}'}]\n", "placeholder"),
        (
            "jwt: {issuer: i, audience: a, algorithms: [HS256]}\npolicies: [{name: a, when: {}}]\n",
            "METRICS_LAYER_JWT_SECRET, and it is not set",
        ),
        (
            "jwt: {issuer: i, audience: a, algorithms: [none]}\npolicies: [{name: a, when: {}}]\n",
            "algorithms",
        ),
        (
            "jwt: {issuer: i, audience: a, algorithms: [RS256], public_key_file: x.pub, "
            "roles_claim: sub}\npolicies: [{name: a, when: {}}]\n",
            "roles_claim 'sub' is a registered claim",
        ),
        (
            "jwt: {issuer: i, audience: a, algorithms: [RS256], public_key_file: missing.pub}\n"
            "policies: [{name: a, when: {}}]\n",
            "cannot be read",
        ),
    ],
)
def test_a_bad_access_file_is_a_definition_error_with_its_line(
    tmp_path: Path, layer: ml.SemanticLayer, text: str, match: str
) -> None:
    file = tmp_path / "access.yml"
    file.write_text(text)
    with pytest.raises(DefinitionError, match=match) as caught:
        ServiceAuthenticator.from_file(file, layer, {})
    assert "access.yml" in str(caught.value)


def test_a_short_hs256_secret_and_a_pem_secret_are_refused(
    access_dir: Path, layer: ml.SemanticLayer, rsa_keys: tuple[Any, str]
) -> None:
    for secret, match in (("qZ7-tiny", "too short"), (rsa_keys[1], "holds a PEM key")):
        with pytest.raises(DefinitionError, match=match) as caught:
            ServiceAuthenticator.from_file(
                access_dir / "access.yml", layer, {"METRICS_LAYER_JWT_SECRET": secret}
            )
        assert secret not in str(caught.value)


# -- JWT -------------------------------------------------------------------------------------


def test_hs256_and_rs256_tokens_give_their_subject_roles_and_claims(
    auth: ServiceAuthenticator, rsa_keys: tuple[Any, str]
) -> None:
    hs = auth.authenticate(
        {"Authorization": f"Bearer {token({'roles': ['tenant'], 'country': 'FR'})}"}
    )
    assert (hs.subject, hs.roles, hs.claims["country"]) == ("user-1", ("tenant",), "FR")
    rs_token = token({"roles": "regional", "sub": "svc"}, key=rsa_keys[0], algorithm="RS256")
    rs = auth.authenticate({"authorization": f"bearer {rs_token}"})
    assert (rs.subject, rs.roles) == ("svc", ("regional",))


@pytest.mark.parametrize(
    ("claims", "match"),
    [
        ({"exp": int(time.time()) - 60}, "has expired"),
        ({"nbf": int(time.time()) + 600}, "not valid yet"),
        ({"iat": int(time.time()) + 600}, "not valid yet"),
        ({"aud": "another-api"}, "not for this service"),
        ({"iss": "https://evil.test/"}, "not issued by"),
        ({"exp": None}, "no 'exp' claim"),
        ({"sub": None}, "no 'sub' claim"),
        ({"aud": None}, "no 'aud' claim"),
        ({"roles": {"admin": True}}, "must be a list of role names"),
        ({"sub": 42}, "not valid: Subject must be a string"),
    ],
)
def test_a_token_with_wrong_claims_is_refused(
    auth: ServiceAuthenticator, claims: dict[str, Any], match: str
) -> None:
    refused(auth, {"Authorization": f"Bearer {token(claims)}"}, match)


def test_an_expired_token_within_the_leeway_still_passes(auth: ServiceAuthenticator) -> None:
    late = token({"exp": int(time.time()) - 2})  # leeway_seconds: 5
    assert auth.authenticate({"Authorization": f"Bearer {late}"}).subject == "user-1"


def test_a_tampered_token_is_refused(auth: ServiceAuthenticator) -> None:
    good = token({"roles": ["tenant"], "country": "DE"})
    header, payload, signature = good.split(".")
    other = token({"roles": ["admin"], "country": "DE"}).split(".")[1]
    for bad in (
        f"{header}.{other}.{signature}",
        f"{header}.{payload}.{signature[:-2]}AA",
        f"{header}.{payload}.",
        f"{header}.{payload}",
        "not-a-token",
    ):
        refused(
            auth,
            {"Authorization": f"Bearer {bad}"},
            "signature does not verify|not a JWT|not a well-formed JWT",
        )


def test_a_token_signed_with_another_secret_is_refused(auth: ServiceAuthenticator) -> None:
    bad = token({}, key="another-secret-that-is-long-enough-32")
    refused(auth, {"Authorization": f"Bearer {bad}"}, "signature does not verify")


@pytest.mark.parametrize("alg", ["none", "None", "NONE", "HS512", "RS512", "ES256"])
def test_other_algorithms_and_none_are_refused(auth: ServiceAuthenticator, alg: str) -> None:
    bad = forged({"alg": alg, "typ": "JWT"}, {"roles": ["admin"]}, None)
    refused(auth, {"Authorization": f"Bearer {bad}"}, "must be signed with HS256 or RS256")


def test_the_rs256_public_key_used_as_an_hs256_secret_is_refused(
    auth: ServiceAuthenticator, access_dir: Path, layer: ml.SemanticLayer, rsa_keys: tuple[Any, str]
) -> None:
    public = rsa_keys[1].encode()
    confused = forged({"alg": "HS256", "typ": "JWT"}, {"roles": ["admin"]}, public)
    # Both algorithms accepted: HS256 is checked with its own secret only.
    refused(auth, {"Authorization": f"Bearer {confused}"}, "signature does not verify")
    # Only RS256 accepted: an HS256 token is refused before any signature check.
    file = access_dir / "rs_only.yml"
    file.write_text(
        "jwt: {issuer: i, audience: a, algorithms: [RS256], public_key_file: jwt.pub}\n"
        "policies: [{name: all, when: {}}]\n"
    )
    rs_only = ServiceAuthenticator.from_file(file, layer, {})
    refused(rs_only, {"Authorization": f"Bearer {confused}"}, "must be signed with RS256")


def test_tokens_are_refused_when_no_jwt_is_configured(
    tmp_path: Path, layer: ml.SemanticLayer
) -> None:
    file = tmp_path / "access.yml"
    file.write_text("policies: [{name: all, when: {}}]\n")
    keys_only = ServiceAuthenticator.from_file(file, layer, {})
    refused(keys_only, {"Authorization": f"Bearer {token({})}"}, "does not accept bearer tokens")
