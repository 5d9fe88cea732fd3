"""``glue-audit console``: a local, read-only web view of capacity, queue, runs and insights.

The pages call the functions the CLI calls (``glue_audit.cli.commands``, ``glue_audit.insights``,
``glue_audit.flows.submission``), so both show the same numbers. Flask and plotly are the
``console`` extra (``pip install '.[console]'``); the Lambda layer never imports this package.
"""
