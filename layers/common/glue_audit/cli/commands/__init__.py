"""The ``glue-audit`` commands: one module each, exposing ``register(subparsers)``; the parser it
adds sets ``handler(args, ctx) -> exit code``. ``glue_audit.cli.app`` lists the modules."""
