"""Bearer tokens per knowledge base: parsing the header, comparing digests, the status code."""

from __future__ import annotations

import grpc
import pytest

from ragtune_serving.config import GatewayUserConfig, KnowledgeBaseAccess, token_digest
from ragtune_serving.errors import Unauthenticated
from ragtune_serving.grpcapi.access import authorize, bearer_token
from ragtune_serving.grpcapi.errors import grpc_status, http_status
from ragtune_serving.rag.kbnames import parse_kb_ref

GUARDED = parse_kb_ref("team-a/private")
OPEN = parse_kb_ref("team-a/public")
ACCESS = {str(GUARDED): KnowledgeBaseAccess(token_sha256=token_digest("s3cret-token"))}


@pytest.mark.parametrize(
    ("headers", "token"),
    [
        ([("authorization", "Bearer abc")], "abc"),
        ([("Authorization", "bearer  abc ")], "abc"),
        ([("authorization", b"Bearer abc")], "abc"),
        ([("x-request-id", "1"), ("authorization", "Bearer abc")], "abc"),
        ([], None),
        ([("authorization", "Basic YWxhZGRpbjpvcGVu")], None),
        ([("authorization", "Bearer")], None),
        ([("authorization", "Bearer   ")], None),
        ([("authorization", "abc")], None),
    ],
)
def test_the_bearer_token_is_read_from_the_authorization_header(
    headers: list[tuple[str, str | bytes]], token: str | None
) -> None:
    assert bearer_token(headers) == token


def test_a_knowledge_base_without_access_is_open_to_everyone() -> None:
    authorize(OPEN, ACCESS, None)
    authorize(OPEN, ACCESS, "anything")
    authorize(GUARDED, {}, None)


def test_the_right_token_passes() -> None:
    authorize(GUARDED, ACCESS, "s3cret-token")


@pytest.mark.parametrize(
    ("token", "says"),
    [
        (None, "requires a bearer token"),
        ("s3cret-toke", "not valid"),
        ("s3cret-token ", "not valid"),
        ("S3CRET-TOKEN", "not valid"),
        (token_digest("s3cret-token"), "not valid"),  # the digest itself is not the token
    ],
)
def test_a_missing_or_wrong_token_is_unauthenticated_and_names_the_knowledge_base(
    token: str | None, says: str
) -> None:
    with pytest.raises(Unauthenticated) as raised:
        authorize(GUARDED, ACCESS, token)
    assert says in str(raised.value) and "team-a/private" in str(raised.value)
    assert "s3cret" not in str(raised.value)
    assert grpc_status(raised.value) == grpc.StatusCode.UNAUTHENTICATED
    assert http_status(raised.value) == 401


def test_access_keeps_a_digest_never_a_token() -> None:
    with pytest.raises(ValueError, match="token_sha256"):
        KnowledgeBaseAccess(token_sha256="s3cret-token")
    config = GatewayUserConfig(access=ACCESS).model_dump(mode="json")
    assert "s3cret-token" not in str(config)
    assert GatewayUserConfig.model_validate(config).access == ACCESS
