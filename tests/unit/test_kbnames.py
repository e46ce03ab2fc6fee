"""Knowledge base references parse strictly and map to distinct, Milvus-safe names."""

from __future__ import annotations

import re

import pytest

from ragtune_serving.errors import InvalidArgument
from ragtune_serving.rag.kbnames import collection_alias, collection_name, parse_kb_ref
from ragtune_serving.rag.records import KnowledgeBaseRef

MILVUS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")


@pytest.mark.parametrize(
    ("text", "namespace", "name"),
    [
        ("default/handbook", "default", "handbook"),
        ("team-a/docs.v2", "team-a", "docs.v2"),
        ("a/b", "a", "b"),
        ("x" * 63 + "/" + "y" * 253, "x" * 63, "y" * 253),
    ],
)
def test_valid_refs_parse(text: str, namespace: str, name: str) -> None:
    ref = parse_kb_ref(text)
    assert ref == KnowledgeBaseRef(namespace=namespace, name=name)
    assert str(ref) == text


@pytest.mark.parametrize(
    "text",
    [
        "",
        "demo",
        "a/b/c",
        "Demo/x",
        "ns/-x",
        "ns/x-",
        "-ns/x",
        "ns/",
        "/x",
        "ns/a..b",
        "ns.dot/x",
        "ns/X",
        "ns/a_b",
        "x" * 64 + "/y",
        "ns/" + "y" * 254,
    ],
)
def test_invalid_refs_are_refused_with_the_value_and_expected_form(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_kb_ref(text)
    assert caught.value.field == "knowledge_base"
    assert repr(text) in caught.value.message
    assert "namespace/name" in caught.value.message


def test_alias_has_readable_part_and_hash() -> None:
    alias = collection_alias(KnowledgeBaseRef("team-a", "docs.v2"))
    assert re.fullmatch(r"rt_team_a__docs_v2_[0-9a-f]{8}", alias)


def test_alias_is_deterministic() -> None:
    ref = KnowledgeBaseRef("default", "handbook")
    assert collection_alias(ref) == collection_alias(KnowledgeBaseRef("default", "handbook"))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (KnowledgeBaseRef("a-b", "c"), KnowledgeBaseRef("a", "b-c")),
        (KnowledgeBaseRef("ns", "a-b"), KnowledgeBaseRef("ns", "a.b")),
        (KnowledgeBaseRef("ns", "y" * 252 + "a"), KnowledgeBaseRef("ns", "y" * 252 + "b")),
    ],
)
def test_look_alike_refs_get_distinct_aliases(
    first: KnowledgeBaseRef, second: KnowledgeBaseRef
) -> None:
    assert collection_alias(first) != collection_alias(second)


@pytest.mark.parametrize(
    "ref",
    [
        KnowledgeBaseRef("default", "handbook"),
        KnowledgeBaseRef("0ns", "9.name"),
        KnowledgeBaseRef("x" * 63, ".".join(["y" * 63] * 3) + ".zz"),
    ],
)
def test_names_are_milvus_safe_even_at_maximum_length(ref: KnowledgeBaseRef) -> None:
    assert MILVUS_NAME.fullmatch(collection_alias(ref))
    assert MILVUS_NAME.fullmatch(collection_name(ref, 2**31))


def test_collection_name_appends_version() -> None:
    ref = KnowledgeBaseRef("default", "handbook")
    assert collection_name(ref, 3) == collection_alias(ref) + "_v3"
    assert collection_name(ref, 3) != collection_name(ref, 4)


def test_negative_version_is_refused() -> None:
    with pytest.raises(InvalidArgument):
        collection_name(KnowledgeBaseRef("default", "handbook"), -1)
