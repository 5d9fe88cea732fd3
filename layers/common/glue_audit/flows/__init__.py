"""Launch, ingest, submission and chains: the request and run flows."""
