from __future__ import annotations

import base64
import io
from typing import Any

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string, select_template
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from portal import oidc, ratelimit, services
from portal.celery import app as celery_app
from portal.decorators import signed_in_user
from portal.exceptions import PROBLEM_CONTENT_TYPE, NotFoundError, PortalError, problem
from portal.forms import (
    ApiTokenForm,
    EmailForm,
    OtpForm,
    RegisterForm,
    SetPasswordForm,
    SignInForm,
)
from portal.models import ApiToken, Role, User, normalize_email
from portal.selectors import api_token_of, api_token_state, api_tokens_of, oidc_identities_of

HOME_BY_ROLE = {
    Role.PARTICIPANT: "consent:home",
    Role.RESEARCHER: "access:researcher_home",
    Role.DAC_MEMBER: "access:dac_home",
    Role.DAC_CHAIR: "access:dac_home",
    Role.STEWARD: "datasets:steward_home",
    Role.PROXY: "consent:proxy_home",
}


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Touches nothing else, so it stays cheap."""
    return JsonResponse({"status": "ok"})


def _database_check() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not ready", said in words
        return f"down: {type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]}"
    return "ok"


def _broker_check() -> str:
    try:
        with celery_app.connection_for_write(url=settings.CELERY_BROKER_URL) as conn:
            conn.ensure_connection(max_retries=0, timeout=READY_TIMEOUT)
    except Exception as exc:  # noqa: BLE001
        return f"down: {type(exc).__name__}: {str(exc).strip()[:200]}"
    return "ok"


READY_TIMEOUT = 2  # seconds per dependency; probes usually time out after 1-5 s


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and the Celery broker answer; a 503 names what is down."""
    checks = {"database": _database_check(), "broker": _broker_check()}
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "not ready", "checks": checks},
        status=200 if ready else 503,
    )


def landing(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/landing.html")


@login_required
def home(request: HttpRequest) -> HttpResponse:
    # Several roles: the home of the highest in ROLE_PRIORITY; the menu links to the others.
    role = signed_in_user(request).primary_role
    if role is None:
        raise PermissionDenied(
            _("Your account has no role yet: ask a data steward to give it one.")
        )
    return redirect(HOME_BY_ROLE[role])


def _safe_next(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("portal:home")


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(request.POST or None)
    if request.method == "POST":
        typed = normalize_email(request.POST.get("email", ""))
        # Per address: every try; per account: failures from every address (axes locks the
        # account at one address sooner).
        if ratelimit.hit("sign_in_address", ratelimit.client_address(request)):
            return ratelimit.too_many(request, "sign_in_address")
        if typed and ratelimit.reached("sign_in_account", typed):
            return ratelimit.too_many(request, "sign_in_account")
    if request.method == "POST" and form.is_valid():
        email = normalize_email(form.cleaned_data["email"])
        password = form.cleaned_data["password"]
        user = authenticate(request, email=email, password=password)
        if user is not None:
            login(request, user)
            return redirect(_safe_next(request))
        if getattr(request, "axes_locked_out", False):
            return render(request, "portal/locked_out.html", status=429)
        ratelimit.hit("sign_in_account", email)
        if services.sign_in_unconfirmed(email=email, password=password):
            form.add_error(
                None,
                _(
                    "Your email address is not confirmed yet. "
                    "We have sent you a new confirmation link."
                ),
            )
        else:
            form.add_error(None, _("The email address or password is not correct."))
    return render(
        request,
        "portal/sign_in.html",
        {
            "form": form,
            "next": request.GET.get("next", ""),
            "sso_name": oidc.provider_name() if oidc.enabled() else "",
        },
        status=400 if form.errors else 200,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    messages.info(request, _("You are signed out."))
    return redirect("portal:landing")


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and (
        refused := ratelimit.limit_request(request, "register", request.POST.get("email"))
    ):
        return refused
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = normalize_email(form.cleaned_data["email"])
        try:
            # The same page whether or not the address has an account (services say why).
            services.researcher_register(
                email=email,
                full_name=form.cleaned_data["full_name"],
                institution=form.cleaned_data["institution"],
                password=form.cleaned_data["password"],
            )
        except PortalError as exc:
            form.add_error("password" if exc.code == "weak_password" else None, exc.message)
        else:
            return render(request, "portal/register_done.html", {"email": email})
    return render(
        request, "portal/register.html", {"form": form}, status=400 if form.errors else 200
    )


def link_error(request: HttpRequest, exc: PortalError) -> HttpResponse:
    return render(
        request, "portal/link_error.html", {"message": exc.message}, status=exc.http_status
    )


def _link_account(token: str) -> str:
    """The account a link names (its first field), for rate limits: no lookup needed."""
    return "link:" + token.partition(":")[0]


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    if refused := ratelimit.limit_request(request, "activate", _link_account(token)):
        return refused
    try:
        services.email_verify(token=token)
    except PortalError as exc:
        return link_error(request, exc)
    messages.success(request, _("Your email address is confirmed. You can sign in now."))
    return redirect("portal:sign_in")


@require_http_methods(["GET", "POST"])
def activate(request: HttpRequest, token: str) -> HttpResponse:
    if request.method == "POST" and (
        refused := ratelimit.limit_request(request, "activate", _link_account(token))
    ):
        return refused
    try:
        invited = services.invitation_check(token=token)
    except PortalError as exc:
        return link_error(request, exc)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = services.user_activate(token=token, password=form.cleaned_data["password"])
        except PortalError as exc:
            form.add_error("password", exc.message)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Your account is active. Welcome to Custodian."))
            return redirect("portal:home")
    return render(
        request,
        "portal/activate.html",
        {"form": form, "invited": invited},
        status=400 if form.errors else 200,
    )


@require_http_methods(["GET", "POST"])
def password_reset(request: HttpRequest) -> HttpResponse:
    if request.method == "POST" and (
        refused := ratelimit.limit_request(request, "password_reset", request.POST.get("email"))
    ):
        return refused
    form = EmailForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.password_reset_ask(email=form.cleaned_data["email"])
        return render(
            request, "portal/password_reset_sent.html", {"email": form.cleaned_data["email"]}
        )
    return render(
        request, "portal/password_reset.html", {"form": form}, status=400 if form.errors else 200
    )


@require_http_methods(["GET", "POST"])
def password_reset_confirm(request: HttpRequest, token: str) -> HttpResponse:
    try:
        services.password_reset_check(token=token)
    except PortalError as exc:
        return link_error(request, exc)
    form = SetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_complete(token=token, password=form.cleaned_data["password"])
        except PortalError as exc:
            form.add_error("password", exc.message)
        else:
            messages.success(request, _("Your password is changed. Sign in with the new one."))
            return redirect("portal:sign_in")
    return render(
        request,
        "portal/password_reset_confirm.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _qr_data_uri(text: str) -> str:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


# The secret of an authenticator being set up lives in the session until its first code is
# confirmed: opening the page (GET) writes nothing to the database.
OTP_SETUP_KEY = "_custodian_otp_setup_key"


def _setup_device(request: HttpRequest, user: User) -> TOTPDevice:
    """An unsaved device holding this session's setup secret (made once per session)."""
    key = request.session.get(OTP_SETUP_KEY)
    if not key:
        key = random_hex(20)
        request.session[OTP_SETUP_KEY] = key
    return TOTPDevice(user=user, name="Authenticator app", key=key, confirmed=False)


def _setup_code_matches(device: TOTPDevice, token: str) -> bool:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return token.isdigit() and totp.verify(int(token), tolerance=device.tolerance)


# Set by an opened enrolment link: this session may set up the account's first authenticator.
OTP_ENROLMENT_KEY = "_custodian_otp_enrolment"


@login_required
@require_GET
def otp_enrol(request: HttpRequest, token: str) -> HttpResponse:
    """The emailed enrolment link: lets this session set up the first authenticator."""
    try:
        services.otp_enrolment_check(token=token, user=request.user)  # type: ignore[arg-type]
    except PortalError as exc:
        return link_error(request, exc)
    request.session[OTP_ENROLMENT_KEY] = request.user.pk
    return redirect("portal:otp")


def _otp_enrolment_page(request: HttpRequest) -> HttpResponse:
    """No authenticator yet and no enrolment link opened: offer to email the link."""
    sent = False
    if request.method == "POST" and request.POST.get("action") == "send_link":
        services.otp_enrolment_send(user=request.user)  # type: ignore[arg-type]
        sent = True
    return render(request, "portal/otp_enrolment.html", {"sent": sent})


@login_required
@require_http_methods(["GET", "POST"])
def otp(request: HttpRequest) -> HttpResponse:
    """Set up (first time, after an enrolment link) or confirm the authenticator code."""
    user: User = request.user  # type: ignore[assignment]
    device = TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-id").first()
    setting_up = device is None
    if device is None:
        if request.session.get(OTP_ENROLMENT_KEY) != user.pk:
            return _otp_enrolment_page(request)
        device = _setup_device(request, user)
    form = OtpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        token = form.cleaned_data["token"].strip()
        if setting_up and _setup_code_matches(device, token):
            # Stored only now, confirmed, with the secret the person's app holds.
            device.confirmed = True
            device.save()
            TOTPDevice.objects.filter(user=user, confirmed=False).delete()
            del request.session[OTP_SETUP_KEY]
            del request.session[OTP_ENROLMENT_KEY]
            otp_login(request, device)
            return redirect(_safe_next(request))
        if not setting_up and device.verify_token(token):
            otp_login(request, device)
            return redirect(_safe_next(request))
        form.add_error(
            "token",
            "That code is not right, or it has expired. "
            "Codes change every 30 seconds: try the current one.",
        )
    context: dict[str, Any] = {"form": form, "setting_up": setting_up}
    if setting_up:
        context["secret"] = base64.b32encode(device.bin_key).decode()
        context["qr"] = _qr_data_uri(device.config_url)
    return render(request, "portal/otp.html", context, status=400 if form.errors else 200)


def _account_page(
    request: HttpRequest,
    *,
    form: ApiTokenForm | None = None,
    new_token: tuple[ApiToken, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    owner: User = request.user  # type: ignore[assignment]
    tokens = [(token, api_token_state(token)) for token in api_tokens_of(owner)]
    response = render(
        request,
        "portal/account.html",
        {
            "token_form": form or ApiTokenForm(),
            "tokens": tokens,
            "new_token": new_token,
            "require_otp": settings.CUSTODIAN_REQUIRE_OTP,
            "sso_name": oidc.provider_name() if oidc.enabled() else "",
            "sso_identities": oidc_identities_of(owner),
        },
        status=status,
    )
    if oidc.enabled():
        response._csp_update = {"form-action": oidc.form_action_sources()}  # type: ignore[attr-defined]
    return response


@login_required
@require_GET
def account(request: HttpRequest) -> HttpResponse:
    return _account_page(request)


@login_required
@require_POST
def account_token_create(request: HttpRequest) -> HttpResponse:
    """Create a personal API token; its secret is in this response only."""
    form = ApiTokenForm(request.POST)
    if not form.is_valid():
        return _account_page(request, form=form, status=400)
    owner: User = request.user  # type: ignore[assignment]
    try:
        new_token = services.api_token_create(
            actor=owner,
            name=form.cleaned_data["name"],
            scope=form.cleaned_data["scope"],
            expires_in_days=form.cleaned_data["expires_in_days"],
        )
    except PortalError as exc:
        form.add_error(None, exc.message)
        return _account_page(request, form=form, status=exc.form_status)
    return _account_page(request, new_token=new_token)


@login_required
@require_POST
def account_token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    owner: User = request.user  # type: ignore[assignment]
    try:
        token = services.api_token_revoke(actor=owner, token=api_token_of(owner, token_id))
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("The token “%(name)s” is revoked: it no longer works.") % {"name": token.name},
        )
    return redirect("portal:account")


def _sso_enabled_or_404() -> None:
    if not oidc.enabled():
        raise Http404("Single sign-on is not configured.")


def _sso_error(request: HttpRequest, exc: PortalError) -> HttpResponse:
    return render(
        request,
        "portal/sso_error.html",
        {"message": exc.message, "sso_name": oidc.provider_name()},
        status=exc.http_status,
    )


@require_GET
def sso_start(request: HttpRequest) -> HttpResponse:
    """Sign in through the OpenID Connect provider (`next` as on the sign-in page)."""
    _sso_enabled_or_404()
    try:
        return oidc.authorization_redirect(request)
    except PortalError as exc:
        return _sso_error(request, exc)


@login_required
@require_POST
def sso_link(request: HttpRequest) -> HttpResponse:
    """Sign in at the provider to link that login to this account."""
    _sso_enabled_or_404()
    try:
        return oidc.authorization_redirect(request, link_user=request.user)  # type: ignore[arg-type]
    except PortalError as exc:
        return _sso_error(request, exc)


@require_GET
def sso_callback(request: HttpRequest) -> HttpResponse:
    """Where the provider sends the browser back: sign in, or link the login."""
    _sso_enabled_or_404()
    user: User = request.user  # type: ignore[assignment]
    try:
        answer = oidc.callback(request)
        if answer.link_user_id is not None:
            # Linking lets this login stand in for the authenticator code when the provider
            # asserts several factors, so only a fully signed-in owner may link.
            if user.pk != answer.link_user_id or (
                settings.CUSTODIAN_REQUIRE_OTP and user.needs_otp and not user.is_verified()  # type: ignore[attr-defined]
            ):
                raise oidc.SignOnError(
                    _("Sign in to your account again, then link your %(name)s login.")
                    % {"name": oidc.provider_name()},
                    code="sign_on_link_session",
                )
            services.oidc_identity_link(actor=user, claims=answer.claims)
            messages.success(
                request,
                _("Your %(name)s login is linked: you can sign in with it from now on.")
                % {"name": oidc.provider_name()},
            )
            return redirect("portal:account")
        user = services.oidc_sign_in(claims=answer.claims)
    except PortalError as exc:
        return _sso_error(request, exc)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    if answer.claims.mfa:
        request.session[oidc.MFA_SESSION_KEY] = user.pk
    return redirect(answer.next_url or "portal:home")


@login_required
@require_POST
def sso_unlink(request: HttpRequest, identity_id: int) -> HttpResponse:
    _sso_enabled_or_404()
    owner: User = request.user  # type: ignore[assignment]
    try:
        services.oidc_identity_unlink(actor=owner, identity_id=identity_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc
    messages.success(
        request,
        _("Your %(name)s login is unlinked from this account.") % {"name": oidc.provider_name()},
    )
    return redirect("portal:account")


def _wants_problem(request: HttpRequest) -> bool:
    return request.path.startswith(("/api/", "/ga4gh/")) or "json" in request.headers.get(
        "Accept", ""
    )


def error_response(
    request: HttpRequest, status: int, title: str, detail: str, code: str
) -> HttpResponse:
    """The portal's error page with a plain message, or problem+json for API clients."""
    if _wants_problem(request):
        return JsonResponse(
            problem(status, title, detail, code=code),
            status=status,
            content_type=PROBLEM_CONTENT_TYPE,
        )
    template = select_template([f"{status}.html", "error.html"])
    return HttpResponse(template.render({"title": title, "detail": detail}, request), status=status)


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    detail = (
        str(exception)
        if exception and str(exception)
        else _("You do not have permission to see this page.")
    )
    return error_response(request, 403, _("Not allowed"), detail, "forbidden")


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return error_response(
        request,
        404,
        _("Page not found"),
        _("There is nothing at this address, or you are not allowed to see it."),
        "not_found",
    )


def error_500(request: HttpRequest) -> HttpResponse:
    # No context processors: the database (sessions, users) may be what failed.
    if not _wants_problem(request):
        return HttpResponse(render_to_string("500.html"), status=500)
    return error_response(
        request,
        500,
        _("Something went wrong"),
        _("The error is logged and we will look at it. Please try again later."),
        "server_error",
    )


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return error_response(
        request,
        403,
        _("Form expired"),
        _(
            "The form was open too long or cookies are blocked. "
            "Go back, reload the page and try again."
        ),
        "csrf_failed",
    )


@require_GET
@never_cache
def ledger_checkpoint(request: HttpRequest) -> HttpResponse:
    """The latest signed checkpoint (c2sp.org/tlog-checkpoint), for witnesses and anyone."""
    from portal.ledger import checkpoint_latest

    checkpoint = checkpoint_latest()
    if checkpoint is None:
        return HttpResponse(
            "No checkpoint has been signed yet.\n", status=404, content_type="text/plain"
        )
    return HttpResponse(checkpoint.note, content_type="text/plain; charset=utf-8")


@require_GET
@never_cache
def ledger_checkpoint_cosigned(request: HttpRequest) -> HttpResponse:
    """The newest checkpoint witnesses cosigned: the log's signature line, then each
    witness's (c2sp.org/tlog-cosignature). A client that trusts a quorum of witnesses checks
    their lines; one that knows only the log's key skips them, as the signed-note format
    says to."""
    from portal.witnesses import cosigned_checkpoint

    note = cosigned_checkpoint()
    if note is None:
        return HttpResponse(
            "No witness has cosigned a checkpoint yet: witnesses are configured with their keys "
            "in CUSTODIAN_LEDGER_WITNESSES.\n",
            status=404,
            content_type="text/plain",
        )
    return HttpResponse(note, content_type="text/plain; charset=utf-8")


@require_GET
def ledger_key(request: HttpRequest) -> HttpResponse:
    """The verifier key of the log's checkpoints (c2sp.org/signed-note)."""
    from portal.ledger import ledger_verifier

    return HttpResponse(ledger_verifier().key + "\n", content_type="text/plain; charset=utf-8")
