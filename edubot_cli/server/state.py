"""What every route needs: settings, the engine pool, the proxy and the metrics of one app instance, its
classroom (the store, the record, the join and teacher-login throttles) and its moderation."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .api.grounded import Grounding
from .api.moderated import Safety
from .classroom import Classroom
from .edge.throttles import AuthFailures, JoinThrottle
from .engine.proxy import Proxy
from .engine.upstream import EnginePool
from .metrics import Metrics
from .stopping import Stopping

if TYPE_CHECKING:
    from ..config import Settings


@dataclass
class Backend:
    settings: Settings
    engine_name: str
    pool: EnginePool
    metrics: Metrics
    proxy: Proxy
    static_dir: Path
    grounding: Grounding
    stopping: Stopping
    """The backend's stop: refuses new requests, ends running answers when the grace is over."""
    classroom: Classroom
    teacher_failures: AuthFailures
    """Wrong teacher keys per client address (``auth_failures_per_minute``)."""
    safety: Safety
    """Moderation of /chat (``edubot_cli.safety``), the scope setting and the alert hook."""
    join_throttle: JoinThrottle = field(default_factory=JoinThrottle)


def backend(request: Any) -> Backend:
    """The ``Backend`` of the app serving ``request``."""
    state: Backend = request.app.state.backend
    return state
