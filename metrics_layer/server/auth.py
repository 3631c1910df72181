"""Who is asking: API keys and JWT bearer tokens, checked against the access file
(``server/policies.py``), and the access policy that applies to them (docs/access.md).

- An API key comes in ``X-API-Key``. Only its SHA-256 is kept; the digest of the key sent is
  compared with every kept digest in constant time (``hmac.compare_digest``, no early exit).
- A JWT comes in ``Authorization: Bearer``. The algorithm in its header picks the one key
  configured for that algorithm (HS256: the secret; RS256: the RSA public key object), and
  PyJWT verifies it with that algorithm alone: ``none`` is never accepted, and a token signed
  with HS256 using the public key as the secret does not verify (the key is an RSA key object,
  not bytes, and HS256 is only accepted when configured, with its own secret). ``exp``,
  ``iss``, ``aud`` and ``sub`` are required; ``nbf`` and ``iat`` are checked when present;
  clocks may differ by ``leeway_seconds``.
- Without credentials, a request is anonymous only when the access file has ``anonymous:``.

Every failure is an AuthenticationError whose message says what to send; none quotes the key
or token.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Mapping
from typing import Any

from metrics_layer.api import SemanticLayer
from metrics_layer.errors import (
    AuthenticationError,
    DefinitionError,
    Diagnostic,
    Level,
    printable,
)
from metrics_layer.server.access import PolicyAccess, policy_problems
from metrics_layer.server.contracts import Principal
from metrics_layer.server.policies import AccessConfig, JwtSettings, load_access

__all__ = ["API_KEY_HEADER", "MAX_CREDENTIAL_CHARS", "ServiceAuthenticator"]

API_KEY_HEADER = "x-api-key"
# A key or token longer than this is refused before any parsing.
MAX_CREDENTIAL_CHARS = 8192


class ServiceAuthenticator:
    """The service's ``Authenticator``: credentials to a principal, a principal to its access.

    ``layer`` is the loaded layer, or a function returning the current one (definitions
    reload): policies name its metrics and dimensions, and every name they list must exist in
    it (checked here, once).
    """

    def __init__(
        self, config: AccessConfig, layer: SemanticLayer | Callable[[], SemanticLayer]
    ) -> None:
        self.config = config
        self._layer = layer if callable(layer) else (lambda: layer)
        problems = policy_problems(self._layer().graph, config.policies)
        if problems:
            raise DefinitionError(
                [
                    Diagnostic(Level.ERROR, p, config.file, code="access", hint="fix the name")
                    for p in problems
                ]
            )

    @classmethod
    def from_file(
        cls,
        path: str | os.PathLike[str],
        layer: SemanticLayer | Callable[[], SemanticLayer],
        environ: Mapping[str, str] | None = None,
    ) -> ServiceAuthenticator:
        """Read the access file at ``path``, secrets from ``environ`` (default: the process
        environment)."""
        return cls(load_access(path, environ), layer)

    def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """The principal of a request's headers (any letter case); AuthenticationError when
        its credentials are missing, unknown or invalid."""
        lowered = {str(k).lower(): v for k, v in headers.items()}
        key = lowered.get(API_KEY_HEADER)
        authorization = lowered.get("authorization")
        if key is not None and authorization is not None:
            raise AuthenticationError(
                f"send one credential: an API key in {_KEY_NAME} or a token in Authorization, "
                "not both"
            )
        if key is not None:
            return self._key_principal(key)
        if authorization is not None:
            scheme, _, token = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise AuthenticationError(
                    "the Authorization header must be 'Bearer <token>'; send an API key in "
                    f"{_KEY_NAME} instead of other schemes"
                )
            return self._token_principal(token.strip())
        if self.config.anonymous is not None:
            roles, claims = self.config.anonymous
            return Principal("anonymous", roles, dict(claims))
        raise AuthenticationError(
            f"this service needs credentials: an API key in {_KEY_NAME} or a JWT in "
            "'Authorization: Bearer <token>'"
        )

    def access(self, principal: Principal) -> PolicyAccess:
        """The access of the first policy (in file order) that applies to ``principal``;
        none applying, an access that sees nothing. AccessError when its row filter needs a
        claim the principal lacks or holds in an unusable shape."""
        graph = self._layer().graph
        for policy in self.config.policies:
            if policy.applies(principal.roles, principal.claims):
                return PolicyAccess(policy, principal.claims, graph)
        return PolicyAccess(None, {}, graph)

    def _key_principal(self, key: str) -> Principal:
        if not isinstance(key, str) or not key or len(key) > MAX_CREDENTIAL_CHARS:
            raise AuthenticationError(f"the API key in {_KEY_NAME} is not valid")
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        found = None
        for item in self.config.keys:  # every digest compared: no early exit
            if hmac.compare_digest(digest, item.digest) and found is None:
                found = item
        if found is None:
            raise AuthenticationError(f"the API key in {_KEY_NAME} is not valid")
        return Principal(found.subject, found.roles, dict(found.claims))

    def _token_principal(self, token: str) -> Principal:
        settings = self.config.jwt
        if settings is None:
            raise AuthenticationError(
                f"this service does not accept bearer tokens; send an API key in {_KEY_NAME}"
            )
        if len(token) > MAX_CREDENTIAL_CHARS:
            raise AuthenticationError(
                f"the bearer token is longer than {MAX_CREDENTIAL_CHARS:,} characters"
            )
        payload = _verified(token, settings)
        subject = payload.get("sub")
        if not isinstance(subject, str) or not subject:
            raise AuthenticationError("the token's 'sub' claim must be a non-empty string")
        roles = payload.get(settings.roles_claim, [])
        if isinstance(roles, str):
            roles = [roles]
        if not (isinstance(roles, list) and all(isinstance(r, str) for r in roles)):
            raise AuthenticationError(
                f"the token's '{settings.roles_claim}' claim must be a list of role names"
            )
        return Principal(subject, tuple(roles), payload)


_KEY_NAME = "X-API-Key"


def _verified(token: str, settings: JwtSettings) -> dict[str, Any]:
    """The token's claims, once its signature, algorithm, issuer, audience and times check."""
    import jwt

    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError:
        raise AuthenticationError("the bearer token is not a JWT") from None
    key: Any = None
    if algorithm == "HS256" and "HS256" in settings.algorithms:
        key = settings.secret
    elif algorithm == "RS256" and "RS256" in settings.algorithms:
        key = settings.public_key
    if key is None:
        allowed = " or ".join(settings.algorithms)
        raise AuthenticationError(f"the bearer token must be signed with {allowed}")
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[str(algorithm)],
            audience=settings.audience,
            issuer=settings.issuer,
            leeway=settings.leeway_seconds,
            options={"require": ["exp", "iss", "aud", "sub"]},
        )
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("the bearer token has expired; get a new one") from None
    except jwt.ImmatureSignatureError:
        raise AuthenticationError("the bearer token is not valid yet (nbf or iat)") from None
    except jwt.InvalidAudienceError:
        raise AuthenticationError(
            f"the bearer token is not for this service; its audience must be '{settings.audience}'"
        ) from None
    except jwt.InvalidIssuerError:
        raise AuthenticationError(
            f"the bearer token was not issued by '{settings.issuer}'"
        ) from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthenticationError(
            f"the bearer token has no '{exc.claim}' claim, which this service requires"
        ) from None
    except jwt.InvalidSignatureError:
        raise AuthenticationError("the bearer token's signature does not verify") from None
    except jwt.DecodeError:
        raise AuthenticationError(
            "the bearer token is not a well-formed JWT, or its signature does not verify"
        ) from None
    except jwt.PyJWTError as exc:  # PyJWT's own words name a claim, never the token
        raise AuthenticationError(
            f"the bearer token is not valid: {printable(str(exc))[:200]}"
        ) from None
    if not isinstance(payload, dict):
        raise AuthenticationError("the bearer token's claims are not an object")
    return payload
