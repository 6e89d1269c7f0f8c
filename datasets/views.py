from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from consent.selectors import participant_count
from datasets import selectors, services
from datasets.conditions import conditions_obligations, conditions_text
from datasets.forms import (
    AddFilesForm,
    CatalogueSearchForm,
    DatasetForm,
    SampleCommunityForm,
    SampleLinksForm,
    SampleMappingForm,
)
from datasets.manifest import read_mapping
from datasets.models import DataFile, Dataset, DatasetStatus
from portal.decorators import role_required, signed_in_user
from portal.exceptions import PortalError
from portal.models import Role


def _problems(exc: PortalError) -> tuple[str, ...]:
    return getattr(exc, "problems", None) or (exc.message,)


def _dataset(accession: str) -> Dataset:
    dataset = selectors.steward_dataset(accession)
    if dataset is None:
        raise Http404("No dataset has this accession.")
    return dataset


def _datafile(dataset: Dataset, file_id: int) -> DataFile:
    file = selectors.datafile_in(dataset, file_id)
    if file is None:
        raise Http404("No such file in this dataset.")
    return file


# --- the steward's pages ----------------------------------------------------------------------


@role_required(Role.STEWARD)
@require_GET
def steward_home(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "datasets/steward_home.html",
        {"participants": participant_count(), "datasets": selectors.steward_datasets()},
    )


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def dataset_create(request: HttpRequest) -> HttpResponse:
    form = DatasetForm(request.POST if request.method == "POST" else None)
    problems: Sequence[str] = ()
    if request.method == "POST" and form.is_valid():
        try:
            dataset = services.dataset_create(
                actor=signed_in_user(request), **form.service_arguments()
            )
        except PortalError as exc:
            problems = _problems(exc)
        else:
            messages.success(request, f"{dataset.accession} was created. Now add its files.")
            return redirect("datasets:files_add", accession=dataset.accession)
    status = 400 if form.errors or problems else 200
    context = {"form": form, "problems": problems}
    return render(request, "datasets/dataset_create.html", context, status=status)


def _manage_page(
    request: HttpRequest, dataset: Dataset, problems: Sequence[str] = (), status: int = 200
) -> HttpResponse:
    files = selectors.dataset_files(dataset)
    conditions = dataset.conditions
    context = {
        "dataset": dataset,
        "files": files,
        "in_progress": selectors.files_in_progress(files),
        "is_draft": dataset.status == DatasetStatus.DRAFT,
        "is_released": dataset.status == DatasetStatus.RELEASED,
        "conditions": conditions_text(conditions),
        "obligations": conditions_obligations(conditions),
        "links": selectors.sample_link_counts(dataset),
        "problems": problems,
    }
    return render(request, "datasets/dataset_manage.html", context, status=status)


@role_required(Role.STEWARD)
@require_GET
def dataset_manage(request: HttpRequest, accession: str) -> HttpResponse:
    return _manage_page(request, _dataset(accession))


@role_required(Role.STEWARD)
@require_GET
def files_progress(request: HttpRequest, accession: str) -> HttpResponse:
    """The file table alone, polled by htmx while files validate."""
    dataset = _dataset(accession)
    files = selectors.dataset_files(dataset)
    in_progress = selectors.files_in_progress(files)
    response = render(
        request,
        "datasets/_files.html",
        {
            "dataset": dataset,
            "files": files,
            "in_progress": in_progress,
            "is_draft": dataset.status == DatasetStatus.DRAFT,
        },
    )
    if getattr(request, "htmx", False) and not in_progress:  # django_htmx sets it
        # Validation finished: reload the page once, so the samples and the release
        # button reflect it too.
        response["HX-Refresh"] = "true"
    return response


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def files_add(request: HttpRequest, accession: str) -> HttpResponse:
    dataset = _dataset(accession)
    listing, already, truncated = selectors.addable_files(dataset)
    form = AddFilesForm(request.POST if request.method == "POST" else None, listing=listing)
    problems: Sequence[str] = ()
    if request.method == "POST" and form.is_valid():
        entries = [services.FileEntry(path) for path in form.paths()]
        try:
            created = services.datafiles_register(
                actor=signed_in_user(request), dataset=dataset, entries=entries
            )
        except PortalError as exc:
            problems = _problems(exc)
        else:
            data = [f for f in created if not f.is_index]
            messages.success(
                request,
                f"{len(data)} file(s) registered, with {len(created) - len(data)} index(es); "
                "validation has started.",
            )
            return redirect("datasets:dataset_manage", accession=dataset.accession)
    context = {
        "dataset": dataset,
        "form": form,
        "problems": problems,
        "already": already,
        "truncated": truncated,
        "is_draft": dataset.status == DatasetStatus.DRAFT,
    }
    status = 400 if form.errors or problems else 200
    return render(request, "datasets/files_add.html", context, status=status)


def _steward_action(
    request: HttpRequest, dataset: Dataset, act: Callable[[], object], done: str
) -> HttpResponse:
    """One steward button on the dataset page: call the service, then back to the page.

    A refusal re-renders the page with the service's words, so the steward sees why.
    """
    try:
        act()
    except PortalError as exc:
        return _manage_page(request, dataset, _problems(exc), exc.form_status)
    messages.success(request, done)
    return redirect("datasets:dataset_manage", accession=dataset.accession)


@role_required(Role.STEWARD)
@require_POST
def file_retry(request: HttpRequest, accession: str, file_id: int) -> HttpResponse:
    dataset = _dataset(accession)
    file = _datafile(dataset, file_id)
    return _steward_action(
        request,
        dataset,
        lambda: services.datafile_validation_retry(actor=signed_in_user(request), file=file),
        f"{file.path} is being validated again.",
    )


@role_required(Role.STEWARD)
@require_POST
def file_remove(request: HttpRequest, accession: str, file_id: int) -> HttpResponse:
    dataset = _dataset(accession)
    file = _datafile(dataset, file_id)
    return _steward_action(
        request,
        dataset,
        lambda: services.datafile_remove(actor=signed_in_user(request), file=file),
        f"{file.path} was removed from {dataset.accession}.",
    )


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def samples_link(request: HttpRequest, accession: str) -> HttpResponse:
    dataset = _dataset(accession)
    rows = selectors.dataset_samples(dataset)
    form = SampleLinksForm(request.POST if request.method == "POST" else None, rows=rows)
    problems: Sequence[str] = ()
    if request.method == "POST" and form.is_valid():
        choices = [services.SampleChoice(*choice) for choice in form.choices()]
        try:
            changed = services.samples_link(
                actor=signed_in_user(request), dataset=dataset, choices=choices
            )
        except PortalError as exc:
            problems = _problems(exc)
        else:
            messages.success(request, f"{changed} sample(s) updated.")
            return redirect("datasets:dataset_manage", accession=dataset.accession)
    context = {
        "dataset": dataset,
        "form": form,
        "problems": problems,
        "is_draft": dataset.status == DatasetStatus.DRAFT,
        "mapping_form": SampleMappingForm(),
    }
    status = 400 if form.errors or problems else 200
    return render(request, "datasets/samples_link.html", context, status=status)


@role_required(Role.STEWARD)
@require_POST
def samples_mapping(request: HttpRequest, accession: str) -> HttpResponse:
    """Link samples from a mapping file, all or nothing: the file register_dataset takes."""
    dataset = _dataset(accession)
    upload = SampleMappingForm(request.POST, request.FILES)
    problems: Sequence[str] = ()
    if upload.is_valid():
        mapping = read_mapping(upload.content(), upload.cleaned_data["mapping"].name)
        problems = mapping.problems
        if not problems:
            choices = [services.SampleChoice(sample, study) for sample, study, _ in mapping.pairs]
            try:
                changed = services.samples_link(
                    actor=signed_in_user(request), dataset=dataset, choices=choices
                )
            except PortalError as exc:
                problems = _problems(exc)
            else:
                messages.success(
                    request, f"{len(choices)} sample(s) in the file; {changed} changed."
                )
                return redirect("datasets:samples_link", accession=dataset.accession)
    context = {
        "dataset": dataset,
        "form": SampleLinksForm(rows=selectors.dataset_samples(dataset)),
        "mapping_form": upload,
        "mapping_problems": problems,
        "is_draft": dataset.status == DatasetStatus.DRAFT,
    }
    return render(request, "datasets/samples_link.html", context, status=400)


@role_required(Role.STEWARD)
@require_http_methods(["GET", "POST"])
def samples_community(request: HttpRequest, accession: str) -> HttpResponse:
    """Mark samples as a community's: its governance committee must approve each use."""
    dataset = _dataset(accession)
    form = SampleCommunityForm(request.POST if request.method == "POST" else None)
    problems: Sequence[str] = ()
    if request.method == "POST" and form.is_valid():
        community = form.cleaned_data["community"]
        try:
            changed = services.samples_assign_community(
                actor=signed_in_user(request),
                dataset=dataset,
                sample_ids=form.sample_list(),
                community=community,
            )
        except PortalError as exc:
            problems = _problems(exc)
        else:
            where = community.name if community else "no community"
            messages.success(request, f"{changed} sample(s) now belong to {where}.")
            return redirect("datasets:dataset_manage", accession=dataset.accession)
    context = {
        "dataset": dataset,
        "form": form,
        "problems": problems,
        "counts": selectors.community_sample_counts(dataset),
    }
    status = 400 if form.errors or problems else 200
    return render(request, "datasets/samples_community.html", context, status=status)


@role_required(Role.STEWARD)
@require_POST
def dataset_release(request: HttpRequest, accession: str) -> HttpResponse:
    dataset = _dataset(accession)
    return _steward_action(
        request,
        dataset,
        lambda: services.dataset_release(actor=signed_in_user(request), dataset=dataset),
        f"{dataset.accession} is released: it is now in the catalogue.",
    )


@role_required(Role.STEWARD)
@require_POST
def dataset_retire(request: HttpRequest, accession: str) -> HttpResponse:
    dataset = _dataset(accession)
    return _steward_action(
        request,
        dataset,
        lambda: services.dataset_retire(actor=signed_in_user(request), dataset=dataset),
        f"{dataset.accession} is retired: it left the catalogue.",
    )


# --- the catalogue (anyone, signed in or not) -------------------------------------------------


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    form = CatalogueSearchForm(request.GET)
    query = form.cleaned_data["q"] if form.is_valid() else ""
    context: dict[str, Any] = {"form": form, "query": query, "entries": selectors.catalogue(query)}
    return render(request, "datasets/catalogue.html", context)


@require_GET
def catalogue_detail(request: HttpRequest, accession: str) -> HttpResponse:
    entry = selectors.catalogue_entry(accession)
    if entry is None:
        raise Http404("No released dataset has this accession.")
    user = request.user
    context = {
        "entry": entry,
        "dataset": entry.dataset,
        "signed_in": user.is_authenticated,
        "is_researcher": user.is_authenticated and user.has_role(Role.RESEARCHER),
    }
    return render(request, "datasets/catalogue_detail.html", context)
