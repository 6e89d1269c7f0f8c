from __future__ import annotations

from typing import Any, ClassVar

from oauth2_provider.oauth2_validators import OAuth2Validator

# Group names that give a test user's tokens these claims (set up by server.py).
EMAIL_VERIFIED_GROUP = "email_verified"
MFA_GROUP = "mfa"


class ClaimsValidator(OAuth2Validator):
    """Claims of a real provider: email, email_verified and name in the ID token and userinfo,
    and the authentication methods (RFC 8176 `amr`) in the ID token."""

    oidc_claim_scope: ClassVar[dict[str, str]] = {
        **OAuth2Validator.oidc_claim_scope,
        "amr": "openid",
    }

    def get_additional_claims(self, request: Any) -> dict[str, Any]:
        user = request.user
        groups = set(user.groups.values_list("name", flat=True))
        return {
            "email": user.email,
            "email_verified": EMAIL_VERIFIED_GROUP in groups,
            "name": user.get_full_name(),
            "amr": ["pwd", "mfa"] if MFA_GROUP in groups else ["pwd"],
        }
