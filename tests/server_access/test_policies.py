"""The access file as documented, and which policy applies to whom."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

import metrics_layer as ml
from metrics_layer.server.auth import ServiceAuthenticator
from metrics_layer.server.contracts import Principal
from metrics_layer.server.policies import load_access

DOCS = Path(__file__).resolve().parents[2] / "docs" / "access.md"


def test_the_documented_access_file_loads(
    tmp_path: Path, layer: ml.SemanticLayer, rsa_keys: tuple[Any, str]
) -> None:
    text = DOCS.read_text(encoding="utf-8")
    [example] = re.findall(r"```yaml\n(# access.yml.*?)```", text, re.DOTALL)
    (tmp_path / "keys").mkdir()
    (tmp_path / "keys" / "issuer.pub").write_text(rsa_keys[1])
    (tmp_path / "access.yml").write_text(example)
    auth = ServiceAuthenticator.from_file(tmp_path / "access.yml", layer, {})
    assert [p.name for p in auth.config.policies] == ["staff", "tenant", "regional"]
    assert auth.config.jwt is not None
    assert auth.config.jwt.algorithms == ("RS256",)
    assert auth.config.anonymous is None
    for name in ("API_KEYS", "JWT_SECRET", "JWT_PUBLIC_KEY"):
        assert f"METRICS_LAYER_{name}" in text


@pytest.mark.parametrize(
    ("roles", "claims", "policy"),
    [
        (("analyst",), {}, "staff"),
        (("tenant", "admin"), {"country": "DE"}, "staff"),  # the first that applies
        (("tenant",), {"country": "DE"}, "tenant"),
        ((), {"tier": "gold"}, "gold"),
        ((), {"tier": ["silver", "gold"]}, "gold"),
        ((), {"tier": "silver"}, None),
        ((), {"level": 1}, "level one"),
        ((), {"level": True}, None),  # True is not 1
        ((), {"level": "1"}, None),
        (("Tenant",), {"country": "DE"}, None),  # role names are exact
    ],
)
def test_the_first_policy_that_applies_is_the_callers(
    tmp_path: Path,
    layer: ml.SemanticLayer,
    roles: tuple[str, ...],
    claims: dict[str, Any],
    policy: str | None,
) -> None:
    file = tmp_path / "access.yml"
    file.write_text(
        "policies:\n"
        "  - {name: staff, when: {roles: [admin, analyst]}}\n"
        "  - name: tenant\n"
        "    when: {roles: [tenant]}\n"
        "    row_filter: 'user.country = {claims.country}'\n"
        "  - {name: gold, when: {claims: {tier: gold}}}\n"
        "  - {name: level one, when: {claims: {level: 1}}}\n"
    )
    auth = ServiceAuthenticator(load_access(file, {}), layer)
    access = auth.access(Principal("p", roles, claims))
    assert (access.policy.name if access.policy else None) == policy
