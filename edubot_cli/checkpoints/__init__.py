"""Model checkpoints: find them, read them safely, write servable safetensors directories, describe them.

``discover`` knows the input layouts, ``load`` reads PyTorch pickles without running code, ``gguf`` turns a GGUF
file into plain tensors, ``write`` streams tensors into verified safetensors shards, ``convert`` ties these
together atomically and ``inspect`` says what a model is and which engines can serve it. Nothing here imports
torch (or any other heavy library) at module level.
"""
