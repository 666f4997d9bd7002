"""Typer commands: parse flags, call one library function, render the result. No logic lives here."""
