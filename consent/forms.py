from __future__ import annotations

from django import forms


class EnrolForm(forms.Form):
    study_id = forms.CharField(label="Study ID", max_length=64)
    full_name = forms.CharField(label="Full name", max_length=200)
    email = forms.EmailField(label="Email address")
    date_of_birth = forms.DateField(
        label="Date of birth",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Needed for participants who are children (consent by a guardian).",
    )
