"""Fuzzing the request decoding layer: whatever a client sends, decoding ends in valid
parameters within the limits or in a domain error naming the request field; nothing else.

Property-based (hypothesis, deterministic profile in conftest.py): arbitrary field values
(unicode, control characters, huge text, out-of-range and wrapped integers, nan and inf) and
arbitrary bytes parsed as each request message (a protobuf DecodeError, or a message that then
decodes as above). Metadata filters never let user text out of its string literal: every
expression parses back, with Milvus Lite's own parser, to exactly the filters given.
"""

from __future__ import annotations

import math
import re
import struct
import unicodedata
from collections.abc import Callable
from typing import Any

import pytest
from google.protobuf.message import DecodeError, Message
from hypothesis import given
from hypothesis import strategies as st
from milvus_lite.search.filter import parse_expr
from milvus_lite.search.filter.ast import And, CmpOp, FieldRef, InOp, PathAccess, StringLit

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.config import AppArgs, DeclaredAdapters, Limits
from ragtune_serving.errors import DocumentRefused, InvalidArgument
from ragtune_serving.grpcapi import codec
from ragtune_serving.rag.documents import (
    MAX_ID_CHARS,
    MAX_METADATA_VALUE_CHARS,
    validate_document,
)
from ragtune_serving.rag.filters import in_expression, metadata_filter_expression
from ragtune_serving.rag.records import ADAPTER_MODES

LIMITS = Limits(
    max_question_chars=200,
    max_document_bytes=4096,
    max_documents_per_request=5,
    max_top_k=10,
    max_rerank_candidates=40,
    max_tokens=300,
)
ARGS = AppArgs(limits=LIMITS)
KEY = re.compile(r"[A-Za-z0-9_.-]{1,64}")
# A Milvus double-quoted literal (Plan.g4): no raw quote or line break, backslash only escapes.
LITERAL = r'"(?:[^"\\\r\n]|\\.)*"'
TERM = rf"metadata\[{LITERAL}\] == {LITERAL}"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(8) + b"\x02\x00\x3e\x00\x01\x00\x00\x00"


def _fields(kind: type[Message]) -> set[str]:
    return {field.name for field in kind.DESCRIPTOR.fields}


def _names_a_field(error: InvalidArgument, kind: type[Message]) -> None:
    """The refusal names a field of the request (`settings.chunk_size` names `settings`)."""
    assert error.field is not None, error
    assert error.field.split(".")[0] in _fields(kind), error.field
    assert error.message.strip()
    assert str(error).startswith(f"{error.field}: ")


# -- strategies ------------------------------------------------------------------------------

NASTY = st.sampled_from("\"\\'\n\r\t\x00\x0b\x1b\x7f\x85\u2028\ufeff\U0001f600 []=/.-aé")


def _huge(alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Up to 100,000 characters, cheaply: a short piece repeated."""
    return st.builds(
        lambda piece, times: piece * times,
        st.text(alphabet, min_size=1, max_size=4),
        st.integers(100, 25_000),
    )


def _utf8(text: str) -> str:
    """`text` with any lone surrogate replaced: protobuf strings are UTF-8, so no client can
    send one (hypothesis may mix some into text over an alphabet given as a strategy)."""
    return text.encode("utf-8", "replace").decode("utf-8")


CHARS = st.one_of(NASTY, st.characters())
TEXT = st.one_of(
    st.text(),
    st.text(CHARS).map(_utf8),
    st.text(st.characters(categories=["Cc", "Cf", "Zs", "Zl", "Zp"])),
    _huge(CHARS).map(_utf8),
)


def _mostly(good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """`good` four times in five: with a dozen fields, enough requests get past every check
    for the valid path to be exercised too."""
    return st.integers(0, 4).flatmap(lambda n: good if n else bad)


KNOWLEDGE_BASES = _mostly(
    st.one_of(
        st.sampled_from(["default/handbook", "team-a/kb.v2", "a/b", f"{'n' * 63}/{'x' * 253}"]),
        st.from_regex(r"[a-z0-9]{1,20}/[a-z0-9]{1,20}(\.[a-z0-9]{1,20}){0,3}", fullmatch=True),
    ),
    st.one_of(
        TEXT,
        # near misses: upper case, dots or dashes at the edges, empty parts, more slashes
        st.from_regex(r"[A-Za-z0-9.-]{0,70}/[A-Za-z0-9./-]{0,260}", fullmatch=True),
        st.sampled_from(
            [f"{'n' * 64}/x", f"n/{'x' * 254}", "-a/b", "a/b-", "a/.b", "a/b..c", "A/b", "a/B"]
        ),
    ),
)
QUESTIONS = _mostly(st.sampled_from(["What is the leave policy?", "  why?\n", "q"]), TEXT)
ADAPTER_NAMES = _mostly(st.sampled_from(["", "", "tone", "rewrite", "rerank"]), TEXT)
UINT32 = _mostly(st.none() | st.integers(1, 12), st.integers(0, 64) | st.integers(0, 2**32 - 1))
FLOAT32 = _mostly(
    st.none() | st.floats(-1, 1, width=32),
    st.one_of(
        st.floats(-3, 3, width=32),
        st.floats(width=32),
        st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 1e300]),
    ),
)
MODES = _mostly(st.sampled_from(list(pb.Mode.values())), st.integers(-(2**31), 2**31 - 1))
FILTER_KEYS = _mostly(st.from_regex(KEY, fullmatch=True), st.text(max_size=70))
FILTERS = st.dictionaries(FILTER_KEYS, TEXT, max_size=4)
DECLARED = st.one_of(
    st.none(),
    st.builds(
        DeclaredAdapters,
        adapter=st.none() | st.sampled_from(["tone", "json-format"]),
        query_rewrite_adapter=st.none() | st.just("rewrite"),
        rerank_adapter=st.none() | st.just("rerank"),
    ),
)


def _message(kind: type[Message], fields: dict[str, Any]) -> Message:
    message = kind()
    for name, value in fields.items():
        if value is None:
            continue  # left unset: optional fields keep HasField() False
        attribute = getattr(message, name)
        if isinstance(value, dict):
            attribute.update(value)
        elif isinstance(value, list):
            attribute.extend(value)
        elif isinstance(value, Message):
            attribute.CopyFrom(value)
        else:
            setattr(message, name, value)
    return message


QUERY_REQUESTS = st.fixed_dictionaries(
    {
        "knowledge_base": KNOWLEDGE_BASES,
        "question": QUESTIONS,
        "top_k": UINT32,
        "max_tokens": UINT32,
        "temperature": FLOAT32,
        "score_threshold": FLOAT32,
        "metadata_filter": FILTERS,
        "mode": MODES,
        "adapter": ADAPTER_NAMES,
        "rewrite": _mostly(st.none(), st.booleans()),
        "rerank": _mostly(st.none(), st.booleans()),
        "rewrite_adapter": ADAPTER_NAMES,
        "rerank_adapter": ADAPTER_NAMES,
        "rerank_candidates": UINT32,
    }
).map(lambda fields: _message(pb.QueryRequest, fields))

PLAIN = st.characters(exclude_categories=["Cc", "Cs"]) | st.sampled_from('\n\r\t"')
TEXT_CONTENTS = st.one_of(
    st.text(PLAIN, max_size=200).map(str.encode),
    st.text(st.sampled_from(" \t\n\r\u00a0\u2003\u3000\ufeff"), min_size=1).map(str.encode),
    st.builds(  # around the byte limit: up to 3 x 4 bytes x 1500
        lambda piece, times: (piece * times).encode(),
        st.text(PLAIN, min_size=1, max_size=3),
        st.integers(1, 1500),
    ),
)
BAD_SAMPLES = st.sampled_from(
    [
        b"",
        b" \n\t\r\n",
        "\ufeff".encode(),
        PNG,
        ELF,
        b"\x00" * 10,
        b"text then a NUL \x00",
        b"\xff\xfe\xfd",
        b"caf\xe9",  # Latin-1, not UTF-8
        b"\xed\xa0\x80",  # an encoded surrogate
        b"ok\r\nok",
        b"a" * LIMITS.max_document_bytes,
        b"a" * (LIMITS.max_document_bytes + 1),
    ]
)
BAD_CONTENTS = st.one_of(
    st.binary(max_size=64),
    BAD_SAMPLES,
    st.builds(
        lambda piece, times: piece * times,
        st.binary(min_size=1, max_size=3),
        st.integers(1, 3000),
    ),
    # text with a few NUL or other control characters in it
    st.builds(
        lambda text, control, at: text[:at] + control + text[at:],
        TEXT_CONTENTS,
        st.binary(min_size=1, max_size=40).map(lambda b: bytes(c % 32 for c in b)),
        st.integers(0, 200),
    ),
)
CONTENTS = _mostly(TEXT_CONTENTS, BAD_CONTENTS)
GOOD_IDS = st.from_regex(r"[\w .-]{1,40}", fullmatch=True)
BAD_IDS = st.one_of(
    st.sampled_from(["", "x" * (MAX_ID_CHARS + 1), "tab\tid", "nul\x00id"]),
    st.text(CHARS, max_size=20).map(_utf8),
)
GOOD_METADATA = st.dictionaries(
    st.from_regex(KEY, fullmatch=True), st.text(max_size=20), max_size=3
)
BAD_METADATA = st.dictionaries(
    FILTER_KEYS,
    st.one_of(st.text(max_size=20), _huge(NASTY), st.just("v" * (MAX_METADATA_VALUE_CHARS + 1))),
    min_size=1,
    max_size=3,
)
DOCUMENTS = st.builds(
    pb.Document,
    id=_mostly(GOOD_IDS, BAD_IDS),
    content=CONTENTS,
    source_uri=st.text(max_size=20),
    metadata=_mostly(GOOD_METADATA, BAD_METADATA),
)
SETTINGS = st.none() | st.builds(
    pb.KnowledgeBaseSettings,
    chunk_size=_mostly(st.integers(16, 512), st.integers(0, 2**32 - 1)),
    chunk_overlap=_mostly(st.integers(0, 64), st.integers(0, 2**32 - 1)),
    hybrid=st.booleans(),
    embedding_model=st.text(max_size=10),
)
INGEST_REQUESTS = st.fixed_dictionaries(
    {
        "knowledge_base": KNOWLEDGE_BASES,
        "documents": _mostly(
            st.lists(DOCUMENTS, max_size=LIMITS.max_documents_per_request),
            st.lists(DOCUMENTS, min_size=LIMITS.max_documents_per_request + 1, max_size=8),
        ),
        "prune": st.booleans(),
        "settings": SETTINGS,
        "keep": st.lists(st.text(max_size=10), max_size=3),
        "reindex": st.booleans(),
    }
).map(lambda fields: _message(pb.IngestRequest, fields))
WATCH_REQUESTS = st.fixed_dictionaries(
    {
        "knowledge_base": KNOWLEDGE_BASES,
        "interval_seconds": FLOAT32,
        "max_updates": UINT32,
    }
).map(lambda fields: _message(pb.WatchLatencyRequest, fields))
DELETE_REQUESTS = st.fixed_dictionaries(
    {"knowledge_base": KNOWLEDGE_BASES, "document_ids": st.lists(TEXT, max_size=3)}
).map(lambda fields: _message(pb.DeleteDocumentsRequest, fields))


# Raw protobuf wire format: any field number and wire type (wrong types included), any varint
# (negative ones as the 10-byte two's complement clients send), bad UTF-8, nested garbage.


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | 0x80 if value else byte)
        if not value:
            return bytes(out)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


FIELD_NUMBERS = st.one_of(st.integers(0, 16), st.integers(0, 2**29 - 1))
SCALAR_FIELDS = st.one_of(
    st.builds(
        lambda n, v: _tag(n, 0) + _varint(v), FIELD_NUMBERS, st.integers(-(2**63), 2**64 - 1)
    ),
    st.builds(lambda n, b: _tag(n, 1) + b, FIELD_NUMBERS, st.binary(min_size=8, max_size=8)),
    st.builds(lambda n, f: _tag(n, 5) + struct.pack("<f", f), FIELD_NUMBERS, st.floats(width=32)),
    st.builds(
        lambda n, b: _tag(n, 2) + _varint(len(b)) + b,
        FIELD_NUMBERS,
        st.one_of(st.binary(max_size=32), st.text(max_size=32).map(str.encode)),
    ),
    st.builds(
        lambda n, w, b: _tag(n, w) + b,
        FIELD_NUMBERS,
        st.sampled_from([3, 4, 6, 7]),
        st.binary(max_size=8),
    ),
)
WIRE = st.recursive(
    st.lists(SCALAR_FIELDS, max_size=6).map(b"".join),
    lambda inner: st.lists(
        st.one_of(
            SCALAR_FIELDS,
            st.builds(lambda n, b: _tag(n, 2) + _varint(len(b)) + b, FIELD_NUMBERS, inner),
        ),
        max_size=6,
    ).map(b"".join),
    max_leaves=12,
)
RAW = st.one_of(st.binary(max_size=256), WIRE, WIRE.map(lambda data: data[:-1]))


# -- what every decoding must satisfy --------------------------------------------------------


DNS_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"


def _is_kb_ref(text: str) -> bool:
    """`namespace/name` as Kubernetes names them: a DNS-1123 label / a DNS-1123 subdomain."""
    namespace, _, name = text.partition("/")
    return (
        re.fullmatch(DNS_LABEL, namespace) is not None
        and len(namespace) <= 63
        and re.fullmatch(rf"{DNS_LABEL}(?:\.{DNS_LABEL})*", name) is not None
        and len(name) <= 253
    )


def check_query(request: pb.QueryRequest, declared: DeclaredAdapters | None = None) -> None:
    """Valid parameters within the limits, with every set field honoured; or a refusal naming
    a field. The filters then build an expression, or are refused naming metadata_filter."""
    try:
        params = codec.query_params(request, ARGS, declared)
    except InvalidArgument as error:
        _names_a_field(error, pb.QueryRequest)
        return
    assert str(params.ref) == request.knowledge_base and _is_kb_ref(request.knowledge_base)
    assert params.question == request.question.strip()
    assert 0 < len(params.question) <= LIMITS.max_question_chars
    assert 1 <= params.top_k <= LIMITS.max_top_k
    assert 1 <= params.max_tokens <= LIMITS.max_tokens
    assert 0.0 <= params.temperature <= 2.0
    assert -1.0 <= params.score_threshold <= 1.0
    for name in ("top_k", "max_tokens", "temperature", "score_threshold"):
        if request.HasField(name):
            assert getattr(params, name) == getattr(request, name), name
    assert params.mode in codec.MODE_PROTOS
    assert bool(params.adapter) == (params.mode in ADAPTER_MODES)
    if params.rerank_adapter:
        assert params.top_k <= params.rerank_candidates <= LIMITS.max_rerank_candidates
    else:
        assert params.rerank_candidates == 0
    assert params.filters == dict(request.metadata_filter)
    try:
        metadata_filter_expression(params.filters)
    except InvalidArgument as error:
        assert error.field == "metadata_filter"
        assert any(not KEY.fullmatch(key) for key in params.filters)


def check_ingest(request: pb.IngestRequest) -> None:
    """Documents handed on one for one (each then accepted as UTF-8 text or refused with a
    reason) and valid index settings; or a refusal naming a field."""
    try:
        assert str(codec.kb_ref(request.knowledge_base)) == request.knowledge_base
        assert _is_kb_ref(request.knowledge_base)
        documents = codec.source_documents(request, ARGS)
        settings = codec.index_settings(request)
    except InvalidArgument as error:
        _names_a_field(error, pb.IngestRequest)
        return
    assert len(documents) == len(request.documents) <= LIMITS.max_documents_per_request
    for sent, document in zip(request.documents, documents, strict=True):
        assert (document.id, document.content, document.metadata) == (
            sent.id,
            sent.content,
            dict(sent.metadata),
        )
        try:
            checked = validate_document(document, max_bytes=LIMITS.max_document_bytes)
        except DocumentRefused as error:
            assert error.field == "documents"
            assert error.message.strip()
            continue
        assert 0 < len(sent.content) <= LIMITS.max_document_bytes
        assert b"\x00" not in sent.content
        text = sent.content.decode("utf-8")  # accepted ⇒ UTF-8 text, not blank, not binary
        assert text.removeprefix("\ufeff").strip()
        controls = [c for c in text if unicodedata.category(c) == "Cc" and c not in "\t\n\r"]
        assert len(controls) <= 0.1 * len(text)
        assert checked.text.strip() and len(checked.content_hash) == 64
        assert 0 < len(sent.id) <= MAX_ID_CHARS
        assert not any(unicodedata.category(char) == "Cc" for char in sent.id)
        assert all(
            KEY.fullmatch(key) and len(value) <= MAX_METADATA_VALUE_CHARS
            for key, value in sent.metadata.items()
        )
    if settings is not None:
        assert 16 <= settings.chunk_size <= 512
        assert settings.chunk_overlap < settings.chunk_size and settings.chunk_overlap <= 256
        assert settings.embedding_model


def check_watch(request: pb.WatchLatencyRequest) -> None:
    try:
        codec.kb_ref(request.knowledge_base)
        interval = codec.watch_interval(request)
    except InvalidArgument as error:
        _names_a_field(error, pb.WatchLatencyRequest)
        return
    assert codec.MIN_INTERVAL_S <= interval <= codec.MAX_INTERVAL_S
    assert interval == (request.interval_seconds or 1.0)


def check_knowledge_base(request: pb.DeleteDocumentsRequest | pb.GetKnowledgeBaseRequest) -> None:
    """The one field these requests' decoding checks (DeleteDocuments' empty `document_ids`
    is refused by the gateway itself; tests/integration/test_bad_requests.py covers it)."""
    try:
        ref = codec.kb_ref(request.knowledge_base)
    except InvalidArgument as error:
        _names_a_field(error, type(request))
        return
    assert str(ref) == request.knowledge_base and _is_kb_ref(request.knowledge_base)


# -- properties ------------------------------------------------------------------------------


@given(request=QUERY_REQUESTS, declared=DECLARED)
def test_any_query_fields_decode_to_valid_params_or_name_the_field(
    request: pb.QueryRequest, declared: DeclaredAdapters | None
) -> None:
    check_query(request, declared)


# One arbitrary field in an otherwise valid request: it alone decides the outcome, so a missing
# check cannot hide behind another field's refusal. Mode and adapters may refuse as a pair.
VALID_QUERY = pb.QueryRequest(knowledge_base="default/handbook", question="What is leave?")
ONE_FIELD = {
    "knowledge_base": (KNOWLEDGE_BASES, {"knowledge_base"}),
    "question": (QUESTIONS, {"question"}),
    "top_k": (UINT32, {"top_k"}),
    "max_tokens": (UINT32, {"max_tokens"}),
    "temperature": (FLOAT32, {"temperature"}),
    "score_threshold": (FLOAT32, {"score_threshold"}),
    "metadata_filter": (FILTERS, {"metadata_filter"}),
    "mode": (MODES, {"mode", "adapter"}),
    "adapter": (ADAPTER_NAMES, {"adapter"}),
    "rewrite_adapter": (ADAPTER_NAMES, set()),  # names an adapter: rewriting switches on
    "rerank_candidates": (UINT32, set()),  # read only when re-ranking
}


@pytest.mark.parametrize("name", list(ONE_FIELD))
@given(data=st.data())
def test_one_arbitrary_query_field_is_honoured_or_refused_by_its_own_name(
    name: str, data: st.DataObject
) -> None:
    values, may_refuse = ONE_FIELD[name]
    value = data.draw(values)
    request = pb.QueryRequest()
    request.CopyFrom(VALID_QUERY)
    if value is not None:
        request.MergeFrom(_message(pb.QueryRequest, {name: value}))
        if name in ("knowledge_base", "question"):
            setattr(request, name, value)  # a string field merges only when non-empty
    try:
        params = codec.query_params(request, ARGS)
        metadata_filter_expression(params.filters)
    except InvalidArgument as error:
        assert error.field in may_refuse, (name, str(error))
        return
    check_query(request)


@given(request=INGEST_REQUESTS)
def test_any_ingest_fields_decode_to_checked_documents_or_name_the_field(
    request: pb.IngestRequest,
) -> None:
    check_ingest(request)


@given(
    document_id=st.one_of(GOOD_IDS, BAD_IDS),
    content=st.one_of(TEXT_CONTENTS, BAD_CONTENTS, BAD_SAMPLES),
    metadata=st.one_of(GOOD_METADATA, BAD_METADATA),
)
def test_any_one_document_is_taken_as_utf8_text_or_refused_with_its_reason(
    document_id: str, content: bytes, metadata: dict[str, str]
) -> None:
    document = pb.Document(id=document_id, content=content, metadata=metadata)
    check_ingest(pb.IngestRequest(knowledge_base="default/handbook", documents=[document]))


@given(request=WATCH_REQUESTS)
def test_any_watch_latency_fields_decode_to_an_interval_or_name_the_field(
    request: pb.WatchLatencyRequest,
) -> None:
    check_watch(request)


@given(
    knowledge_base=st.one_of(
        KNOWLEDGE_BASES,
        st.sampled_from(["A/b", "a/B", "Default/handbook", "a/b/c", "a//b", "/a", "a/", "ns/-x"]),
    )
)
def test_any_knowledge_base_is_a_kubernetes_style_name_or_refused(knowledge_base: str) -> None:
    check_knowledge_base(pb.GetKnowledgeBaseRequest(knowledge_base=knowledge_base))


@given(request=DELETE_REQUESTS)
def test_any_delete_request_names_a_knowledge_base_or_is_refused(
    request: pb.DeleteDocumentsRequest,
) -> None:
    check_knowledge_base(request)


CHECKS: dict[type[Message], Callable[[Any], None]] = {
    pb.QueryRequest: check_query,
    pb.IngestRequest: check_ingest,
    pb.DeleteDocumentsRequest: check_knowledge_base,
    pb.GetKnowledgeBaseRequest: check_knowledge_base,
    pb.WatchLatencyRequest: check_watch,
}


@pytest.mark.parametrize("kind", list(CHECKS), ids=lambda kind: kind.__name__)
@given(data=RAW)
def test_any_bytes_are_a_decode_error_or_a_request_that_decodes_or_names_the_field(
    kind: type[Message], data: bytes
) -> None:
    try:
        message = kind.FromString(data)
    except DecodeError:
        return
    CHECKS[kind](message)


# Table: what raw wire values become once parsed (what a client not using our stubs can send).


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (_tag(3, 0) + _varint(-1), "top_k"),  # int -1 as a varint wraps to 4294967295
        (_tag(3, 0) + _varint(2**40), "top_k"),  # truncated to 32 bits: 0
        (_tag(4, 0) + _varint(-5), "max_tokens"),
        (_tag(5, 5) + struct.pack("<f", math.nan), "temperature"),
        (_tag(6, 5) + struct.pack("<f", -math.inf), "score_threshold"),
        (_tag(8, 0) + _varint(-7), "mode"),  # an enum value no client stub knows
    ],
)
def test_wrapped_and_special_wire_values_are_refused_by_field(data: bytes, field: str) -> None:
    base = pb.QueryRequest(knowledge_base="default/handbook", question="hi").SerializeToString()
    request = pb.QueryRequest.FromString(base + data)
    with pytest.raises(InvalidArgument) as raised:
        codec.query_params(request, ARGS)
    assert raised.value.field == field


@pytest.mark.parametrize(
    "data",
    [
        _tag(2, 2) + _varint(2) + b"\xff\xfe",  # question: not UTF-8
        _tag(1, 2) + _varint(10) + b"abc",  # knowledge_base: length past the end
        _tag(0, 0) + b"\x00",  # field number 0
        _tag(3, 0) + b"\xff" * 11,  # a varint longer than ten bytes
        _tag(9, 4),  # end-group with no start
    ],
)
def test_malformed_wire_data_is_a_decode_error(data: bytes) -> None:
    with pytest.raises(DecodeError):
        pb.QueryRequest.FromString(data)


def test_a_wrong_wire_type_for_a_known_field_is_not_taken_as_that_field() -> None:
    # top_k sent length-delimited: kept as an unknown field, so top_k is unset (the default).
    data = _tag(3, 2) + _varint(3) + b"999"
    request = pb.QueryRequest.FromString(data)
    assert not request.HasField("top_k")


# -- filter expressions ----------------------------------------------------------------------


def _parsed_filters(node: object) -> dict[str, str]:
    """The {key: value} an expression of ANDed `metadata["k"] == "v"` terms says, or fail."""
    terms = node.operands if isinstance(node, And) else (node,)
    found: dict[str, str] = {}
    for term in terms:
        assert isinstance(term, CmpOp) and term.op == "==", term
        assert isinstance(term.left, PathAccess), term.left
        assert term.left.base == FieldRef(name="metadata", pos=term.left.base.pos)
        assert len(term.left.path) == 1 and isinstance(term.left.path[0], str)
        assert isinstance(term.right, StringLit), term.right
        found[term.left.path[0]] = term.right.value
    return found


VALUES = st.one_of(st.text(CHARS).map(_utf8), _huge(NASTY))


@given(filters=st.dictionaries(FILTER_KEYS, VALUES, max_size=5))
def test_filter_expressions_parse_back_to_exactly_the_filters(filters: dict[str, str]) -> None:
    try:
        expression = metadata_filter_expression(filters)
    except InvalidArgument as error:
        assert error.field == "metadata_filter"
        assert any(not KEY.fullmatch(key) for key in filters)
        return
    assert all(KEY.fullmatch(key) for key in filters)
    if not filters:
        assert expression == ""
        return
    # The grammar of a real Milvus server: only ANDed terms, each literal closed where it ends.
    assert re.fullmatch(rf"{TERM}(?: and {TERM})*", expression)
    assert "\n" not in expression and "\r" not in expression
    # Milvus Lite's own parser reads back exactly the keys and values given.
    assert _parsed_filters(parse_expr(expression)) == filters


@given(values=st.lists(VALUES, max_size=6))
def test_in_expressions_parse_back_to_exactly_the_values(values: list[str]) -> None:
    expression = in_expression("document_id", values)
    assert re.fullmatch(rf"document_id in \[(?:{LITERAL}(?:, {LITERAL})*)?\]", expression)
    parsed = parse_expr(expression)
    assert isinstance(parsed, InOp) and not parsed.negate
    assert parsed.field.name == "document_id"
    elements = parsed.values.elements
    assert all(isinstance(element, StringLit) for element in elements)
    assert [element.value for element in elements] == values
