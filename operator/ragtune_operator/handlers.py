"""kopf handlers: which events the operator reacts to, and nothing else.

Each one hands over to `convergence` (plan → apply → status). `kopf run -m
ragtune_operator.handlers`, or `ragtune operator`.
"""

from __future__ import annotations

from typing import Any

import kopf

from ragtune_operator import conventions as c
from ragtune_operator import convergence as cv
from ragtune_operator import evaluations, metrics, readiness

KB = (c.GROUP, c.VERSION, c.KNOWLEDGE_BASE_PLURAL)
ADAPTER = (c.GROUP, c.VERSION, c.ADAPTER_PLURAL)
EVALUATION = (c.GROUP, c.VERSION, c.EVALUATION_PLURAL)
RESYNC_S = cv.SETTINGS.resync_interval_s


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, logger: kopf.Logger, **_: Any) -> None:
    settings.persistence.finalizer = c.FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=c.GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=c.GROUP, key="last-handled-configuration"
    )
    settings.posting.reporting_component = c.MANAGED_BY
    settings.posting.level = 20  # INFO and up become Events
    mode = (
        f"direct mode, Ray dashboard {cv.SETTINGS.direct_dashboard_url}"
        if cv.SETTINGS.direct
        else "KubeRay mode"
    )
    metrics.serve(cv.SETTINGS.metrics_port)
    logger.info(f"ragtune operator started: {mode}, metrics on :{cv.SETTINGS.metrics_port}")


# In-memory views of every KnowledgeBase and Adapter by namespace; kopf passes them to every
# handler under these functions' names.


@kopf.index(*KB)
def knowledge_bases(namespace: str | None, body: kopf.Body, **_: Any) -> dict[str, cv.Seen]:
    return {str(namespace): cv.seen(body)}


@kopf.index(*ADAPTER)
def adapters(namespace: str | None, body: kopf.Body, **_: Any) -> dict[str, cv.Seen]:
    return {str(namespace): cv.seen(body)}


def _indexes(kwargs: dict[str, Any]) -> cv.Indexes:
    return kwargs["knowledge_bases"], kwargs["adapters"]


@kopf.on.create(*KB)
@kopf.on.resume(*KB)
@kopf.on.update(*KB, field="spec")
@metrics.reconciler(c.KNOWLEDGE_BASE_KIND)
def knowledge_base_changed(
    namespace: str | None,
    name: str | None,
    body: kopf.Body,
    reason: str,
    old: Any,
    new: Any,
    patch: kopf.Patch,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    if reason == "update" and old is not None and new is not None:
        cv.announce_change(body, old, new)
    cv.converge(str(namespace), str(name), body, patch, *_indexes(kwargs), logger)


@kopf.timer(*KB, interval=RESYNC_S, initial_delay=RESYNC_S)
@metrics.reconciler(c.KNOWLEDGE_BASE_KIND)
def knowledge_base_resync(
    namespace: str | None,
    name: str | None,
    body: kopf.Body,
    patch: kopf.Patch,
    logger: kopf.Logger,
    **kwargs: Any,
) -> None:
    cv.converge(str(namespace), str(name), body, patch, *_indexes(kwargs), logger, wait=False)


@kopf.on.delete(*KB)
@metrics.reconciler(c.KNOWLEDGE_BASE_KIND)
def knowledge_base_deleted(
    namespace: str | None, name: str | None, body: kopf.Body, retry: int, **kwargs: Any
) -> None:
    cv.drop(str(namespace), str(name), body, retry, _indexes(kwargs))


@kopf.on.create(*ADAPTER)
@kopf.on.resume(*ADAPTER)
@kopf.on.update(*ADAPTER, field="spec")
@kopf.on.delete(*ADAPTER, optional=True)
@metrics.reconciler(c.ADAPTER_KIND)
def adapter_changed(namespace: str | None, **kwargs: Any) -> None:
    """Adapters reach replicas through the generator's user_config: re-apply the namespace."""
    cv.apply_namespace(str(namespace), *_indexes(kwargs))


@kopf.timer(*ADAPTER, interval=RESYNC_S, initial_delay=1.0)
@metrics.reconciler(c.ADAPTER_KIND)
def adapter_resync(
    namespace: str | None, name: str | None, body: kopf.Body, patch: kopf.Patch, **kwargs: Any
) -> None:
    for key, value in readiness.adapter_status(
        str(namespace), str(name), body, _indexes(kwargs)
    ).items():
        patch.status[key] = value


@kopf.timer(*EVALUATION, interval=RESYNC_S, initial_delay=1.0)
@metrics.reconciler(c.EVALUATION_KIND)
def evaluation_resync(
    namespace: str | None, name: str | None, body: kopf.Body, patch: kopf.Patch, **kwargs: Any
) -> None:
    """Start the evaluation's Job once its knowledge base is Ready, follow it, report."""
    for key, value in evaluations.evaluation_status(
        str(namespace), str(name), body, kwargs["knowledge_bases"]
    ).items():
        patch.status[key] = value
