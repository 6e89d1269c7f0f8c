"""HTML views of the access app: researchers, committees, stewards, participants."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse

from access.views.researcher import dac_home, data_use, researcher_home


def _todo(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
    raise Http404("Not built yet.")


request_new = request_detail = request_edit = request_submit = request_withdraw = _todo
request_renew = request_pdf = coapplicant_invite = coapplicant_cancel = agreements_accept = _todo
ethics_upload = ethics_download = invitation = review = vote = decide = revoke = _todo
community_use = steward_requests = steward_committees = steward_committee = notifications = _todo

__all__ = ["dac_home", "data_use", "researcher_home"]
