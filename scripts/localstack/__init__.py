"""Run the LocalStack test tier (``make test-localstack``)."""
