"""Insights for operators: data-flow ratio, reprocessing and backlog, stragglers, cost.

Modules:

* ``series``, ``cloudwatch``: Glue job metrics read with GetMetricData (the client is an argument);
* ``flow``, ``stragglers``: pure computations over series and run times (rules and thresholds in
  their docstrings), unit-tested without AWS;
* ``run_report``: the run reports the ETL scripts leave in S3;
* ``collect``: runs from the ledger, jobs and tags from Glue, bytes per run;
* ``analysis``: ``analyze_finished_runs``, the analyzer Lambda's domain.
"""
