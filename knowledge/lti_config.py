"""LTI 1.3 platforms per tenant, and the tool's signing key.

A college registers Stackwise in its LMS (Canvas developer key, Moodle external tool) and gets a
client id and deployment id(s); the admin then tells Stackwise about that platform, next to the
tenant's other configuration, in either place (both are read, entries add up):

- the institution YAML, ``institution.lti.platforms`` (versioned with the tenant's catalog file);
- a deployment file named by ``STACKWISE_LTI_CONFIG`` (YAML or JSON) for values that belong to
  one installation rather than the catalog: ``{tenants: {<id>: {platforms: [...]}}}``.

Each platform: ``issuer``, ``client_id``, ``auth_login_url`` (OIDC authorization endpoint),
``auth_token_url``, ``key_set_url`` (the platform's JWKS), ``deployment_ids`` (at least one) and
optional ``frame_origins`` (origins of the LMS pages that frame the tool, e.g. a Canvas
institution's ``https://college.instructure.com``; the issuer's origin is always allowed).

Canvas Cloud uses one issuer (``https://canvas.instructure.com``) for every college, so a
registration is keyed by (issuer, client id), and a deployment id belongs to exactly one tenant.

The tool's key: ``STACKWISE_LTI_PRIVATE_KEY`` (an RSA private key, PEM). Without it each process
generates one at start and logs a warning; platforms that cached its JWKS then fail to verify
deep-linking responses after a restart, so production sets it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

from knowledge.tenants import TENANT_ID_RE, normalize_origin

CONFIG_ENV = "STACKWISE_LTI_CONFIG"
PRIVATE_KEY_ENV = "STACKWISE_LTI_PRIVATE_KEY"
TOOL_URL_ENV = "STACKWISE_LTI_TOOL_URL"
URL_FIELDS = ("auth_login_url", "auth_token_url", "key_set_url")
MAX_ID_CHARS = 255  # client and deployment ids (LTI 1.3: strings of at most 255 characters)
LOCALHOST = re.compile(r"^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$")

log = logging.getLogger(__name__)


class LtiConfigError(ValueError):
    """An LTI platform entry is incomplete, malformed or conflicts with another."""


@dataclass(frozen=True)
class Platform:
    tenant_id: str
    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployment_ids: tuple[str, ...]
    frame_origins: tuple[str, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.issuer, self.client_id)


def _url(value: Any, where: str, problems: list[str]) -> str | None:
    """An https URL (http only for localhost: a platform simulated on a developer's machine)."""
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: required (a URL)")
        return None
    value = value.strip()
    parts = urlsplit(value)
    host = (parts.hostname or "").lower()
    ok = parts.scheme == "https" or (parts.scheme == "http" and LOCALHOST.match(host or "-"))
    if not host or not ok or parts.username or parts.fragment:
        problems.append(f"{where}: must be an https:// URL, got {value!r}")
        return None
    return value


def _ident(value: Any, where: str, problems: list[str]) -> str | None:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)  # Canvas client ids are numbers; YAML reads them as ints
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_ID_CHARS:
        problems.append(f"{where}: required (a string of at most {MAX_ID_CHARS} characters)")
        return None
    return value.strip()


def parse_platforms(tenant_id: str, raw: Any, where: str) -> list[Platform]:
    """The platforms of one tenant's ``lti`` block ``{platforms: [...]}``; raises
    LtiConfigError listing every problem found."""
    problems: list[str] = []
    if not isinstance(tenant_id, str) or not TENANT_ID_RE.match(tenant_id):
        raise LtiConfigError(f"{where}: not a tenant id: {tenant_id!r}")
    if raw is None:
        return []
    if not isinstance(raw, Mapping) or not isinstance(raw.get("platforms", []), list):
        raise LtiConfigError(f"{where}: lti must be a mapping with a list 'platforms'")
    unknown = sorted(set(raw) - {"platforms"})
    if unknown:
        problems.append(f"{where}: unknown key(s) {unknown}")
    out: list[Platform] = []
    for i, entry in enumerate(raw.get("platforms") or []):
        at = f"{where}, platform #{i + 1}"
        if not isinstance(entry, Mapping):
            problems.append(f"{at}: must be a mapping")
            continue
        extra = sorted(
            set(entry) - {"issuer", "client_id", "deployment_ids", "frame_origins", *URL_FIELDS}
        )
        if extra:
            problems.append(f"{at}: unknown key(s) {extra}")
        issuer = _url(entry.get("issuer"), f"{at}, issuer", problems)
        client_id = _ident(entry.get("client_id"), f"{at}, client_id", problems)
        urls = {f: _url(entry.get(f), f"{at}, {f}", problems) for f in URL_FIELDS}
        deployments_raw = entry.get("deployment_ids")
        if not isinstance(deployments_raw, list) or not deployments_raw:
            problems.append(f"{at}, deployment_ids: required (a non-empty list)")
            deployments_raw = []
        deployments = [
            _ident(d, f"{at}, deployment_ids #{j + 1}", problems)
            for j, d in enumerate(deployments_raw)
        ]
        frames_raw = entry.get("frame_origins") or []
        frames: list[str] = []
        for o in frames_raw if isinstance(frames_raw, list) else [frames_raw]:
            norm = normalize_origin(o) if isinstance(o, str) else None
            if norm is None:
                problems.append(f"{at}, frame_origins: not an origin: {o!r}")
            else:
                frames.append(norm)
        if issuer and client_id and all(urls.values()) and all(deployments):
            out.append(
                Platform(
                    tenant_id=tenant_id,
                    issuer=issuer,
                    client_id=client_id,
                    auth_login_url=urls["auth_login_url"] or "",
                    auth_token_url=urls["auth_token_url"] or "",
                    key_set_url=urls["key_set_url"] or "",
                    deployment_ids=tuple(dict.fromkeys(d for d in deployments if d)),
                    frame_origins=tuple(dict.fromkeys(frames)),
                )
            )
    if problems:
        raise LtiConfigError("; ".join(problems))
    return out


@dataclass(frozen=True)
class Registration:
    """One (issuer, client id) as the tool sees it, with the tenant of each deployment."""

    issuer: str
    client_id: str
    auth_login_url: str
    auth_token_url: str
    key_set_url: str
    deployments: Mapping[str, str]  # deployment id -> tenant id
    frame_origins: tuple[str, ...]


@dataclass(frozen=True)
class Registry:
    registrations: tuple[Registration, ...] = ()

    def clients(self, issuer: str) -> list[Registration]:
        return [r for r in self.registrations if r.issuer == issuer]

    def find(self, issuer: str, client_id: str | None) -> Registration | None:
        """The registration for (issuer, client id); without a client id (it is optional in a
        login request) only if the issuer has exactly one."""
        regs = self.clients(issuer)
        if client_id is None:
            return regs[0] if len(regs) == 1 else None
        return next((r for r in regs if r.client_id == client_id), None)

    def tenant_for(self, issuer: str, client_id: str, deployment_id: str) -> str | None:
        reg = self.find(issuer, client_id)
        return reg.deployments.get(deployment_id) if reg else None


def build_registry(platforms: Iterable[Platform]) -> Registry:
    """Merge platform entries by (issuer, client id); raises LtiConfigError if two entries of one
    registration disagree on a URL or one deployment id is given to two tenants."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for p in platforms:
        cur = merged.setdefault(
            p.key,
            {
                **{f: getattr(p, f) for f in URL_FIELDS},
                "deployments": {},
                "frames": [],
            },
        )
        for f in URL_FIELDS:
            if cur[f] != getattr(p, f):
                raise LtiConfigError(
                    f"platform {p.issuer} client {p.client_id}: two different {f} values"
                )
        for d in p.deployment_ids:
            owner = cur["deployments"].setdefault(d, p.tenant_id)
            if owner != p.tenant_id:
                raise LtiConfigError(
                    f"platform {p.issuer} client {p.client_id}: deployment {d!r} is given to "
                    f"both {owner!r} and {p.tenant_id!r}"
                )
        cur["frames"] += [o for o in p.frame_origins if o not in cur["frames"]]
    return Registry(
        tuple(
            Registration(
                issuer=iss,
                client_id=cid,
                auth_login_url=v["auth_login_url"],
                auth_token_url=v["auth_token_url"],
                key_set_url=v["key_set_url"],
                deployments=dict(v["deployments"]),
                frame_origins=tuple(v["frames"]),
            )
            for (iss, cid), v in merged.items()
        )
    )


def _read(path: Path) -> Any:
    text = path.read_text(encoding="utf-8")
    return json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)


def platforms_from_catalog(catalog_dir: Path) -> list[Platform]:
    """``institution.lti`` blocks of the institution YAML files."""
    out: list[Platform] = []
    for path in sorted((catalog_dir / "institutions").glob("*.yaml")):
        doc = _read(path)
        inst = doc.get("institution") if isinstance(doc, Mapping) else None
        if isinstance(inst, Mapping) and inst.get("lti") is not None:
            out += parse_platforms(str(inst.get("id")), inst["lti"], f"{path.name}, lti")
    return out


def platforms_from_file(path: Path) -> list[Platform]:
    """The deployment file: ``{tenants: {<id>: {platforms: [...]}}}``."""
    try:
        doc = _read(path)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise LtiConfigError(f"{path}: cannot read: {exc}") from exc
    if not isinstance(doc, Mapping) or not isinstance(doc.get("tenants"), Mapping):
        raise LtiConfigError(f"{path}: must be a mapping with 'tenants: {{<id>: {{platforms}}}}'")
    out: list[Platform] = []
    for tenant_id, block in doc["tenants"].items():
        out += parse_platforms(str(tenant_id), block, f"{path.name}, {tenant_id}")
    return out


def load_registry(catalog_dir: Path, env: Mapping[str, str] | None = None) -> Registry:
    env = os.environ if env is None else env
    platforms = platforms_from_catalog(catalog_dir)
    if env.get(CONFIG_ENV):
        platforms += platforms_from_file(Path(env[CONFIG_ENV]))
    return build_registry(platforms)


# --- the tool's key --------------------------------------------------------------------------


@dataclass(frozen=True)
class ToolKey:
    private_pem: str
    public_pem: str
    kid: str  # RFC 7638 thumbprint of the public key

    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK for the tool's JWKS (``/lti/jwks``)."""
        out = json.loads(JWK.from_pem(self.public_pem.encode()).export_public())
        out.update(kid=self.kid, alg="RS256", use="sig")
        return out


def tool_key_from_pem(pem: str) -> ToolKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise LtiConfigError(f"{PRIVATE_KEY_ENV} is not an unencrypted PEM private key") from exc
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise LtiConfigError(f"{PRIVATE_KEY_ENV} must be an RSA key of at least 2048 bits")
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return ToolKey(private, public, JWK.from_pem(public.encode()).thumbprint())


def generate_private_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


@lru_cache(maxsize=4)
def _cached_key(pem: str | None) -> ToolKey:
    if pem:
        return tool_key_from_pem(pem)
    log.warning(
        "%s is not set: this process signs LTI messages with a key generated now; set it "
        "(an RSA private key, PEM) so platforms can verify them after a restart",
        PRIVATE_KEY_ENV,
    )
    return tool_key_from_pem(generate_private_pem())


def tool_key(env: Mapping[str, str] | None = None) -> ToolKey:
    env = os.environ if env is None else env
    return _cached_key(env.get(PRIVATE_KEY_ENV) or None)
