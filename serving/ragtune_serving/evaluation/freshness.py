"""The freshness check: how long after a document changes each mode answers with the new fact.

A probe document states a fact (the vault code of an archive named for this run); it is
ingested, then updated to a new code, and each mode is asked until it answers with the new
code or the time runs out. Retrieving modes should catch up within seconds; modes without
retrieval cannot (a fine-tuned adapter knows what it was trained on, and no later). The probe
is deleted afterwards: the knowledge base is left as it was found.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Sequence

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving.client import RagClient
from ragtune_serving.evaluation import modes
from ragtune_serving.evaluation.runner import EvaluationError
from ragtune_serving.evaluation.summary import Fresh

PROBE_ID = "ragtune-eval-freshness-probe.md"
CODES = ("TANGERINE", "PERIWINKLE", "MARIGOLD", "CERULEAN", "SAFFRON", "VERMILION")


def probe_text(archive: str, code: str) -> str:
    return f"The vault code of the {archive} archive is {code}."


def check(
    client: RagClient,
    kb: str,
    mode_names: Sequence[str],
    *,
    adapter: str = "",
    timeout_s: float = 60.0,
    poll_s: float = 0.5,
    clock: Callable[[], float] = time.monotonic,
) -> list[Fresh]:
    """Run the check on `kb` in each of `mode_names`; the probe document is deleted after."""
    archive = f"Orbis-{secrets.token_hex(2).upper()}"
    old, new = secrets.SystemRandom().sample(CODES, 2)
    question = f"What is the vault code of the {archive} archive?"
    try:
        _ingest(client, kb, probe_text(archive, old))
        _ingest(client, kb, probe_text(archive, new))
        updated = clock()
        waiting = {name: "" for name in mode_names}
        results: dict[str, Fresh] = {}
        while waiting:
            for name in list(waiting):
                answer = client.query(
                    modes.request(name, kb, question, adapter=adapter, max_tokens=32)
                ).answer
                waiting[name] = answer
                if new.lower() in answer.lower():
                    results[name] = Fresh(name, clock() - updated, answer, timeout_s)
                    del waiting[name]
            if clock() - updated > timeout_s:
                break
            if waiting:
                time.sleep(poll_s)
        for name, answer in waiting.items():
            results[name] = Fresh(name, None, answer, timeout_s)
        return [results[name] for name in mode_names]
    finally:
        client.delete_documents(kb, [PROBE_ID])


def _ingest(client: RagClient, kb: str, text: str) -> None:
    document = pb.Document(id=PROBE_ID, content=text.encode(), metadata={"ragtune-eval": "probe"})
    reply = client.ingest(pb.IngestRequest(knowledge_base=kb, documents=[document]))
    refused = [r for r in reply.results if r.outcome == pb.DOCUMENT_OUTCOME_REFUSED]
    if refused:
        raise EvaluationError(f"the freshness probe was refused: {refused[0].reason}")
