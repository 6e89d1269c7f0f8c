from __future__ import annotations

from typing import Any, cast

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _

from portal.models import ApiTokenScope


class SignInForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"),
        widget=forms.EmailInput(attrs={"autocomplete": "email", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


class RegisterForm(forms.Form):
    full_name = forms.CharField(
        label=_("Full name"), max_length=200, widget=forms.TextInput(attrs={"autocomplete": "name"})
    )
    email = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )
    institution = forms.CharField(
        label=_("Institution"),
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; not a common password."),
    )
    password_again = forms.CharField(
        label=_("Password, again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_again") not in (None, data["password"]):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class SetPasswordForm(forms.Form):
    password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; not a common password."),
    )
    password_again = forms.CharField(
        label=_("New password, again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("password") and data.get("password_again") not in (None, data["password"]):
            self.add_error("password_again", _("The two passwords differ."))
        return data


class EmailForm(forms.Form):
    email = forms.EmailField(
        label=_("Email address"), widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class OtpForm(forms.Form):
    token = forms.RegexField(
        label=_("6-digit code from your authenticator app"),
        regex=r"^\s*\d{6}\s*$",
        error_messages={"invalid": _("Enter the 6 digits shown by your authenticator app.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class ApiTokenForm(forms.Form):
    """Participants have accounts and tokens too: the words are translatable."""

    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What will use it, e.g. “laptop script” or “htsget on the cluster”."),
    )
    scope = forms.ChoiceField(
        label=_("What the token may do"),
        choices=[
            (ApiTokenScope.READ, _("Read only: look things up, never change them")),
            (
                ApiTokenScope.DOWNLOAD,
                _("Read and download: also ask for download links under your grants"),
            ),
            (
                ApiTokenScope.WRITE,
                _("Read, download and change: everything you may do through the API"),
            ),
        ],
        initial=ApiTokenScope.READ,
        widget=forms.RadioSelect,
    )
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"), min_value=1, widget=forms.NumberInput(attrs={"size": 4})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.IntegerField, self.fields["expires_in_days"])
        maximum = settings.CUSTODIAN_API_TOKEN_MAX_DAYS
        field.initial = settings.CUSTODIAN_API_TOKEN_DAYS
        field.max_value = maximum
        field.validators.append(
            MaxValueValidator(maximum, message=_("A token lasts at most %(limit_value)s days."))
        )
        field.widget.attrs["max"] = maximum
        field.help_text = _("At most %(maximum)d days.") % {"maximum": maximum}
