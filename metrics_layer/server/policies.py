"""The access file (``access.yml``): API keys, JWT settings, anonymous access and the access
policies, read and checked once when the service starts (docs/access.md).

Secrets are not in this file: an API key is written as the SHA-256 of the key, the JWT secret
and (optionally) the public key come from environment variables, and plain keys may only come
from the environment (``METRICS_LAYER_API_KEYS``). Every problem is a DefinitionError with the
file, line and fix, and quotes no key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import pydantic

from metrics_layer.errors import DefinitionError, Diagnostic, FilterError, Level
from metrics_layer.server.rowfilter import RowFilter
from metrics_layer.spec.yaml_source import read_yaml

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

__all__ = [
    "API_KEYS_ENV",
    "REGISTERED_CLAIMS",
    "AccessConfig",
    "ApiKey",
    "JwtSettings",
    "Names",
    "Policy",
    "load_access",
]

API_KEYS_ENV = "METRICS_LAYER_API_KEYS"
# The token's own bookkeeping: never a list of roles.
REGISTERED_CLAIMS = ("exp", "nbf", "iat", "iss", "aud", "sub", "jti")
# A plain key shorter than this is refused: keys are random strings, not passwords.
MIN_KEY_CHARS = 32
_MAX_FILE_BYTES = 1024 * 1024


class _Strict(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True, strict=True)


Claim = str | int | float | bool | list[str | int | float | bool]


class _KeySpec(_Strict):
    subject: str = pydantic.Field(min_length=1, max_length=200)
    sha256: str | None = pydantic.Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    key: str | None = None
    roles: list[str] = []
    claims: dict[str, Claim] = {}


class _JwtSpec(_Strict):
    issuer: str = pydantic.Field(min_length=1)
    audience: str = pydantic.Field(min_length=1)
    algorithms: list[Literal["HS256", "RS256"]] = pydantic.Field(min_length=1)
    secret_env: str = "METRICS_LAYER_JWT_SECRET"
    public_key_file: str | None = None
    public_key_env: str = "METRICS_LAYER_JWT_PUBLIC_KEY"
    leeway_seconds: int = pydantic.Field(default=30, ge=0, le=300)
    roles_claim: str = "roles"


class _AnonymousSpec(_Strict):
    roles: list[str] = []
    claims: dict[str, Claim] = {}


class _NamesSpec(_Strict):
    allow: list[str] | None = None
    deny: list[str] = []


class _WhenSpec(_Strict):
    roles: list[str] = []
    claims: dict[str, str | int | bool] = {}


class _PolicySpec(_Strict):
    name: str = pydantic.Field(min_length=1, max_length=200)
    when: _WhenSpec
    metrics: _NamesSpec = _NamesSpec()
    dimensions: _NamesSpec = _NamesSpec()
    row_filter: str | None = None


class _AccessSpec(_Strict):
    anonymous: _AnonymousSpec | None = None
    api_keys: list[_KeySpec] = []
    jwt: _JwtSpec | None = None
    policies: list[_PolicySpec] = pydantic.Field(min_length=1)


@dataclass(frozen=True)
class ApiKey:
    """A key as kept: the SHA-256 of the key (never the key), who it is and what it may."""

    digest: bytes
    subject: str
    roles: tuple[str, ...]
    claims: Mapping[str, Any]


@dataclass(frozen=True)
class JwtSettings:
    """How bearer tokens are checked; ``secret`` and ``public_key`` as read from the
    environment (or the public key's file), each only for its algorithm."""

    issuer: str
    audience: str
    algorithms: tuple[str, ...]
    secret: bytes | None
    public_key: RSAPublicKey | None
    leeway_seconds: int
    roles_claim: str


@dataclass(frozen=True)
class Names:
    """An allow list (None: every name) and a deny list, of exact names.

    >>> Names(frozenset({"a", "b"}), frozenset({"b"})).admits("a"), Names(None).admits("b")
    (True, True)
    >>> Names(frozenset({"a", "b"}), frozenset({"b"})).admits("b")
    False
    """

    allow: frozenset[str] | None
    deny: frozenset[str] = frozenset()

    def admits(self, name: str) -> bool:
        return (self.allow is None or name in self.allow) and name not in self.deny


@dataclass(frozen=True)
class Policy:
    """One access policy: whom it applies to, what they see, the rows they see."""

    name: str
    roles: frozenset[str]
    claims: Mapping[str, str | int | bool]
    metrics: Names
    dimensions: Names
    row_filter: RowFilter | None
    # A stable text of everything above, for Access.key.
    canonical: str

    def applies(self, roles: Sequence[str], claims: Mapping[str, Any]) -> bool:
        """Whether a principal with ``roles`` and ``claims`` matches: one of the policy's
        roles (when it lists any) and every claim it lists (equal, or held in a list claim)."""
        if self.roles and not self.roles & set(roles):
            return False
        for name, wanted in self.claims.items():
            have = claims.get(name)
            held = have if isinstance(have, list) else [have]
            if not any(_same(item, wanted) for item in held):
                return False
        return True


def _same(a: object, b: object) -> bool:
    """Equal and of the same type: ``True`` is not ``1``, ``"1"`` is not ``1``."""
    return type(a) is type(b) and a == b


@dataclass(frozen=True)
class AccessConfig:
    """Everything the access file and the environment configure."""

    file: str
    anonymous: tuple[tuple[str, ...], Mapping[str, Any]] | None
    keys: tuple[ApiKey, ...]
    jwt: JwtSettings | None
    policies: tuple[Policy, ...]


def load_access(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> AccessConfig:
    """Read the access file at ``path`` and the secrets from ``environ`` (default: the
    process environment); a DefinitionError listing every problem, with file and line."""
    env = os.environ if environ is None else environ
    file = Path(path)
    try:
        data = file.read_bytes()
        if len(data) > _MAX_FILE_BYTES:
            raise _fail(str(file), f"is larger than {_MAX_FILE_BYTES:,} bytes", "split it up")
        text = data.decode("utf-8")
    except OSError as exc:
        raise _fail(
            str(file), f"cannot be read ({exc.strerror or type(exc).__name__})", "check the path"
        ) from None
    except UnicodeDecodeError:
        raise _fail(str(file), "is not UTF-8 text", "save it as UTF-8") from None
    doc = read_yaml(text, str(file))
    errors = [d for d in doc.diagnostics if d.level is Level.ERROR]
    if errors:
        raise DefinitionError(errors)
    try:
        spec = _AccessSpec.model_validate(doc.data)
    except pydantic.ValidationError as exc:
        raise DefinitionError(
            [
                _diagnostic(str(file), tuple(e["loc"]), e["msg"], doc.position(tuple(e["loc"])))
                for e in exc.errors(include_input=False)
            ]
        ) from None
    problems: list[Diagnostic] = []

    def problem(where: tuple[str | int, ...], message: str, hint: str) -> None:
        line, column = doc.position(where) or (None, None)
        problems.append(Diagnostic(Level.ERROR, message, str(file), line, column, "access", hint))

    keys = [_key(k, where=("api_keys", i), problem=problem) for i, k in enumerate(spec.api_keys)]
    keys += _env_keys(env, str(file), problems)
    jwt = None if spec.jwt is None else _jwt(spec.jwt, file.parent, env, problem)
    policies = []
    for index, item in enumerate(spec.policies):
        row_filter = None
        if item.row_filter is not None:
            try:
                row_filter = RowFilter.parse(item.row_filter, field="row_filter")
            except FilterError as exc:
                problem(("policies", index, "row_filter"), str(exc), "see docs/access.md")
        policies.append(_policy(item, row_filter))
    digests = [k.digest for k in keys if k is not None]
    if len(set(digests)) != len(digests):
        problem(("api_keys",), "two API keys are the same key", "give each caller its own key")
    names = [p.name for p in spec.policies]
    if len(set(names)) != len(names):
        problem(("policies",), "two policies share a name", "name each policy once")
    if problems:
        raise DefinitionError(problems)
    anonymous = None
    if spec.anonymous is not None:
        anonymous = (tuple(spec.anonymous.roles), dict(spec.anonymous.claims))
    return AccessConfig(
        str(file), anonymous, tuple(k for k in keys if k is not None), jwt, tuple(policies)
    )


def _policy(item: _PolicySpec, row_filter: RowFilter | None) -> Policy:
    metrics = _names(item.metrics)
    dimensions = _names(item.dimensions)
    canonical = json.dumps(
        {
            "name": item.name,
            "metrics": [sorted(metrics.allow or ()), metrics.allow is None, sorted(metrics.deny)],
            "dimensions": [
                sorted(dimensions.allow or ()),
                dimensions.allow is None,
                sorted(dimensions.deny),
            ],
            "row_filter": None if row_filter is None else row_filter.tree.sql(),
        },
        sort_keys=True,
    )
    return Policy(
        item.name,
        frozenset(item.when.roles),
        dict(item.when.claims),
        metrics,
        dimensions,
        row_filter,
        canonical,
    )


def _names(spec: _NamesSpec) -> Names:
    allow = None if spec.allow is None else frozenset(n.strip() for n in spec.allow)
    return Names(allow, frozenset(n.strip() for n in spec.deny))


def _key(spec: _KeySpec, *, where: tuple[str | int, ...], problem: Any) -> ApiKey | None:
    if spec.key is not None:
        problem(
            (*where, "key"),
            "a plain API key is written in the access file",
            f"write its SHA-256 as 'sha256:' instead, or give it in {API_KEYS_ENV}; and replace "
            "the key, since it has been stored in plain text",
        )
        return None
    if spec.sha256 is None:
        problem(where, "an API key has no 'sha256'", "write the SHA-256 of the key (hex)")
        return None
    return ApiKey(bytes.fromhex(spec.sha256), spec.subject, tuple(spec.roles), dict(spec.claims))


def _env_keys(env: Mapping[str, str], file: str, problems: list[Diagnostic]) -> list[ApiKey | None]:
    """Keys from ``METRICS_LAYER_API_KEYS``: a JSON list of ``{subject, key | sha256, roles,
    claims}``. Messages name the item by index and subject, never the key."""
    text = env.get(API_KEYS_ENV)
    if not text:
        return []

    def fail(message: str) -> list[ApiKey | None]:
        problems.append(
            Diagnostic(
                Level.ERROR,
                f"{API_KEYS_ENV}: {message}",
                file,
                code="access",
                hint="see docs/access.md#api-keys",
            )
        )
        return []

    try:
        items = json.loads(text)
    except ValueError:
        return fail("is not JSON; give a JSON list of {subject, key, roles, claims}")
    if not isinstance(items, list):
        return fail("must be a JSON list of {subject, key, roles, claims}")
    found: list[ApiKey | None] = []
    for index, item in enumerate(items):
        try:
            spec = _KeySpec.model_validate(item)
        except pydantic.ValidationError as exc:
            first = exc.errors(include_input=False)[0]
            where = ".".join(str(p) for p in first["loc"])
            return fail(f"item {index}: {where}: {first['msg']}")
        if (spec.key is None) == (spec.sha256 is None):
            return fail(f"item {index} ({spec.subject}): give exactly one of 'key' and 'sha256'")
        if spec.key is not None and len(spec.key) < MIN_KEY_CHARS:
            return fail(
                f"item {index} ({spec.subject}): the key is shorter than {MIN_KEY_CHARS} "
                "characters; use a random key, e.g. python -c 'import secrets; "
                "print(secrets.token_urlsafe(32))'"
            )
        digest = (
            hashlib.sha256(spec.key.encode("utf-8")).digest()
            if spec.key is not None
            else bytes.fromhex(spec.sha256 or "")
        )
        found.append(ApiKey(digest, spec.subject, tuple(spec.roles), dict(spec.claims)))
    return found


def _jwt(spec: _JwtSpec, folder: Path, env: Mapping[str, str], problem: Any) -> JwtSettings:
    secret: bytes | None = None
    public_key: RSAPublicKey | None = None
    if "HS256" in spec.algorithms:
        text = env.get(spec.secret_env, "")
        if len(text.encode("utf-8")) < 32:
            problem(
                ("jwt", "secret_env"),
                f"HS256 needs a secret of at least 32 bytes in the environment variable "
                f"{spec.secret_env}, and it is {'too short' if text else 'not set'}",
                "set it (never in the definitions repository)",
            )
        elif "-----BEGIN" in text:
            problem(
                ("jwt", "secret_env"),
                f"{spec.secret_env} holds a PEM key, not an HS256 secret",
                "give the RSA public key as public_key_file or public_key_env for RS256",
            )
        else:
            secret = text.encode("utf-8")
    if "RS256" in spec.algorithms:
        public_key = _public_key(spec, folder, env, problem)
    if spec.roles_claim in REGISTERED_CLAIMS:
        problem(
            ("jwt", "roles_claim"),
            f"roles_claim '{spec.roles_claim}' is a registered claim, not a list of roles",
            "name the claim your issuer puts the roles in, such as 'roles'",
        )
    return JwtSettings(
        spec.issuer,
        spec.audience,
        tuple(spec.algorithms),
        secret,
        public_key,
        spec.leeway_seconds,
        spec.roles_claim,
    )


def _public_key(
    spec: _JwtSpec, folder: Path, env: Mapping[str, str], problem: Any
) -> RSAPublicKey | None:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    where: tuple[str | int, ...] = ("jwt", "public_key_file")
    if spec.public_key_file is not None:
        try:
            text = (folder / spec.public_key_file).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            problem(where, "the RS256 public key file cannot be read", "check the path")
            return None
    else:
        where = ("jwt", "public_key_env")
        text = env.get(spec.public_key_env, "")
        if not text:
            problem(
                where,
                f"RS256 needs a public key: public_key_file, or the environment variable "
                f"{spec.public_key_env}, which is not set",
                "give the issuer's RSA public key in PEM",
            )
            return None
    try:
        key = load_pem_public_key(text.encode("utf-8"))
    except ValueError:
        problem(where, "the RS256 public key is not an RSA public key in PEM", "check the key")
        return None
    if not isinstance(key, RSAPublicKey) or key.key_size < 2048:
        problem(
            where,
            "the RS256 public key is not an RSA key of 2048 bits or more",
            "give the issuer's RSA public key",
        )
        return None
    return key


def _diagnostic(
    file: str, loc: tuple[str | int, ...], message: str, position: tuple[int, int] | None
) -> Diagnostic:
    line, column = position or (None, None)
    where = ".".join(str(p) for p in loc) or "the file"
    return Diagnostic(
        Level.ERROR,
        f"{where}: {message[:1].lower()}{message[1:]}",
        file,
        line,
        column,
        "access",
        "see docs/access.md for every field",
    )


def _fail(file: str, message: str, hint: str) -> DefinitionError:
    return DefinitionError([Diagnostic(Level.ERROR, message, file, code="access", hint=hint)])
