"""The JSON Schemas that ``instructlab-schema`` ships, loaded through importlib.resources and a registry.

The schema for a file is chosen exactly as ``instructlab.schema.taxonomy.TaxonomyParser`` chooses it: the
version comes from the file, the name from the first folder under the taxonomy root (``compositional_skills``
or ``knowledge``) or, for files elsewhere, from the presence of a ``document`` key.
"""

from __future__ import annotations

import functools
import importlib.resources
import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

SCHEMA_PACKAGE = "instructlab.schema"
TAXONOMY_FOLDERS: tuple[str, ...] = ("compositional_skills", "knowledge")
"""Top-level folders that are also schema names (InstructLab's ``DEFAULT_TAXONOMY_FOLDERS``)."""


def taxonomy_folder(path: Path) -> str | None:
    """The taxonomy folder deciding the schema of ``path``: the last of its parts that names a schema."""
    parts = path.resolve().parts
    for part in reversed(parts):
        if part in TAXONOMY_FOLDERS:
            return part
    return None


def schema_name(folder: str | None, data: Mapping[Any, Any]) -> str:
    """``knowledge`` or ``compositional_skills`` for a file under ``folder`` holding ``data``."""
    if folder in TAXONOMY_FOLDERS:
        return folder
    return "knowledge" if "document" in data else "compositional_skills"


def file_version(data: Mapping[Any, Any]) -> Any:
    """The schema version InstructLab reads from a document (``version``, default 1; non-numbers count as 1)."""
    value = data.get("version", 1)
    if isinstance(value, int):
        return value
    try:
        return int(value)
    except (ValueError, TypeError, OverflowError):
        return 1


@functools.lru_cache(maxsize=64)
def load_schema(tag: str, name: str) -> Mapping[str, Any] | None:
    """The schema ``<tag>/<name>.json`` (``tag`` like ``v3``), or None when the package has no such file."""
    relative = PurePosixPath(tag, name)
    resource = importlib.resources.files(SCHEMA_PACKAGE).joinpath(*relative.parts)
    try:
        contents: Mapping[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return contents


def version_tag(version: Any) -> str:
    """The folder name for ``version`` (``3`` → ``v3``); booleans keep their own spelling, as in InstructLab."""
    return f"v{version}"


@functools.lru_cache(maxsize=16)
def validator(tag: str, name: str) -> Any:
    """A jsonschema validator for ``<tag>/<name>.json`` whose ``$ref``s resolve through a registry."""
    from jsonschema.validators import validator_for
    from referencing import Registry, Resource
    from referencing.exceptions import NoSuchResource
    from referencing.jsonschema import DRAFT202012

    def retrieve(uri: str) -> Resource[Any]:
        contents = load_schema(tag, str(PurePosixPath(uri)))
        if contents is None:
            raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    schema = load_schema(tag, f"{name}.json")
    if schema is None:
        raise LookupError(f"{tag}/{name}.json")
    cls = validator_for(schema)
    registry: Registry[Any] = Registry(retrieve=retrieve)  # type: ignore[call-arg]
    return cls(schema, registry=registry)


def known_versions() -> list[int]:
    """Schema versions the installed instructlab-schema ships, ascending."""
    base = importlib.resources.files(SCHEMA_PACKAGE)
    return sorted(int(p.name[1:]) for p in base.iterdir() if p.name[:1] == "v" and p.name[1:].isdigit())
