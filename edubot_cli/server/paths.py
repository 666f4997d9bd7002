"""The API's paths that more than one part of the backend names: the routers declare them, the fast lane
dispatches them, the guards protect them, and the proxy and the engine pool ask engines for the OpenAI ones."""

from __future__ import annotations

CHAT = "/chat"
V1 = "/v1"
COMPLETIONS = V1 + "/chat/completions"
"""The OpenAI chat completions path: the API's and, for every engine, the upstream one."""
MODELS_V1 = V1 + "/models"
STATS = "/stats"
CLASS = "/class"
"""A student's own routes: join, who am I, leave, their conversations."""
TEACHER = "/teacher"
"""The teacher's page (``/teacher``) and its API (``/teacher/*``)."""
