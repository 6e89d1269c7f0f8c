from __future__ import annotations

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from portal import i18n, ledger_api, ledger_views, views

portal_patterns = (
    [
        path("", views.landing, name="landing"),
        path("home/", views.home, name="home"),
        path("account/", views.account, name="account"),
        path("account/tokens/", views.account_token_create, name="token_create"),
        path(
            "account/tokens/<int:token_id>/revoke/",
            views.account_token_revoke,
            name="token_revoke",
        ),
        path("account/sign-in/", views.sign_in, name="sign_in"),
        path("account/sign-out/", views.sign_out, name="sign_out"),
        path("account/register/", views.register, name="register"),
        path("account/verify/<str:token>/", views.verify_email, name="verify_email"),
        path("account/activate/<str:token>/", views.activate, name="activate"),
        path("account/password-reset/", views.password_reset, name="password_reset"),
        path(
            "account/password-reset/<str:token>/",
            views.password_reset_confirm,
            name="password_reset_confirm",
        ),
        path("account/otp/", views.otp, name="otp"),
        path("account/otp/enrol/<str:token>/", views.otp_enrol, name="otp_enrol"),
        path("account/sso/start/", views.sso_start, name="sso_start"),
        path("account/sso/callback/", views.sso_callback, name="sso_callback"),
        path("account/sso/link/", views.sso_link, name="sso_link"),
        path("account/sso/<int:identity_id>/unlink/", views.sso_unlink, name="sso_unlink"),
    ],
    "portal",
)

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("ledger/checkpoint", views.ledger_checkpoint, name="ledger_checkpoint"),
    path(
        "ledger/checkpoint/cosigned",
        views.ledger_checkpoint_cosigned,
        name="ledger_checkpoint_cosigned",
    ),
    path("ledger/key", views.ledger_key, name="ledger_key"),
    path(
        "ledger/proof/inclusion",
        ledger_api.LedgerInclusionProofApi.as_view(),
        name="ledger_inclusion_proof",
    ),
    path("ledger/witnesses/", ledger_views.ledger_witnesses, name="ledger_witnesses"),
    path(
        "ledger/proof/consistency",
        ledger_api.LedgerConsistencyProofApi.as_view(),
        name="ledger_consistency_proof",
    ),
    # Before the pages: GA4GH clients (DRS, htsget) call these by the thousand, and a path is
    # matched against every pattern listed before its own.
    path("ga4gh/", include("access.ga4gh_urls")),
    path("", include(portal_patterns)),
    path("language/", i18n.language_switch, name="set_language"),
    path("consent/", include("consent.urls")),
    path("fhir/", include("consent.fhir_urls")),
    path("datasets/", include("datasets.urls")),
    path("access/", include("access.urls")),
    path("api/v1/", include("portal.api_urls")),
    path("api/v1/consent/", include("consent.api_urls")),
    path("api/v1/datasets/", include("datasets.api_urls")),
    path("api/v1/access/", include("access.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path(
        "api/docs/",
        # Swagger UI sets inline styles on its widgets; scripts stay 'self' only.
        csp_update({"style-src": [UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api_schema")
        ),
        name="api_docs",
    ),
    path("admin/", admin.site.urls),
]

handler403 = "portal.views.error_403"
handler404 = "portal.views.error_404"
handler500 = "portal.views.error_500"
