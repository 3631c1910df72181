"""Fixtures for the access tests: an access file with keys, JWT and tenant policies over the
shipped definitions, signing keys made once, and helpers to run a caller's query."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.server.access import PolicyAccess
from metrics_layer.server.auth import ServiceAuthenticator
from metrics_layer.server.contracts import Principal

from .helpers import AUDIENCE, ISSUER, KEY_ADMIN, KEY_DE, SECRET

ACCESS_YML = f"""\
api_keys:
  - subject: dashboard-de
    sha256: {hashlib.sha256(KEY_DE.encode()).hexdigest()}
    roles: [tenant]
    claims: {{country: DE}}
  - subject: admin
    sha256: {hashlib.sha256(KEY_ADMIN.encode()).hexdigest()}
    roles: [admin]
jwt:
  issuer: {ISSUER}
  audience: {AUDIENCE}
  algorithms: [HS256, RS256]
  public_key_file: jwt.pub
  leeway_seconds: 5
policies:
  - name: admin
    when: {{roles: [admin]}}
  - name: tenant
    when: {{roles: [tenant]}}
    metrics: {{deny: [mrr, churned_mrr]}}
    dimensions: {{deny: [user.acquisition_channel]}}
    row_filter: "user.country = {{claims.country}}"
  - name: regional
    when: {{roles: [regional]}}
    metrics: {{allow: [signups, active_users]}}
    dimensions: {{allow: [user.plan, user.country, user.signed_up_at]}}
    row_filter: "user.country IN ({{claims.countries}})"
  - name: platform
    when: {{roles: [platform]}}
    row_filter: "event.platform = {{claims.platform}}"
"""


@pytest.fixture(scope="session")
def rsa_keys() -> tuple[Any, str]:
    """An RSA private key object and its public key in PEM (made once: 2048 bits)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public.decode("ascii")


@pytest.fixture(scope="session")
def access_dir(tmp_path_factory: pytest.TempPathFactory, rsa_keys: tuple[Any, str]) -> Path:
    folder = tmp_path_factory.mktemp("access")
    (folder / "access.yml").write_text(ACCESS_YML)
    (folder / "jwt.pub").write_text(rsa_keys[1])
    return folder


@pytest.fixture(scope="session")
def env() -> dict[str, str]:
    return {"METRICS_LAYER_JWT_SECRET": SECRET}


@pytest.fixture(scope="session")
def auth(access_dir: Path, layer: ml.SemanticLayer, env: dict[str, str]) -> ServiceAuthenticator:
    return ServiceAuthenticator.from_file(access_dir / "access.yml", layer, env)


@pytest.fixture(scope="session")
def tenant(auth: ServiceAuthenticator) -> Callable[..., PolicyAccess]:
    """The access of a principal with ``roles`` and ``claims``."""

    def make(roles: tuple[str, ...] = ("tenant",), **claims: Any) -> PolicyAccess:
        return auth.access(Principal("someone", roles, claims))

    return make
