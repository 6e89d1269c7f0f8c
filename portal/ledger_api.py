"""The transparency log's proofs as JSON, public like its checkpoints (RFC 9162, 2.1.3-2.1.4).

Anyone holding a checkpoint (a witness, an auditor, a participant's browser) asks for a proof
and checks it against the signed root themselves; the proofs reveal hashes, never entries.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from portal import merkle
from portal.exceptions import PortalError
from portal.proofs import consistency_proof_get, inclusion_proof_get

# Ids and sizes fit PostgreSQL's bigint; a larger number is refused before any query.
_LARGEST = 2**62
_EMPTY_TREE = "The empty tree (size 0) proves nothing: give a tree size of at least 1."


def _hex_hash() -> serializers.RegexField:
    return serializers.RegexField(r"^[0-9a-f]{64}$", help_text="SHA-256, lowercase hex")


_NOT_FOUND = OpenApiResponse(
    description="No such entry or leaf, not sealed yet, or no checkpoint at that tree size."
)
_DAMAGED = OpenApiResponse(
    description="The log's stored hashes are incomplete: it cannot give this proof (the "
    "operators run verify_audit_ledger)."
)


def _size(help_text: str, *, required: bool) -> serializers.IntegerField:
    return serializers.IntegerField(
        required=required,
        min_value=1,
        max_value=_LARGEST,
        help_text=help_text,
        error_messages={"min_value": _EMPTY_TREE},
    )


class LedgerInclusionProofApi(APIView):
    """Inclusion proof: an audit entry (or a leaf) is in the tree of a signed checkpoint."""

    authentication_classes = []  # type: ignore[var-annotated] # public, like the checkpoint
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        entry = serializers.IntegerField(
            required=False, min_value=1, max_value=_LARGEST, help_text="An audit entry's id"
        )
        leaf_index = serializers.IntegerField(
            required=False, min_value=0, max_value=_LARGEST, help_text="Or a leaf's index"
        )
        tree_size = _size(
            "The tree size of a signed checkpoint (default: the latest)", required=False
        )

        def validate(self, data: dict) -> dict:
            if ("entry" in data) == ("leaf_index" in data):
                raise serializers.ValidationError("Give either entry or leaf_index (one of them).")
            return data

    class OutputSerializer(serializers.Serializer):
        leaf_index = serializers.IntegerField()
        tree_size = serializers.IntegerField()
        entry_id = serializers.IntegerField()
        leaf_hash = _hex_hash()
        inclusion_path = serializers.ListField(
            child=_hex_hash(), help_text="PATH(m, D[n]) of RFC 9162, 2.1.3.1, leaf side first"
        )
        root_hash = _hex_hash()
        checkpoint = serializers.CharField(
            help_text="The signed checkpoint (c2sp.org/tlog-checkpoint)"
        )

        class Meta:
            ref_name = "LedgerInclusionProof"

    @extend_schema(
        parameters=[InputSerializer],
        responses={200: OutputSerializer, 404: _NOT_FOUND, 409: _DAMAGED},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            proof = inclusion_proof_get(
                entry_id=data.get("entry"),
                leaf_index=data.get("leaf_index"),
                tree_size=data.get("tree_size"),
            )
        except merkle.ProofError as exc:
            raise PortalError(str(exc), code="ledger_damaged", http_status=409) from exc
        return Response(proof.as_json())


class LedgerConsistencyProofApi(APIView):
    """Consistency proof: a later checkpoint's tree extends an earlier one's (nothing removed
    or rewritten)."""

    authentication_classes = []  # type: ignore[var-annotated] # public, like the checkpoint
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        first = _size("The tree size of the earlier checkpoint", required=True)
        second = _size(
            "The tree size of the later checkpoint (default: the latest)", required=False
        )

    class OutputSerializer(serializers.Serializer):
        first = serializers.IntegerField()
        second = serializers.IntegerField()
        consistency_path = serializers.ListField(
            child=_hex_hash(), help_text="PROOF(m, D[n]) of RFC 9162, 2.1.4.1"
        )
        first_root_hash = _hex_hash()
        second_root_hash = _hex_hash()
        first_checkpoint = serializers.CharField()
        second_checkpoint = serializers.CharField()

        class Meta:
            ref_name = "LedgerConsistencyProof"

    @extend_schema(
        parameters=[InputSerializer],
        responses={200: OutputSerializer, 404: _NOT_FOUND, 409: _DAMAGED},
    )
    def get(self, request: Request) -> Response:
        params = self.InputSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        data = params.validated_data
        try:
            proof = consistency_proof_get(first=data["first"], second=data.get("second"))
        except merkle.ProofError as exc:
            raise PortalError(str(exc), code="ledger_damaged", http_status=409) from exc
        return Response(proof)
