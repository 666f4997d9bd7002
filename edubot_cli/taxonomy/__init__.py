"""Taxonomy toolkit: validate qna.yaml files like InstructLab does, scaffold new leaves, list the tree.

Typer-free: these modules return values or raise ``EdubotError`` subclasses; ``edubot_cli.commands.taxonomy``
renders them.
"""
