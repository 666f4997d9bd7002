"""edubot: one CLI for an educational chatbot's InstructLab lifecycle."""

__version__ = "0.1.0"
