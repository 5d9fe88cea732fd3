"""The engine behind ``make demo`` and the integration tests: the embedded AWS emulator, the stack
provisioned as Terraform declares it, the scheduler's real ASL, the Glue driver and the simulation.

A development package: it is not part of the Lambda layer nor of the ``glue-audit`` distribution,
and it needs the development requirements (moto, localstack-client, requests).
"""
