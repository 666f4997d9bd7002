"""GGUF files: read their header (pure Python, for ``list`` / ``inspect``) and dequantise them (for ``convert``).

Dequantising goes through transformers' GGUF support (which needs the ``gguf`` package): the model it returns
is marked as quantised and refuses ``save_pretrained``, so its plain float32 tensors are taken from it and
written by edubot's own writer, with config, tokenizer and chat template rebuilt from the GGUF metadata.
"""

from __future__ import annotations

import contextlib
import io
import math
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from ..errors import ConvertError, missing_extra

if TYPE_CHECKING:
    import torch

MAGIC = b"GGUF"
# ggml tensor types by number (enough to name what a file holds).
GGML_TYPES = {
    0: "F32",
    1: "F16",
    2: "Q4_0",
    3: "Q4_1",
    6: "Q5_0",
    7: "Q5_1",
    8: "Q8_0",
    9: "Q8_1",
    10: "Q2_K",
    11: "Q3_K",
    12: "Q4_K",
    13: "Q5_K",
    14: "Q6_K",
    15: "Q8_K",
    16: "IQ2_XXS",
    17: "IQ2_XS",
    18: "IQ3_XXS",
    19: "IQ1_S",
    20: "IQ4_NL",
    21: "IQ3_S",
    22: "IQ2_S",
    23: "IQ4_XS",
    24: "I8",
    25: "I16",
    26: "I32",
    27: "I64",
    28: "F64",
    29: "IQ1_M",
    30: "BF16",
}
_SCALARS = {
    0: "<B",
    1: "<b",
    2: "<H",
    3: "<h",
    4: "<I",
    5: "<i",
    6: "<f",
    7: "<?",
    10: "<Q",
    11: "<q",
    12: "<d",
}
_STRING, _ARRAY = 8, 9
_SKIP_ARRAYS = (
    "tokenizer.ggml.tokens",
    "tokenizer.ggml.merges",
    "tokenizer.ggml.scores",
    "tokenizer.ggml.token_type",
)


@dataclass
class GGUFHeader:
    """What a GGUF file says about itself, without reading tensor data."""

    version: int
    metadata: dict[str, Any]
    """Key/values (tokenizer vocabularies are summarised by their length)."""
    tensor_types: dict[str, int] = field(default_factory=dict)
    """ggml type name -> number of tensors of that type."""
    parameters: int = 0
    tensors: int = 0
    names: set[str] = field(default_factory=set)
    """Tensor names (llama.cpp's, e.g. ``token_embd.weight``)."""

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", "unknown"))


def read_header(path: Path) -> GGUFHeader:
    """Parse a GGUF file's metadata and tensor table (no numpy, no gguf package)."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != MAGIC:
                raise ConvertError(
                    f"{path}: not a GGUF file (bad magic number)", hint="pass a .gguf model file"
                )
            (version,) = struct.unpack("<I", f.read(4))
            if version < 2:
                raise ConvertError(
                    f"{path}: GGUF version {version} is too old", hint="re-export it with llama.cpp"
                )
            n_tensors, n_kv = struct.unpack("<QQ", f.read(16))
            metadata: dict[str, Any] = {}
            for _ in range(n_kv):
                key = _string(f)
                (vtype,) = struct.unpack("<I", f.read(4))
                metadata[key] = _value(f, vtype, summarise=key in _SKIP_ARRAYS)
            header = GGUFHeader(version=version, metadata=metadata, tensors=n_tensors)
            for _ in range(n_tensors):
                header.names.add(_string(f))
                (n_dims,) = struct.unpack("<I", f.read(4))
                dims = struct.unpack(f"<{n_dims}Q", f.read(8 * n_dims))
                ggml_type, _offset = struct.unpack("<IQ", f.read(12))
                name = GGML_TYPES.get(ggml_type, f"type {ggml_type}")
                header.tensor_types[name] = header.tensor_types.get(name, 0) + 1
                header.parameters += math.prod(dims)
            return header
    except (struct.error, UnicodeDecodeError, MemoryError) as exc:
        raise ConvertError(
            f"{path}: truncated or corrupt GGUF header ({exc})", hint="download the file again"
        ) from exc


def _string(f: IO[bytes]) -> str:
    (n,) = struct.unpack("<Q", f.read(8))
    if n > 1 << 30:
        raise struct.error(f"string of {n} bytes")
    return f.read(n).decode("utf-8")


def _value(f: IO[bytes], vtype: int, summarise: bool = False) -> Any:
    if vtype in _SCALARS:
        fmt = _SCALARS[vtype]
        return struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0]
    if vtype == _STRING:
        return _string(f)
    if vtype == _ARRAY:
        item_type, n = struct.unpack("<IQ", f.read(12))
        if item_type in _SCALARS and summarise:
            f.seek(n * struct.calcsize(_SCALARS[item_type]), 1)
            return f"<{n} values>"
        items = [_value(f, item_type) for _ in range(n)]
        return f"<{n} values>" if summarise else items
    raise struct.error(f"unknown GGUF value type {vtype}")


@dataclass
class Dequantised:
    """A GGUF model as plain tensors plus the transformers objects that describe it."""

    tensors: dict[str, torch.Tensor]
    config: Any
    tokenizer: Any
    generation_config: Any


def dequantise(path: Path, status: Callable[[str], None] | None = None) -> Dequantised:
    """Load ``path`` through transformers' GGUF support into float32 tensors, config and tokenizer."""
    try:
        import gguf  # noqa: F401  (transformers needs it to read GGUF)
    except ImportError as exc:
        raise missing_extra("gguf", "convert") from exc
    try:
        import transformers
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer, GenerationConfig
    except ImportError as exc:
        raise missing_extra("transformers", "convert") from exc
    read_header(path)  # a clear error for files that are not GGUF at all
    folder, name = str(path.parent), path.name
    transformers.utils.logging.disable_progress_bar()
    verbosity = transformers.utils.logging.get_verbosity()
    transformers.utils.logging.set_verbosity_error()
    try:
        if status:
            status("reading the GGUF config and tokenizer")
        config = AutoConfig.from_pretrained(folder, gguf_file=name)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        if status:
            status("dequantising the GGUF weights")
        # transformers draws its own tqdm bar for this step, which no setting turns off: keep it off the terminal.
        with contextlib.redirect_stderr(io.StringIO()):
            model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)
    except (ValueError, KeyError, OSError, RuntimeError, NotImplementedError) as exc:
        raise ConvertError(
            f"{path}: transformers cannot dequantise this GGUF ({str(exc).splitlines()[0] if str(exc) else exc!r})",
            hint="transformers reads GGUF for common architectures (llama, mistral, qwen2, ...) and quantisation "
            "types; try a different quantisation of the model",
        ) from exc
    finally:
        transformers.utils.logging.set_verbosity(verbosity)
    config.architectures = [type(model).__name__]
    config.dtype = model.dtype
    generation_config = GenerationConfig.from_model_config(config)
    # state_dict() keeps tied weights as one storage seen under two names; the writer keeps one of them.
    tensors = {k: v.detach() for k, v in model.state_dict().items()}
    return Dequantised(
        tensors=tensors, config=config, tokenizer=tokenizer, generation_config=generation_config
    )
