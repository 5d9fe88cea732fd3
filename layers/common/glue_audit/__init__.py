"""Glue Audit Framework: quota-aware launching and an audit ledger for AWS Glue job runs."""

__version__ = "0.1.0"
