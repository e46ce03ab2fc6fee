"""The gateway deployment: the only ingress. gRPC `RagService` + health, and HTTP/JSON.

It converts requests (grpcapi.codec), delegates to the pipeline and the retriever, and maps
errors to status codes (grpcapi.errors). No RAG logic lives here. FastAPI reads the route
signatures at run time, so this module keeps real (not postponed) annotations.
"""

import asyncio
import functools
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

import grpc
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from google.protobuf import json_format
from google.protobuf.message import Message as ProtoMessage
from grpc_health.v1 import health_pb2
from pydantic import ValidationError
from ray import serve
from ray.serve.grpc_util import RayServegRPCContext
from ray.serve.handle import DeploymentHandle

from ragtune.v1 import ragtune_pb2 as pb
from ragtune_serving import metrics, pipeline
from ragtune_serving.config import AppArgs, GatewayUserConfig
from ragtune_serving.engines.adapters import adapter_problem
from ragtune_serving.engines.base import Message, SamplingParams, Usage
from ragtune_serving.errors import InvalidArgument
from ragtune_serving.grpcapi import access, codec
from ragtune_serving.grpcapi.errors import domain_error, fail, grpc_status, http_status, unary
from ragtune_serving.grpcapi.servicer import decoded
from ragtune_serving.rag.latency import LatencyWindow
from ragtune_serving.rag.records import (
    AdapterReport,
    CitationsEvent,
    FinalEvent,
    Hit,
    IngestReport,
    KnowledgeBaseInfo,
    KnowledgeBaseRef,
    QueryParams,
    TokenEvent,
)

logger = logging.getLogger("ray.serve")
LATENCY_WINDOW_S = 60.0
INFO_TTL_S = 5.0  # how long a knowledge base's settings are reused without asking Milvus
SERVICE_NAMES = ("", "ragtune.v1.RagService")
P = TypeVar("P", bound=ProtoMessage)
R = TypeVar("R", bound="_NamesKnowledgeBase")


class _NamesKnowledgeBase(Protocol):
    @property
    def knowledge_base(self) -> str: ...


Operation = Callable[["Gateway", R, str | None], Awaitable[P]]


def _operation(
    method: str,
) -> Callable[[Callable[["Gateway", R], Awaitable[P]]], Operation[R, P]]:
    """A RagService operation over either door (gRPC or HTTP/JSON): called with the caller's
    bearer token, it runs only if that token may call the knowledge base, and is counted in
    `ragtune_requests_total` with its status code."""

    def wrap(operation: Callable[["Gateway", R], Awaitable[P]]) -> Operation[R, P]:
        @functools.wraps(operation)
        async def counted(self: "Gateway", request: R, token: str | None) -> P:
            try:
                decoded(request)
                self._authorize(request.knowledge_base, token)
                result = await operation(self, request)
            except Exception as error:
                self._count(method, request.knowledge_base, error)
                raise
            self._count(method, request.knowledge_base, None)
            return result

        return counted

    return wrap


http_app = FastAPI(title="ragtune", description="ragtune's HTTP/JSON door; gRPC is the main one.")


async def _http(
    request: Request,
    kind: type[P],
    operation: Callable[[P, str | None], Awaitable[ProtoMessage]],
) -> JSONResponse:
    try:
        message = json_format.Parse(await request.body() or b"{}", kind())
    except json_format.ParseError as error:
        return JSONResponse({"code": "INVALID_ARGUMENT", "message": str(error)}, status_code=400)
    return await _respond(lambda: operation(message, _http_token(request)))


def _http_token(request: Request) -> str | None:
    return access.bearer_token(request.headers.items())


def _grpc_token(context: RayServegRPCContext) -> str | None:
    return access.bearer_token(context.invocation_metadata())


async def _respond(operation: Callable[[], Awaitable[ProtoMessage]]) -> JSONResponse:
    try:
        result = await operation()
    except Exception as error:
        known = domain_error(error)
        if known is None:
            logger.exception("request failed", exc_info=error)
            return JSONResponse({"code": "INTERNAL", "message": str(error)}, status_code=500)
        body = {"code": grpc_status(known).name, "message": str(known)}
        return JSONResponse(body, status_code=http_status(known))
    return JSONResponse(json_format.MessageToDict(result))


@serve.deployment(name="Gateway")
@serve.ingress(http_app)
class Gateway:
    """Answers RagService over gRPC (through Serve's gRPC proxy) and over HTTP/JSON."""

    def __init__(
        self,
        args: AppArgs,
        embedder: DeploymentHandle,
        retriever: DeploymentHandle,
        generator: DeploymentHandle,
        reranker: DeploymentHandle,
    ) -> None:
        self._args = args
        self._embedder = embedder
        self._retriever = retriever
        self._generator = generator
        self._reranker = reranker
        self._windows: dict[KnowledgeBaseRef, LatencyWindow] = {}
        self._known: dict[KnowledgeBaseRef, tuple[float, KnowledgeBaseInfo]] = {}
        self._reports: tuple[float, list[AdapterReport]] = (-INFO_TTL_S, [])
        self._declared = GatewayUserConfig()
        self._stages = pipeline.Stages(
            describe=self._describe,
            embed=self._embed,
            retrieve=self._retrieve,
            generate=self._generate,
            rewrite=self._rewrite,
            rerank=self._rerank,
        )

    # -- gRPC: RagService -------------------------------------------------------------------

    async def Query(
        self, request: pb.QueryRequest, grpc_context: RayServegRPCContext
    ) -> pb.QueryResponse:
        token = _grpc_token(grpc_context)
        return await unary(grpc_context, pb.QueryResponse, lambda: self._query(request, token))

    async def QueryStream(
        self, request: pb.QueryRequest, grpc_context: RayServegRPCContext
    ) -> AsyncIterator[pb.QueryStreamResponse]:
        try:
            decoded(request)
            self._authorize(request.knowledge_base, _grpc_token(grpc_context))
            params = self._params(request)
            async for event in self._answer(params):
                yield codec.stream_message(event)
        except Exception as error:
            # A stream ends with an error only by raising; Serve keeps the status set here.
            self._count("QueryStream", request.knowledge_base, error)
            fail(grpc_context, error)
            raise
        self._count("QueryStream", request.knowledge_base, None)

    async def Ingest(
        self, request: pb.IngestRequest, grpc_context: RayServegRPCContext
    ) -> pb.IngestResponse:
        token = _grpc_token(grpc_context)
        return await unary(grpc_context, pb.IngestResponse, lambda: self._ingest(request, token))

    async def DeleteDocuments(
        self, request: pb.DeleteDocumentsRequest, grpc_context: RayServegRPCContext
    ) -> pb.DeleteDocumentsResponse:
        token = _grpc_token(grpc_context)
        return await unary(
            grpc_context, pb.DeleteDocumentsResponse, lambda: self._delete(request, token)
        )

    async def GetKnowledgeBase(
        self, request: pb.GetKnowledgeBaseRequest, grpc_context: RayServegRPCContext
    ) -> pb.KnowledgeBase:
        token = _grpc_token(grpc_context)
        return await unary(grpc_context, pb.KnowledgeBase, lambda: self._get(request, token))

    async def DeleteKnowledgeBase(
        self, request: pb.DeleteKnowledgeBaseRequest, grpc_context: RayServegRPCContext
    ) -> pb.DeleteKnowledgeBaseResponse:
        token = _grpc_token(grpc_context)
        return await unary(
            grpc_context, pb.DeleteKnowledgeBaseResponse, lambda: self._drop(request, token)
        )

    async def WatchLatency(
        self, request: pb.WatchLatencyRequest, grpc_context: RayServegRPCContext
    ) -> AsyncIterator[pb.LatencySnapshot]:
        try:
            decoded(request)
            self._authorize(request.knowledge_base, _grpc_token(grpc_context))
            ref = codec.kb_ref(request.knowledge_base)
            interval = codec.watch_interval(request)
            await self._describe(ref)
            sent = 0
            while not request.max_updates or sent < request.max_updates:
                if sent:
                    await asyncio.sleep(interval)
                window = self._window(ref)
                now = time.monotonic()
                yield codec.latency_snapshot(
                    ref, window.snapshot(now), LATENCY_WINDOW_S, time.time()
                )
                sent += 1
        except Exception as error:
            # A stream ends with an error only by raising; Serve keeps the status set here.
            self._count("WatchLatency", request.knowledge_base, error)
            fail(grpc_context, error)
            raise
        self._count("WatchLatency", request.knowledge_base, None)

    # -- gRPC: grpc.health.v1.Health ---------------------------------------------------------

    async def Check(
        self, request: health_pb2.HealthCheckRequest, grpc_context: RayServegRPCContext
    ) -> health_pb2.HealthCheckResponse:
        if request.service not in SERVICE_NAMES:
            grpc_context.set_code(grpc.StatusCode.NOT_FOUND)
            grpc_context.set_details(f"unknown service {request.service!r}")
            return health_pb2.HealthCheckResponse()
        return health_pb2.HealthCheckResponse(status=await self._health())

    async def Watch(
        self, request: health_pb2.HealthCheckRequest, grpc_context: RayServegRPCContext
    ) -> AsyncIterator[health_pb2.HealthCheckResponse]:
        last = None
        while True:
            status = await self._health()
            if status != last:
                yield health_pb2.HealthCheckResponse(status=status)
                last = status
            await asyncio.sleep(1.0)

    # -- HTTP/JSON ---------------------------------------------------------------------------

    @http_app.post("/v1/query")
    async def http_query(self, request: Request) -> JSONResponse:
        return await _http(request, pb.QueryRequest, self._query)

    @http_app.post("/v1/ingest")
    async def http_ingest(self, request: Request) -> JSONResponse:
        return await _http(request, pb.IngestRequest, self._ingest)

    @http_app.post("/v1/documents:delete")
    async def http_delete(self, request: Request) -> JSONResponse:
        return await _http(request, pb.DeleteDocumentsRequest, self._delete)

    @http_app.get("/v1/knowledgebases/{namespace}/{name}")
    async def http_get(self, namespace: str, name: str, request: Request) -> JSONResponse:
        message = pb.GetKnowledgeBaseRequest(knowledge_base=f"{namespace}/{name}")
        return await _respond(lambda: self._get(message, _http_token(request)))

    @http_app.delete("/v1/knowledgebases/{namespace}/{name}")
    async def http_drop(self, namespace: str, name: str, request: Request) -> JSONResponse:
        message = pb.DeleteKnowledgeBaseRequest(knowledge_base=f"{namespace}/{name}")
        return await _respond(lambda: self._drop(message, _http_token(request)))

    @http_app.get("/healthz")
    async def http_health(self) -> JSONResponse:
        status = await self._health()
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
        return JSONResponse({"status": name}, status_code=200 if status == 1 else 503)

    # -- operations (transport-independent) --------------------------------------------------

    @_operation("Query")
    async def _query(self, request: pb.QueryRequest) -> pb.QueryResponse:
        params = self._params(request)
        response = pb.QueryResponse(knowledge_base=str(params.ref))
        hits: list[Hit] = []
        async for event in self._answer(params):
            if isinstance(event, CitationsEvent):
                hits = event.hits
                response.grounded = event.grounded
                response.mode = codec.MODE_PROTOS[event.mode]
                response.adapter = event.adapter or ""
                response.rewritten_question = event.rewritten_question
                response.reranked = event.reranked
            elif isinstance(event, FinalEvent):
                response.answer = event.answer
                response.citations.extend(codec.citation_protos(hits, event.cited))
                response.timing.CopyFrom(codec.timing_proto(event.timing))
                response.usage.prompt_tokens = event.prompt_tokens
                response.usage.completion_tokens = event.completion_tokens
        return response

    async def _answer(
        self, params: QueryParams
    ) -> AsyncIterator[CitationsEvent | TokenEvent | FinalEvent]:
        await self._check_adapters(params)
        adapter: str | None = None
        with metrics.in_flight("Gateway"):
            async for event in pipeline.answer(params, self._stages):
                if isinstance(event, CitationsEvent):
                    adapter = event.adapter
                elif isinstance(event, FinalEvent):
                    metrics.observe_answer(
                        params.ref, adapter, event.timing, event.completion_tokens
                    )
                    if params.retrieves:
                        self._window(params.ref).add(event.timing.stages(), time.monotonic())
                yield event

    @_operation("Ingest")
    async def _ingest(self, request: pb.IngestRequest) -> pb.IngestResponse:
        arrived = time.monotonic()
        ref = codec.kb_ref(request.knowledge_base)
        documents = codec.source_documents(request, self._args)
        settings = codec.index_settings(request)
        report: IngestReport = await self._retriever.ingest.remote(
            ref, documents, request.prune, settings, list(request.keep), request.reindex
        )
        if report.reindexed:
            self._forget(ref)  # its cached settings are the old index's
        if report.chunks_written or report.chunks_deleted:
            # The retriever returns once the chunks are written and flushed: searchable.
            metrics.observe_ingest(ref, report.chunks_written, time.monotonic() - arrived)
        return codec.ingest_response(report)

    @_operation("DeleteDocuments")
    async def _delete(self, request: pb.DeleteDocumentsRequest) -> pb.DeleteDocumentsResponse:
        ref = codec.kb_ref(request.knowledge_base)
        if not request.document_ids:
            raise InvalidArgument("no document ids given", field="document_ids")
        report = await self._retriever.delete.remote(ref, list(request.document_ids))
        return codec.delete_response(report)

    @_operation("GetKnowledgeBase")
    async def _get(self, request: pb.GetKnowledgeBaseRequest) -> pb.KnowledgeBase:
        ref = codec.kb_ref(request.knowledge_base)
        info: KnowledgeBaseInfo
        generating: list[AdapterReport]
        reranking: list[AdapterReport]
        generator: str
        info, generating, reranking, generator = await asyncio.gather(
            self._retriever.describe.remote(ref, True),
            self._generator.adapters.remote(),
            self._reranker.adapters.remote(),
            self._generator.engine.remote(),
        )
        return codec.knowledge_base_proto(info, generating + reranking, generator)

    @_operation("DeleteKnowledgeBase")
    async def _drop(self, request: pb.DeleteKnowledgeBaseRequest) -> pb.DeleteKnowledgeBaseResponse:
        ref = codec.kb_ref(request.knowledge_base)
        try:
            existed: bool = await self._retriever.drop.remote(ref)
        finally:
            self._forget(ref)
        return pb.DeleteKnowledgeBaseResponse(existed=existed)

    async def _health(self) -> int:
        try:
            await self._retriever.ping.remote()
        except Exception as error:
            logger.warning("not serving: %s", error)
            return int(health_pb2.HealthCheckResponse.NOT_SERVING)
        return int(health_pb2.HealthCheckResponse.SERVING)

    # -- stages the pipeline calls ------------------------------------------------------------

    async def _describe(self, ref: KnowledgeBaseRef) -> KnowledgeBaseInfo:
        cached = self._known.get(ref)
        if cached and time.monotonic() - cached[0] < INFO_TTL_S:
            return cached[1]
        info: KnowledgeBaseInfo = await self._retriever.describe.remote(ref)
        self._known[ref] = (time.monotonic(), info)
        return info

    async def _embed(self, question: str) -> Sequence[float]:
        vector: list[float] = await self._embedder.embed_query.remote(question)
        return vector

    async def _retrieve(
        self,
        info: KnowledgeBaseInfo,
        vector: Sequence[float],
        question: str,
        top_k: int,
        expression: str,
    ) -> list[Hit]:
        hits: list[Hit] = await self._retriever.search.remote(
            info, vector, question, top_k, expression
        )
        return hits

    def reconfigure(self, config: dict[str, Any]) -> None:
        """Take a new `user_config`: the knowledge bases' declared adapters and access."""
        try:
            self._declared = GatewayUserConfig.model_validate(config)
        except ValidationError as error:
            logger.error("gateway user_config refused, declarations left as they are: %s", error)

    def _authorize(self, knowledge_base: str, token: str | None) -> None:
        """Raise Unauthenticated unless `token` may call `knowledge_base` (health is open)."""
        access.authorize(codec.kb_ref(knowledge_base), self._declared.access, token)

    def _params(self, request: pb.QueryRequest) -> QueryParams:
        declared = self._declared.knowledge_bases.get(str(codec.kb_ref(request.knowledge_base)))
        return codec.query_params(request, self._args, declared)

    async def _check_adapters(self, params: QueryParams) -> None:
        """Refuse a request naming an adapter that is not served as it asks, before any stage
        runs: the answer must not depend on whether retrieval found something."""
        named = [
            (params.adapter, "generation", "adapter"),
            (params.rewrite_adapter, "query-rewrite", "rewrite_adapter"),
            (params.rerank_adapter, "rerank", "rerank_adapter"),
        ]
        if not any(name for name, _, _ in named):
            return
        reports = await self._adapter_reports()
        for name, purpose, field in named:
            problem = adapter_problem(reports, name, purpose, field) if name else None
            if problem is not None:
                raise problem

    async def _adapter_reports(self) -> list[AdapterReport]:
        """Adapters the generator and reranker serve, asked at most every INFO_TTL_S."""
        if time.monotonic() - self._reports[0] >= INFO_TTL_S:
            generating, reranking = await asyncio.gather(
                self._generator.adapters.remote(), self._reranker.adapters.remote()
            )
            self._reports = (time.monotonic(), generating + reranking)
        return self._reports[1]

    async def _rewrite(self, question: str, adapter: str) -> str:
        query: str = await self._generator.rewrite.remote(question, adapter)
        return query

    async def _rerank(self, query: str, hits: list[Hit], adapter: str) -> list[Hit]:
        ranked: list[Hit] = await self._reranker.rerank.remote(query, hits, adapter)
        return ranked

    async def _generate(
        self, messages: Sequence[Message], params: SamplingParams, usage: Usage, adapter: str | None
    ) -> AsyncIterator[str]:
        stream = self._generator.options(stream=True).generate.remote(
            list(messages), params.max_tokens, params.temperature, adapter
        )
        async for item in stream:
            if isinstance(item, dict):
                usage.prompt_tokens = item["prompt_tokens"]
                usage.completion_tokens = item["completion_tokens"]
            else:
                yield item

    def _count(self, method: str, knowledge_base: str, error: BaseException | None) -> None:
        """`ragtune_requests_total` += 1. The knowledge base is a label only once it is known
        to exist (the call succeeded, or this replica described it): a caller cannot mint
        label values by naming knowledge bases that do not exist."""
        code = "OK" if error is None else grpc_status(domain_error(error) or error).name
        try:
            ref: KnowledgeBaseRef | None = codec.kb_ref(knowledge_base)
        except InvalidArgument:
            ref = None
        if error is not None and ref not in self._known:
            ref = None
        metrics.count_request(ref, method, code)

    def _forget(self, ref: KnowledgeBaseRef) -> None:
        """Stop serving `ref` from this replica's cache (it was dropped or re-indexed)."""
        self._known.pop(ref, None)

    def _window(self, ref: KnowledgeBaseRef) -> LatencyWindow:
        if ref not in self._windows:
            self._windows[ref] = LatencyWindow(window_seconds=LATENCY_WINDOW_S)
        return self._windows[ref]
