"""LTI 1.3 tool: a thin Sanic adapter around ``pylti1p3`` (which does the OIDC login and every
check of the platform's ``id_token``: signature against the platform's JWKS, issuer, audience,
deployment, nonce, expiry, message claims).

- ``GET|POST /lti/login``: third-party initiated login; redirects to the platform's OIDC
  endpoint with a state (also in a short cookie) and a nonce (in the operational DB).
- ``POST /lti/launch``: the platform posts ``id_token`` and ``state``. A learner gets the tenant's
  widget signed in as ``lti:<issuer host>:<sub>`` through the portal sign-in path; an Instructor
  or Administrator gets a page that opens the adviser console; a Deep Linking request gets a form
  that returns an ``ltiResourceLink`` item signed with the tool's key.
- ``GET /lti/jwks``: the tool's public key. ``GET /lti/config.json``: Canvas developer-key JSON
  (``?lms=moodle``: the values for Moodle's external-tool form).

Platform configuration and the tool's key: ``knowledge/lti_config.py``. Nonces and state:
``knowledge/lti_store.py``. Registering the tool: docs/deployment.md.
"""

from __future__ import annotations

import html
import logging
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

import jwt
import requests
from pylti1p3.cookie import CookieService
from pylti1p3.deep_link_resource import DeepLinkResource
from pylti1p3.deployment import Deployment
from pylti1p3.exception import LtiException, OIDCException
from pylti1p3.launch_data_storage.base import LaunchDataStorage
from pylti1p3.message_launch import MessageLaunch
from pylti1p3.oidc_login import OIDCLogin
from pylti1p3.redirect import Redirect
from pylti1p3.registration import Registration
from pylti1p3.request import Request as LtiRequest
from pylti1p3.roles import AbstractRole, TeacherRole
from pylti1p3.session import SessionService
from pylti1p3.tool_config import ToolConfAbstract
from sanic import Request, Sanic, response

from knowledge import lti_config, tenants
from knowledge.lti_store import LtiStore

log = logging.getLogger(__name__)

COOKIE_PREFIX = "lti1p3-"
SIGN_IN_TTL = 8 * 3600  # the widget's sign-in token: one school day, like a console session
STATE_TTL = 300
NONCE_TTL = 600
LAUNCH_DATA_TTL = 600
KEY_SET_CACHE_TTL = 300  # a platform's rotated key is picked up within five minutes
HTTP_TIMEOUT = 10
DEEP_LINK_TITLE = "Career advising (Stackwise)"
MAX_FORM_CHARS = 20_000
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="stylesheet" href="/static/chat.css"></head>
<body><main class="chat"><h1>{title}</h1>{body}</main>{tail}</body></html>"""


class Refusal(Exception):
    """A launch or login refused: a status and a message for the person in front of the LMS."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- pylti1p3 adapters -----------------------------------------------------------------------


class _Params(LtiRequest):
    def __init__(self, params: dict[str, str], cookies: dict[str, str], secure: bool) -> None:
        self.params = params
        self.cookies = cookies
        self.secure = secure

    @property
    def session(self):  # the library's session is replaced by the DB store below
        return {}

    def is_secure(self) -> bool:
        return self.secure

    def get_param(self, key: str) -> Any:
        return self.params.get(key)


class _Cookies(CookieService):
    """Reads the request's cookies and collects the ones to set on the response."""

    def __init__(self, request: _Params) -> None:
        self.request = request
        self.to_set: list[tuple[str, str, int | None]] = []

    def get_cookie(self, name: str) -> str | None:
        return self.request.cookies.get(COOKIE_PREFIX + name)

    def set_cookie(self, name: str, value: str | int, exp: int | None = 3600) -> None:
        self.to_set.append((COOKIE_PREFIX + name, str(value), exp))

    def apply(self, resp: response.HTTPResponse) -> None:
        # SameSite=None: the launch is a cross-site POST from the platform. Partitioned: browsers
        # that block third-party cookies keep it inside the LMS page's partition (CHIPS).
        for name, value, exp in self.to_set:
            resp.headers.add(
                "Set-Cookie",
                f"{name}={value}; Path=/lti; Max-Age={exp or STATE_TTL}; HttpOnly; Secure; "
                "SameSite=None; Partitioned",
            )


class _Storage(LaunchDataStorage):
    """pylti1p3's data storage on :class:`LtiStore`. Its only ``check_value`` is the nonce
    check, and here that spends the nonce: a replayed launch is refused (pylti1p3 alone would
    accept the same id_token again)."""

    _session_cookie_name = ""  # no session cookie: the state cookie binds login to launch

    def __init__(self, store: LtiStore) -> None:
        self.store = store

    def can_set_keys_expiration(self) -> bool:
        return True

    def get_value(self, key: str) -> Any:
        return self.store.get(self._prepare_key(key))

    def set_value(self, key: str, value: Any, exp: int | None = None) -> None:
        self.store.set(self._prepare_key(key), value, exp)

    def check_value(self, key: str) -> bool:
        return self.store.take(self._prepare_key(key))


class _Sessions(SessionService):
    def __init__(self, storage: _Storage, lifetime: int) -> None:
        self.data_storage = storage
        self._launch_data_lifetime = lifetime


class _HttpSession(requests.Session):
    """The platform's JWKS is fetched with a timeout (pylti1p3 passes none)."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(*args, **kwargs)


class _ToolConf(ToolConfAbstract):
    def __init__(self, registry: lti_config.Registry, key: Callable[[], lti_config.ToolKey]):
        self.registry = registry
        self.key = key

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False  # always look up by (issuer, client id)

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Any:
        return self.find_registration_by_params(iss, None)

    def find_registration_by_params(
        self, iss: str, client_id: str | None, *args: Any, **kwargs: Any
    ) -> Any:
        reg = self.registry.find(iss, client_id or None)
        if reg is None:
            return None
        key = self.key()
        return (
            Registration()
            .set_issuer(reg.issuer)
            .set_client_id(reg.client_id)
            .set_auth_login_url(reg.auth_login_url)
            .set_auth_token_url(reg.auth_token_url)
            .set_key_set_url(reg.key_set_url)
            .set_tool_private_key(key.private_pem)
            .set_tool_public_key(key.public_pem)
        )

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return None  # not used: check_iss_has_one_client is always False

    def find_deployment_by_params(
        self, iss: str, deployment_id: str, client_id: str, *args: Any, **kwargs: Any
    ) -> Deployment | None:
        if not isinstance(deployment_id, str):
            return None
        if self.registry.tenant_for(iss, client_id, deployment_id) is None:
            return None
        return Deployment().set_deployment_id(deployment_id)


class _Redirect(Redirect):
    def __init__(self, url: str) -> None:
        self.url = url

    def do_redirect(self) -> str:
        return self.url

    def do_js_redirect(self) -> str:
        return self.url

    def set_redirect_url(self, location: str) -> None:
        self.url = location

    def get_redirect_url(self) -> str:
        return self.url


class _Login(OIDCLogin):
    def get_redirect(self, url: str) -> _Redirect:
        return _Redirect(url)


# The library's checks in its own order, each with the status its failure gets here.
_STEPS: tuple[tuple[str, int, str], ...] = (
    ("state", 401, "the launch does not match a login started from this browser"),
    ("jwt_format", 400, "the id_token is not a JWT"),
    ("nonce", 401, "this launch was already used or was never issued (replayed nonce)"),
    ("registration", 403, "this platform or client id is not registered with Stackwise"),
    ("jwt_signature", 401, "the id_token did not verify"),
    ("deployment", 403, "this deployment is not registered with Stackwise"),
    ("message", 400, "the launch message is incomplete"),
)


class _Launch(MessageLaunch):
    def _get_request_param(self, key: str) -> Any:
        return self._request.get_param(key)

    def validate(self) -> _Launch:
        self._validated = True  # as MessageLaunch.validate: claims are read during the checks
        try:
            for step, status, meaning in _STEPS:
                try:
                    getattr(self, f"validate_{step}")()
                except LtiException as exc:
                    detail = str(exc)
                    if detail.startswith(("Error during fetch URL", "Invalid response from")):
                        raise Refusal(502, "the platform's key set could not be fetched") from exc
                    raise Refusal(status, f"{meaning} ({detail[:200]})") from exc
                except (AttributeError, KeyError, TypeError, ValueError) as exc:
                    # e.g. a JWT whose header or body is JSON but not an object
                    raise Refusal(400, f"the id_token is malformed ({step})") from exc
                if step == "jwt_format" and not (
                    isinstance(self._jwt.get("header"), dict)
                    and isinstance(self._jwt.get("body"), dict)
                ):
                    raise Refusal(400, "the id_token is malformed (not JSON objects)")
            self.save_launch_data()
        except Exception:
            self._validated = False
            raise
        return self


class _AdminRole(AbstractRole):
    _system_roles = ("Administrator", "SysAdmin")
    _institution_roles = ("Administrator",)


def is_adviser(claims: dict[str, Any]) -> bool:
    """Instructor or Administrator in the course, or an institution or system administrator.
    Institution roles such as Faculty are not enough: a teacher enrolled in a course as a
    learner launches as a learner."""
    return TeacherRole(claims).check() or _AdminRole(claims).check()


def student_id(claims: dict[str, Any]) -> str:
    """The LMS user id (``sub``), namespaced by the platform so it can never equal a portal's
    student id or another platform's user id (they would share a conversation)."""
    host = urlsplit(str(claims.get("iss") or "")).hostname or "lms"
    return f"lti:{host}:{claims['sub']}"


def sign_in_token(
    tenant_id: str,
    claims: dict[str, Any],
    *,
    env: dict[str, str] | None = None,
    now: float | None = None,
) -> str:
    """The widget's ``data-token`` (portal sign-in, HS256 with the tenant's secret) for the
    student of a verified launch; raises Refusal(503) if the tenant has no portal secret."""
    env = dict(os.environ) if env is None else env
    secret = env.get(tenants.portal_secret_env(tenant_id))
    if not secret:
        log.error(
            "LTI learner launch for %s: set %s (LTI sign-in uses the portal sign-in path)",
            tenant_id,
            tenants.portal_secret_env(tenant_id),
        )
        raise Refusal(503, "sign-in from the LMS is not set up for this college yet")
    sid = student_id(claims)
    if len(sid) > tenants.MAX_CLAIM_CHARS:
        raise Refusal(400, "the LMS user id is too long")
    issued = int(now or time.time())
    payload: dict[str, Any] = {
        "sub": sid,
        "aud": tenant_id,
        "iat": issued,
        "exp": issued + SIGN_IN_TTL,
    }
    name = claims.get("name")
    if isinstance(name, str) and name.strip() and len(name) <= tenants.MAX_CLAIM_CHARS:
        payload["name"] = name.strip()
    return jwt.encode(payload, secret, algorithm="HS256")


# --- Sanic routes ----------------------------------------------------------------------------


def _page(
    title: str, body: str, status: int = 200, tail: str = "", csp: str | None = None
) -> response.HTTPResponse:
    resp = response.html(
        PAGE.format(title=html.escape(title), body=body, tail=tail),
        status=status,
        headers={"Cache-Control": "no-store"},
    )
    if csp:
        resp.headers["Content-Security-Policy"] = csp
    return resp


def _refused(exc: Refusal) -> response.HTTPResponse:
    return _page(
        "Stackwise could not open",
        f"<p>{html.escape(exc.message[:300])}.</p>"
        "<p>Open Stackwise again from your course; if this keeps happening, tell your LMS admin.</p>",
        status=exc.status,
    )


def _origin(url: Any) -> str | None:
    if not isinstance(url, str):
        return None
    parts = urlsplit(url)
    return tenants.normalize_origin(f"{parts.scheme}://{parts.netloc}") if parts.netloc else None


def _params(request: Request) -> dict[str, str]:
    out = {k: v for k, v in request.args.items() if v}
    if request.method == "POST":
        if len(request.body or b"") > MAX_FORM_CHARS:
            raise Refusal(413, "the request is too large")
        ctype = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
        if ctype != "application/x-www-form-urlencoded":
            raise Refusal(400, "expected an HTML form post (application/x-www-form-urlencoded)")
        out.update({k: v[0] for k, v in (request.form or {}).items() if v and v[0]})
    return {k: v[0] if isinstance(v, list) else v for k, v in out.items()}


def register(
    app: Sanic,
    *,
    knowledge_engine: Callable[[], Any],
    app_engine: Callable[[], Any],
    catalog_dir: Callable[[], Any],
    socket_url: Callable[[Request], str],
    own_origin: Callable[[Request], str],
    blocking: Callable[..., Awaitable[Any]],
) -> None:
    state: dict[str, Any] = {}

    def registry() -> lti_config.Registry:
        if "registry" not in state:
            try:
                state["registry"] = lti_config.load_registry(catalog_dir())
            except lti_config.LtiConfigError as exc:
                log.error("LTI configuration: %s", exc)
                raise Refusal(503, "LTI is not configured correctly on this server") from exc
        return state["registry"]

    def store() -> LtiStore:
        if "store" not in state:
            state["store"] = LtiStore(app_engine())
        return state["store"]

    def tool_url(request: Request) -> str:
        return (os.environ.get(lti_config.TOOL_URL_ENV) or own_origin(request)).rstrip("/")

    def services(request: Request, params: dict[str, str]):
        req = _Params(params, dict(request.cookies), request.scheme == "https")
        cookies = _Cookies(req)
        storage = _Storage(store())
        return req, cookies, storage, _ToolConf(registry(), lti_config.tool_key)

    def do_login(request: Request, params: dict[str, str]) -> tuple[str, _Cookies]:
        req, cookies, storage, conf = services(request, params)
        login = _Login(req, conf, _Sessions(storage, NONCE_TTL), cookies, storage)
        try:
            url = login.get_redirect_object(f"{tool_url(request)}/lti/launch").get_redirect_url()
        except OIDCException as exc:
            detail = str(exc)
            if "registration" in detail.lower():
                raise Refusal(403, "this platform is not registered with Stackwise") from exc
            raise Refusal(400, f"the login request is incomplete ({detail[:200]})") from exc
        return url, cookies

    def do_launch(request: Request, params: dict[str, str]) -> _Launch:
        for name in ("id_token", "state"):
            if not isinstance(params.get(name), str) or len(params[name]) > MAX_FORM_CHARS:
                raise Refusal(400, f"the launch form has no {name}")
        req, cookies, storage, conf = services(request, params)
        launch = _Launch(
            req,
            conf,
            session_service=_Sessions(storage, LAUNCH_DATA_TTL),
            cookie_service=cookies,
            launch_data_storage=storage,
            requests_session=_HttpSession(),
        )
        launch.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})
        launch.set_public_key_caching(storage, KEY_SET_CACHE_TTL)
        return launch.validate()

    def frame_ancestors(claims: dict[str, Any]) -> str:
        reg = registry().find(claims["iss"], launch_client_id(claims))
        allowed = ["'self'", *(reg.frame_origins if reg else ())]
        for url in (
            claims.get("iss"),
            (claims.get("https://purl.imsglobal.org/spec/lti/claim/launch_presentation") or {}).get(
                "return_url"
            ),
        ):
            origin = _origin(url)
            if origin and origin not in allowed:
                allowed.append(origin)
        return " ".join(allowed)

    def launch_client_id(claims: dict[str, Any]) -> str:
        aud = claims.get("aud")
        return aud[0] if isinstance(aud, list) else aud

    def csp(request: Request, claims: dict[str, Any], form_action: str = "'self'") -> str:
        sock = socket_url(request)
        ws = "ws" + sock[4:] if sock.startswith("http") else sock
        return (
            "default-src 'self'; img-src 'self' data: https:; style-src 'self'; "
            f"script-src 'self'; connect-src 'self' {sock} {ws}; object-src 'none'; "
            f"form-action {form_action}; frame-ancestors {frame_ancestors(claims)}; "
            "base-uri 'none'"
        )

    @app.route("/lti/login", methods=["GET", "POST"])
    async def lti_login(request: Request):
        try:
            params = _params(request)
            url, cookies = await blocking(do_login, request, params)
        except Refusal as exc:
            log.warning("LTI login refused: %s", exc.message)
            return _refused(exc)
        resp = response.redirect(url, status=302)
        resp.headers["Cache-Control"] = "no-store"
        cookies.apply(resp)
        return resp

    @app.post("/lti/launch")
    async def lti_launch(request: Request):
        try:
            params = _params(request)
            launch = await blocking(do_launch, request, params)
            claims = launch.get_launch_data()
            tenant_id = registry().tenant_for(
                claims["iss"],
                launch_client_id(claims),
                claims["https://purl.imsglobal.org/spec/lti/claim/deployment_id"],
            )
            tenant = await blocking(tenants.get_tenant, knowledge_engine(), tenant_id, app_engine())
            if tenant is None:
                log.error(
                    "LTI deployment of tenant %r: no such institution in the catalog", tenant_id
                )
                raise Refusal(403, "this deployment's college is not in Stackwise's catalog")
            if launch.is_deep_link_launch():
                if not is_adviser(claims):
                    raise Refusal(403, "only an instructor can place Stackwise in a course")
                return deep_link_page(request, launch, claims, tenant)
            if is_adviser(claims):
                return console_page(request, claims, tenant)
            return learner_page(request, claims, tenant)
        except Refusal as exc:
            log.warning("LTI launch refused (%s): %s", exc.status, exc.message)
            return _refused(exc)

    def learner_page(
        request: Request, claims: dict[str, Any], tenant: tenants.Tenant
    ) -> response.HTTPResponse:
        token = sign_in_token(tenant.id, claims)
        name = html.escape(tenant.name)
        tail = (
            f'<script src="/widget.js" data-tenant="{html.escape(tenant.id)}" '
            f'data-token="{html.escape(token)}" defer></script>'
        )
        body = f"<p>Career and training advice from {name}. Use the chat button in the corner.</p>"
        return _page(f"Career advising: {tenant.name}", body, tail=tail, csp=csp(request, claims))

    def console_page(
        request: Request, claims: dict[str, Any], tenant: tenants.Tenant
    ) -> response.HTTPResponse:
        # A link, not a session: the console holds students' records, and an LMS's e-mail claim
        # is no proof of a console account (see docs/deployment.md). Opens top-level: the
        # console refuses to be framed.
        href = "/console/?" + urlencode({"institution": tenant.id})
        body = (
            f"<p>You opened Stackwise as an instructor or administrator of "
            f"{html.escape(tenant.name)}.</p>"
            f'<p><a href="{html.escape(href)}" target="_blank" rel="noopener" '
            f'data-role="console">Open the adviser console</a> (sign in with your Stackwise '
            "adviser account) to read your learners' intake records.</p>"
        )
        return _page("Stackwise adviser console", body, csp=csp(request, claims))

    def deep_link_page(
        request: Request, launch: _Launch, claims: dict[str, Any], tenant: tenants.Tenant
    ) -> response.HTTPResponse:
        settings = claims.get("https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings")
        return_url = settings.get("deep_link_return_url") if isinstance(settings, dict) else None
        target = _origin(return_url)
        if target is None:
            raise Refusal(400, "the deep-linking request has no return URL")
        resource = (
            DeepLinkResource()
            .set_url(f"{tool_url(request)}/lti/launch")
            .set_title(DEEP_LINK_TITLE)
            .set_custom_params({})
        )
        token = launch.get_deep_link().get_response_jwt([resource])
        # A button, not an auto-submitting script: this site's CSP allows no inline script.
        body = (
            f"<p>Add Stackwise career advising for {html.escape(tenant.name)} to this course.</p>"
            f'<form method="post" action="{html.escape(return_url)}">'
            f'<input type="hidden" name="JWT" value="{html.escape(token)}">'
            '<button type="submit">Add to the course</button></form>'
        )
        return _page("Place Stackwise", body, csp=csp(request, claims, form_action=target))

    @app.get("/lti/jwks")
    async def lti_jwks(_request: Request):
        key = await blocking(lti_config.tool_key)
        return response.json(
            {"keys": [key.jwk()]}, headers={"Cache-Control": "public, max-age=300"}
        )

    @app.get("/lti/config.json")
    async def lti_registration(request: Request):
        base = tool_url(request)
        host = urlsplit(base).hostname or ""
        urls = {
            "login": f"{base}/lti/login",
            "launch": f"{base}/lti/launch",
            "jwks": f"{base}/lti/jwks",
        }
        if request.args.get("lms") == "moodle":
            return response.json(
                {
                    "tool_name": "Stackwise",
                    "tool_url": urls["launch"],
                    "lti_version": "LTI 1.3",
                    "public_key_type": "Keyset URL",
                    "public_keyset_url": urls["jwks"],
                    "initiate_login_url": urls["login"],
                    "redirection_uris": [urls["launch"]],
                    "supports_deep_linking": True,
                    "content_selection_url": urls["launch"],
                }
            )
        placement = {
            "target_link_uri": urls["launch"],
            "message_type": "LtiResourceLinkRequest",
        }
        return response.json(
            {
                "title": "Stackwise",
                "description": "Career and training advising chat for learners; adviser "
                "console for staff.",
                "oidc_initiation_url": urls["login"],
                "target_link_uri": urls["launch"],
                "public_jwk_url": urls["jwks"],
                "scopes": [],
                "extensions": [
                    {
                        "domain": host,
                        "tool_id": "stackwise",
                        "platform": "canvas.instructure.com",
                        "privacy_level": "public",
                        "settings": {
                            "text": "Career advising",
                            "placements": [
                                {
                                    "placement": "course_navigation",
                                    "text": "Career advising",
                                    **placement,
                                },
                                {
                                    "placement": "link_selection",
                                    "text": "Career advising (Stackwise)",
                                    "target_link_uri": urls["launch"],
                                    "message_type": "LtiDeepLinkingRequest",
                                },
                            ],
                        },
                    }
                ],
                "custom_fields": {},
                "redirect_uris": [urls["launch"]],
            }
        )
