"""Shared code of the Glue Audit Framework's ETL jobs (shipped to Glue with ``--extra-py-files``).

Everything here is plain Python or plain PySpark: nothing imports ``awsglue``, so it runs (and is
tested) on any Spark 3.5. The ``awsglue`` calls live only in the thin job scripts
``glue_jobs/input_job.py`` and ``glue_jobs/output_job.py``.

Modules:

- :mod:`glue_audit_etl.mapping`: the column mapping files (load, validate, clear errors).
- :mod:`glue_audit_etl.transform`: ``apply_mapping``, ApplyMapping's semantics in plain PySpark.
- :mod:`glue_audit_etl.pipeline`: S3 source options, map-and-write with record/byte accounting.
- :mod:`glue_audit_etl.storage`: listing, sizing, reading and writing files through Hadoop.
- :mod:`glue_audit_etl.report`: the per-run report the ledger picks up (the contract).
"""
