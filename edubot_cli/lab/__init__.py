"""The seam to InstructLab's ``ilab``: find it, run it, record what it did, and find what it produced.

edubot does not reimplement synthetic data generation or training: ``generate`` and ``train`` run the real
``ilab`` in its own process group, stream its output, keep a full log, and write a run record (JSON) next to
the data. Typer-free: the command modules render what these functions report.
"""
