"""Direct mode: the namespace's Serve config applied to an existing Ray cluster's dashboard.

The cluster's Serve config is declarative and whole: the operator PUTs it when it changed
(idempotent on Serve's side too), and removes the applications when nothing is left to serve.
"""

from __future__ import annotations

import threading
from typing import Any, Literal

from ragtune_operator.render.rayservice import spec_hash
from ragtune_serving import raydashboard
from ragtune_serving.raydashboard import DashboardError

__all__ = ["DashboardError", "application", "apply", "remove"]

_lock = threading.Lock()
_applied: dict[str, str] = {}  # dashboard URL → hash of the config last PUT there


def apply(dashboard_url: str, config: dict[str, Any]) -> Literal["updated", "unchanged"]:
    """PUT `config` unless it is what this process last PUT and its applications exist."""
    digest = spec_hash(config)
    names = [app["name"] for app in config["applications"]]
    with _lock:
        if _applied.get(dashboard_url) == digest:
            deployed = raydashboard.application_statuses(dashboard_url)
            if all(name in deployed for name in names):
                return "unchanged"
        raydashboard.put_config(dashboard_url, config)
        _applied[dashboard_url] = digest
    return "updated"


def remove(dashboard_url: str) -> None:
    with _lock:
        raydashboard.delete_applications(dashboard_url)
        _applied.pop(dashboard_url, None)


def application(dashboard_url: str, name: str) -> dict[str, Any] | None:
    """The dashboard's status record of one application, or None when absent."""
    return raydashboard.application_statuses(dashboard_url).get(name)
