from tests.support.engine_fakes import (  # noqa: F401
    fake_nvidia_smi,
    fake_vllm,
    gguf_file,
    hf_dir,
    make_settings,
    no_nvidia_smi,
)
