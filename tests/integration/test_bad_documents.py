"""Bad documents are refused one by one with their reason while the rest of the batch is
ingested; a batch over the per-request limit and undecodable requests get a status code; the
knowledge base changes by exactly the good documents, and the server keeps answering."""

from __future__ import annotations

import grpc
import pytest

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import ClientError, RagClient
from ragtune_serving.config import Limits
from ragtune_serving.settings import Settings

pytestmark = pytest.mark.integration

LIMITS = Limits()  # the local stack's: 2 MiB per document, 1000 documents per request
MIB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10\x00\x00\x00\x10\x08\x06\x00\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00" + bytes(40)
SEED = pb.Document(id="seed.md", content=b"The seed document says the orchard opens at dawn.")
GOOD = [
    pb.Document(id="apples.md", content=b"The apple orchard is open on Mondays and Fridays."),
    pb.Document(id="pears.md", content=b"Pears ripen in September; pick them slightly green."),
    pb.Document(id="plums.md", content=b"Plum trees need pruning in early summer, not winter."),
]
# Each bad document and the start of the reason it is refused with (rag/documents.py).
BAD = [
    (pb.Document(id="empty.txt", content=b""), "empty document: the content has no text"),
    (pb.Document(id="blank.txt", content=b" \n\t\r\n "), "empty document: the content is only"),
    (pb.Document(id="bom.txt", content=b"\xef\xbb\xbf"), "empty document: the content is only"),
    (pb.Document(id="image.png", content=PNG), "binary or not UTF-8 text: the content has NUL"),
    (pb.Document(id="program", content=ELF), "binary or not UTF-8 text: the content has NUL"),
    (pb.Document(id="nul.txt", content=b"text\x00more"), "binary or not UTF-8 text: the content"),
    (
        pb.Document(id="latin-1.txt", content="café au lait".encode("latin-1")),
        "binary or not UTF-8 text: invalid UTF-8 at byte 3",
    ),
    (
        pb.Document(id="surrogate.txt", content=b"ok \xed\xa0\x80"),
        "binary or not UTF-8 text: invalid UTF-8 at byte 3",
    ),
    (
        pb.Document(id="cut.txt", content="naïve".encode()[:3]),
        "binary or not UTF-8 text: invalid UTF-8 at byte 2",
    ),
    (
        pb.Document(id="controls.txt", content=bytes(range(1, 32)) + b"ab"),
        "binary: 28 of 33 characters are control characters",
    ),
    # Serve's gRPC proxy takes messages up to 2 GiB (RAY_SERVE_GRPC_MAX_MESSAGE_SIZE) and
    # RagClient sends up to 256 MiB, so 50 MB reaches ragtune, which refuses the document alone.
    (
        pb.Document(id="fifty-mb.txt", content=b"a" * (50 * MIB)),
        f"{50 * MIB} bytes is over the {LIMITS.max_document_bytes}-byte limit; split the document",
    ),
    (pb.Document(id="", content=b"no id"), "document id is empty"),
    (pb.Document(id="tab\tid.txt", content=b"text"), "document id 'tab\\tid.txt' contains control"),
    (pb.Document(id="x" * 513, content=b"text"), "document id is 513 characters"),
    (
        pb.Document(id="meta.txt", content=b"text", metadata={"bad key": "v"}),
        "metadata key 'bad key' is invalid",
    ),
    # a bad document under a stored id is refused, and the stored one stays as it was
    (pb.Document(id=SEED.id, content=PNG), "binary or not UTF-8 text"),
]


def _counts(client: RagClient, kb: str) -> tuple[int, int]:
    info = client.get_knowledge_base(kb)
    return info.documents, info.chunks


def test_bad_documents_are_refused_with_their_reason_and_the_good_ones_ingested(
    client: RagClient,
) -> None:
    kb = "itest/bad-documents"
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=[SEED]))
    before = _counts(client, kb)
    duplicate = pb.Document(id=GOOD[0].id, content=b"A second document under the same id.")
    batch = [BAD[0][0], GOOD[0], *[d for d, _ in BAD[1:]], GOOD[1], duplicate, GOOD[2]]

    reply = client.ingest(pb.IngestRequest(knowledge_base=kb, documents=batch))

    assert len(reply.results) == len(batch)
    refused = [(r.id, r.reason) for r in reply.results if r.outcome == pb.DOCUMENT_OUTCOME_REFUSED]
    expected = [(d.id, reason) for d, reason in BAD]
    expected.append((duplicate.id, "duplicate document id in this request"))
    assert len(refused) == len(expected)
    for (refused_id, why), (expected_id, reason) in zip(refused, expected, strict=True):
        assert refused_id == expected_id
        assert why.startswith(reason), (refused_id, why)
        assert "Traceback" not in why and len(why) < 300
    created = [r for r in reply.results if r.outcome == pb.DOCUMENT_OUTCOME_CREATED]
    assert sorted(r.id for r in created) == sorted(d.id for d in GOOD)
    assert all(r.chunks >= 1 for r in created)
    assert reply.chunks_written == sum(r.chunks for r in created)
    assert reply.chunks_deleted == 0

    # the knowledge base changed by exactly the good documents
    assert _counts(client, kb) == (before[0] + len(GOOD), before[1] + reply.chunks_written)
    # the seed is stored as it was: sending it again changes nothing
    again = client.ingest(pb.IngestRequest(knowledge_base=kb, documents=[SEED]))
    assert [(r.id, r.outcome) for r in again.results] == [(SEED.id, pb.DOCUMENT_OUTCOME_UNCHANGED)]

    # and the server still answers, from the stored documents only
    answer = client.query(
        pb.QueryRequest(
            knowledge_base=kb,
            question="When is the apple orchard open?",
            max_tokens=1,
            score_threshold=-1.0,
            top_k=10,
        )
    )
    cited = {c.document_id for c in answer.citations}
    assert cited and cited <= {SEED.id, *(d.id for d in GOOD)}
    assert answer.citations[0].document_id == "apples.md"


def test_a_batch_over_the_document_limit_is_refused_whole_and_one_at_the_limit_ingested(
    client: RagClient,
) -> None:
    kb = "itest/many-tiny-documents"
    limit = LIMITS.max_documents_per_request
    tiny = [pb.Document(id=f"tiny-{n}", content=f"note {n}".encode()) for n in range(3 * limit)]

    with pytest.raises(ClientError) as raised:
        client.ingest(pb.IngestRequest(knowledge_base=kb, documents=tiny))
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.message == (
        f"documents: {3 * limit} documents in one request; the limit is {limit}, split the batch"
    )
    with pytest.raises(ClientError) as absent:  # refused before anything was stored
        client.get_knowledge_base(kb)
    assert absent.value.code == grpc.StatusCode.NOT_FOUND

    reply = client.ingest(pb.IngestRequest(knowledge_base=kb, documents=tiny[:limit]))
    assert reply.created_knowledge_base
    assert [r.outcome for r in reply.results] == [pb.DOCUMENT_OUTCOME_CREATED] * limit
    assert reply.chunks_written == limit  # a tiny document is one chunk
    assert _counts(client, kb) == (limit, limit)


@pytest.fixture(scope="module")
def raw_kb(client: RagClient) -> str:
    """A knowledge base the raw requests must leave as it is."""
    kb = "itest/raw-bytes"
    client.ingest(pb.IngestRequest(knowledge_base=kb, documents=[SEED]))
    return kb


def _raw_call(address: str, method: str, payload: bytes) -> grpc.Call:
    """Send `payload` as it is (no stub, no serializer) and return the failed call."""
    with grpc.insecure_channel(address) as channel:
        path = f"/ragtune.v1.RagService/{method}"  # bytes in, bytes out
        with pytest.raises(grpc.RpcError) as raised:
            if method in STREAMS:
                list(channel.unary_stream(path)(payload, timeout=60))
            else:
                channel.unary_unary(path)(payload, timeout=60)
    error = raised.value
    assert isinstance(error, grpc.Call)
    return error


def _still_serving(client: RagClient, kb: str) -> None:
    assert client.healthy()
    assert _counts(client, kb) == (1, 1)
    answer = client.query(
        pb.QueryRequest(knowledge_base=kb, question="When?", max_tokens=1, score_threshold=-1)
    )
    assert answer.citations[0].document_id == SEED.id


STREAMS = ("QueryStream", "WatchLatency")
# Bytes that are no request message at all: protobuf parsing fails in Serve's gRPC proxy, and
# ragtune's servicer registration hands the gateway a marker it refuses.
UNDECODABLE = [
    pytest.param("Query", b"\x12\x02\xff\xfe", id="question-not-utf8"),
    pytest.param("Query", b"\x0a\x10abc", id="length-past-the-end"),
    pytest.param("Query", b"\xff\xff\xff\xff", id="tag-cut-short"),
    pytest.param("Query", b"\x00\x00", id="field-number-0"),
    pytest.param("Ingest", b"\x12\x05\x0a\x03\xc3\x28\x00", id="document-id-not-utf8"),
    pytest.param("DeleteDocuments", b"\x12\x02\xc3\x28", id="document-ids-not-utf8"),
    pytest.param("QueryStream", b"\x12\x02\xff\xfe", id="stream-question-not-utf8"),
    pytest.param("WatchLatency", b"\x0a\x02\xff\xfe", id="watch-kb-not-utf8"),
]


@pytest.mark.parametrize(("method", "payload"), UNDECODABLE)
def test_undecodable_bytes_are_refused_and_the_server_keeps_serving(
    stack: Settings, client: RagClient, raw_kb: str, method: str, payload: bytes
) -> None:
    error = _raw_call(stack.address, method, payload)
    details = error.details() or ""
    message = {"QueryStream": "QueryRequest"}.get(method, f"{method}Request")
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, details
    assert details.startswith(f"request: the request is not a valid ragtune.v1.{message}"), details
    assert "Traceback" not in details
    _still_serving(client, raw_kb)


def _tag(number: int, wire_type: int) -> bytes:
    return bytes([number << 3 | wire_type])


NEGATIVE_VARINT = b"\xff" * 9 + b"\x01"  # -1 as a client sends an int64: wraps to 4294967295
HI = pb.QueryRequest(knowledge_base="itest/raw-bytes", question="hi").SerializeToString()


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        pytest.param(b"", "knowledge_base: '' is not a knowledge base reference", id="empty"),
        pytest.param(
            HI + _tag(3, 0) + NEGATIVE_VARINT, "top_k: 4294967295 is outside [1, 50]", id="top_k"
        ),
        pytest.param(
            HI + _tag(4, 0) + NEGATIVE_VARINT,
            "max_tokens: 4294967295 is outside [1, 1024]",
            id="max_tokens",
        ),
        pytest.param(HI + _tag(8, 0) + NEGATIVE_VARINT, "mode: unknown mode -1", id="mode"),
        pytest.param(
            HI + _tag(5, 5) + b"\x00\x00\xc0\x7f",
            "temperature: nan is outside [0.0, 2.0]",
            id="temperature-nan",
        ),
    ],
)
def test_decodable_bytes_with_bad_values_are_invalid_argument_naming_the_field(
    stack: Settings, client: RagClient, raw_kb: str, payload: bytes, says: str
) -> None:
    error = _raw_call(stack.address, "Query", payload)
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error.details()
    assert (error.details() or "").startswith(says), error.details()
    _still_serving(client, raw_kb)
