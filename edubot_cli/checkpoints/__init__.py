"""Model checkpoints: find them, read them safely, write servable safetensors directories, describe them.

``discover`` knows the input layouts; ``stored`` reads zip checkpoints without torch and ``load`` reads PyTorch
pickles without running code; ``gguf`` turns a GGUF file into plain tensors; ``plan`` decides the output shards
from metadata, ``write`` streams tensors into them and ``verify`` checks each bitwise; ``convert`` ties these
together atomically and ``inspect`` says what a model is and which engines can serve it. ``sizes`` (byte sizes)
and ``torch_support`` (torch on demand, its dtype names) are small helpers the others share. Imports among
these modules form no cycle, and nothing here imports torch (or any other heavy library) at module level.
"""
