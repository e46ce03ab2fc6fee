"""Deploy a serve config to a Ray cluster through its dashboard REST API (direct mode).

`PUT /api/serve/applications/` with the `serveConfigV2` document, then poll
`GET /api/serve/applications/` until the applications run. Standard library only.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

SERVE_API = "/api/serve/applications/"


class DashboardError(RuntimeError):
    """The dashboard refused a request, or an application failed to deploy."""


def _request(url: str, method: str = "GET", body: Any = None, timeout: float = 30.0) -> Any:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as error:
        detail = error.read().decode(errors="replace")[:2000]
        raise DashboardError(f"{method} {url}: HTTP {error.code}: {detail}") from error
    except (urllib.error.URLError, OSError) as error:
        raise DashboardError(f"{method} {url}: Ray dashboard unreachable ({error})") from error
    return json.loads(payload) if payload.strip() else None


def is_up(dashboard_url: str) -> bool:
    """True when a Ray dashboard answers at `dashboard_url`."""
    try:
        _request(dashboard_url + "/api/version", timeout=3.0)
    except DashboardError:
        return False
    return True


def put_config(dashboard_url: str, config: dict[str, Any]) -> None:
    """Declare the cluster's Serve applications (replaces the previous declaration)."""
    _request(dashboard_url + SERVE_API, method="PUT", body=config)


def delete_applications(dashboard_url: str) -> None:
    """Remove every Serve application from the cluster (Serve shuts its replicas down)."""
    _request(dashboard_url + SERVE_API, method="DELETE")


def application_statuses(dashboard_url: str) -> dict[str, dict[str, Any]]:
    """Application name → its status record (`status`, `message`, `deployments`)."""
    details = _request(dashboard_url + SERVE_API) or {}
    applications: dict[str, dict[str, Any]] = details.get("applications") or {}
    return applications


def wait_running(dashboard_url: str, names: list[str], timeout_s: float) -> None:
    """Block until every named application is RUNNING; raise with Serve's message if one fails."""
    deadline = time.monotonic() + timeout_s
    last = "no status yet"
    while time.monotonic() < deadline:
        applications = application_statuses(dashboard_url)
        states = {name: applications.get(name, {}) for name in names}
        failed = {n: s for n, s in states.items() if s.get("status") == "DEPLOY_FAILED"}
        if failed:
            name, state = next(iter(failed.items()))
            raise DashboardError(f"application {name} failed to deploy: {state.get('message')}")
        if all(s.get("status") == "RUNNING" for s in states.values()):
            return
        last = ", ".join(f"{n}={s.get('status', 'absent')}" for n, s in states.items())
        time.sleep(1.0)
    raise DashboardError(f"applications not running after {timeout_s:.0f}s ({last})")
