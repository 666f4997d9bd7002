"""Models from the Hugging Face hub: the curated catalog, pulling a GGUF file into ``models_dir``, and the model
``edubot doctor`` recommends for this machine.

Typer-free. ``catalog`` lists the instruct GGUF models edubot knows (name, hub repo and file, size, licence, RAM,
speed); ``pull`` downloads one through ``huggingface_hub`` (resumable, verified against the hub's hash, renamed
into place); ``recommend`` is the rule that picks one for (cores, RAM, GPU). ``huggingface_hub`` is imported only
inside ``pull``'s functions.
"""
