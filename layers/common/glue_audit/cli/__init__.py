"""The ``glue-audit`` command line."""

from glue_audit.cli.app import main

__all__ = ["main"]
