"""Committees (a dataset's DAC, a community's governance body), their people, and the
community each sample belongs to. Data stewards only."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from datasets.models import Committee, CommitteeKind, Dataset, Sample
from datasets.services.base import DatasetError, require_steward
from portal.audit import audit_log
from portal.models import Role, User
from portal.services import user_role_add

DAC_ROLES = (Role.DAC_MEMBER, Role.DAC_CHAIR)


class CommitteeActions:
    CREATE = "committee.create"
    UPDATE = "committee.update"
    MEMBER_ADD = "committee.member_add"
    MEMBER_REMOVE = "committee.member_remove"
    SAMPLES_ASSIGN_COMMUNITY = "samples.assign_community"


class CommitteeError(DatasetError):
    code = "committee_error"


def _check_contact(contact_email: str) -> None:
    try:
        validate_email(contact_email)
    except ValidationError as exc:
        raise CommitteeError(
            f"“{contact_email}” is not a valid contact email address.", code="invalid"
        ) from exc


def _check_quorum(quorum: int | None) -> None:
    if quorum is not None and quorum < 1:
        raise CommitteeError(
            "The quorum is the number of votes a decision needs: at least 1, or empty for a "
            "majority of the members who may vote.",
            code="invalid",
        )


def _people(committee: Committee) -> dict[str, list[int]]:
    return {
        "chairs": sorted(committee.chairs.values_list("pk", flat=True)),
        "members": sorted(committee.members.values_list("pk", flat=True)),
    }


def _settings(committee: Committee) -> dict[str, object]:
    return {
        "contact_email": committee.contact_email,
        "quorum": committee.quorum,
        "recuse_same_institution": committee.recuse_same_institution,
        "description": committee.description,
    }


def committee_create(
    *,
    actor: User,
    name: str,
    contact_email: str,
    chairs: Iterable[User],
    members: Iterable[User] = (),
    kind: CommitteeKind = CommitteeKind.DAC,
    quorum: int | None = None,
    recuse_same_institution: bool = False,
    description: str = "",
) -> Committee:
    """1. check the name, the kind, the quorum and that everyone holds a DAC role;
    2. create the committee with its chairs, who are members too; 3. audit."""
    require_steward(actor)
    chair_list, member_list = list(dict.fromkeys(chairs)), list(dict.fromkeys(members))
    name = " ".join((name or "").split())
    if not name:
        raise CommitteeError("A committee needs a name.", code="invalid")
    if kind not in CommitteeKind.values:
        raise CommitteeError(f"Unknown committee kind: {kind}.", code="invalid")
    if not chair_list:
        raise CommitteeError("A committee needs at least one chair.", code="invalid")
    _check_contact(contact_email)
    _check_quorum(quorum)
    everyone = list(dict.fromkeys([*chair_list, *member_list]))
    outsiders = [user.email for user in everyone if not user.has_role(*DAC_ROLES)]
    if outsiders:
        raise CommitteeError(
            "Only people with the DAC member or DAC chair role can sit on a committee: "
            + ", ".join(outsiders),
            code="invalid",
        )
    if Committee.objects.filter(name__iexact=name).exists():
        raise CommitteeError(f"A committee named {name} already exists.", code="duplicate")
    try:
        with transaction.atomic():
            committee = Committee.objects.create(
                name=name,
                kind=kind,
                contact_email=contact_email,
                quorum=quorum,
                recuse_same_institution=recuse_same_institution,
                description=(description or "").strip(),
            )
            committee.chairs.set(chair_list)
            committee.members.set(everyone)
            audit_log(
                actor=actor,
                action=CommitteeActions.CREATE,
                target=committee,
                after={
                    "name": name,
                    "kind": str(kind),
                    **_settings(committee),
                    **_people(committee),
                },
            )
    except IntegrityError as exc:
        # Two stewards raced past the check above with the same name.
        raise CommitteeError(f"A committee named {name} already exists.", code="duplicate") from exc
    return committee


def committee_update(
    *,
    actor: User,
    committee: Committee,
    contact_email: str,
    quorum: int | None,
    recuse_same_institution: bool,
    description: str,
) -> Committee:
    """Change how the committee works; its name and kind stay (requests cite them)."""
    require_steward(actor)
    _check_contact(contact_email)
    _check_quorum(quorum)
    with transaction.atomic():
        locked = Committee.objects.select_for_update().get(pk=committee.pk)
        before = _settings(locked)
        locked.contact_email = contact_email
        locked.quorum = quorum
        locked.recuse_same_institution = recuse_same_institution
        locked.description = (description or "").strip()
        locked.save(
            update_fields=["contact_email", "quorum", "recuse_same_institution", "description"]
        )
        audit_log(
            actor=actor,
            action=CommitteeActions.UPDATE,
            target=locked,
            before=before,
            after=_settings(locked),
        )
    return locked


def committee_member_add(
    *, actor: User, committee: Committee, user: User, chair: bool = False
) -> Committee:
    """Appoint a member (or a chair, who is a member too). Someone who holds neither DAC
    role gains the DAC member role: a steward's appointment is what makes them one."""
    require_steward(actor)
    with transaction.atomic():
        locked = Committee.objects.select_for_update().get(pk=committee.pk)
        before = _people(locked)
        if not user.has_role(*DAC_ROLES):
            user_role_add(actor=actor, user=user, role=Role.DAC_MEMBER)
        locked.members.add(user)
        if chair:
            locked.chairs.add(user)
        audit_log(
            actor=actor,
            action=CommitteeActions.MEMBER_ADD,
            target=locked,
            before=before,
            after={**_people(locked), "user_id": user.pk, "chair": chair},
        )
    return locked


def committee_member_remove(*, actor: User, committee: Committee, user: User) -> Committee:
    """Remove a member (and their chair, if they hold one); the last chair stays."""
    require_steward(actor)
    with transaction.atomic():
        locked = Committee.objects.select_for_update().get(pk=committee.pk)
        before = _people(locked)
        if user.pk not in before["members"]:
            raise CommitteeError(f"{user.email} is not a member of {locked.name}.", code="invalid")
        if before["chairs"] == [user.pk]:
            raise CommitteeError(
                f"{user.email} is the only chair of {locked.name}: appoint another chair first.",
                code="last_chair",
                http_status=409,
            )
        locked.chairs.remove(user)
        locked.members.remove(user)
        audit_log(
            actor=actor,
            action=CommitteeActions.MEMBER_REMOVE,
            target=locked,
            before=before,
            after={**_people(locked), "user_id": user.pk},
        )
    return locked


def samples_assign_community(
    *,
    actor: User,
    dataset: Dataset,
    sample_ids: Sequence[str],
    community: Committee | None,
) -> int:
    """Put the dataset's samples in a community (None: in none). All or nothing: an unknown
    sample ID refuses the whole request. Returns the number of samples changed."""
    require_steward(actor)
    if community is not None and community.kind != CommitteeKind.COMMUNITY:
        raise CommitteeError(
            f"{community.name} is not a community committee: samples belong only to a "
            "community's own governance committee.",
            code="invalid",
        )
    wanted = list(dict.fromkeys(sample_id.strip() for sample_id in sample_ids))
    if not wanted or not all(wanted):
        raise CommitteeError("Give the sample IDs to assign.", code="invalid")
    with transaction.atomic(durable=True):
        samples = list(
            Sample.objects.select_for_update()
            .filter(dataset=dataset, sample_id__in=wanted)
            .order_by("sample_id")
        )
        found = {sample.sample_id for sample in samples}
        unknown = [sample_id for sample_id in wanted if sample_id not in found]
        if unknown:
            raise CommitteeError(
                f"{dataset.accession} has no sample {', '.join(unknown)}: nothing was changed.",
                code="unknown_samples",
            )
        community_id = community.pk if community is not None else None
        changing = [sample for sample in samples if sample.community_id != community_id]
        Sample.objects.filter(pk__in=[sample.pk for sample in changing]).update(community=community)
        audit_log(
            actor=actor,
            action=CommitteeActions.SAMPLES_ASSIGN_COMMUNITY,
            target=dataset,
            before={"communities": {sample.sample_id: sample.community_id for sample in changing}},
            after={
                "community_id": community_id,
                "samples": sorted(sample.sample_id for sample in changing),
            },
        )
    return len(changing)
