"""The simulator's estate read from an AWS account (or the sandbox): ``simulate --estate-from-account``.

Jobs: the managed jobs (``MANAGED_JOBS``) when set, else every job (``ListJobs``), read with
``BatchGetJobs``: worker type, worker count, ``MaxConcurrentRuns``, the first connection. A job
without a worker type (sized by ``MaxCapacity``) cannot be simulated and is left out, named in the
returned notes. Subnets: each connection's subnet (``GetConnection``, ``DescribeSubnets``): its CIDR,
and the IPs in use now (usable minus available) as other tenants' ENIs for the whole simulation.
Quotas: as the capacity tick reads them (Service Quotas, AWS defaults, then the settings'
fallbacks). Budget fraction, IP reserve and team budgets: the settings. Run durations: the
simulator's default, or fitted to the ledger's history with ``--from-ledger``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from glue_audit.aws.estate import AWS_RESERVED_IPS_PER_SUBNET, connection_subnets
from glue_audit.aws.quotas import read_quotas
from glue_audit.config.settings import Settings
from glue_audit.simulate.model import Estate, SimJob, SimQuotas, SimSubnet

BATCH = 100  # BatchGetJobs takes at most 100 names


@dataclass(frozen=True, slots=True)
class AccountEstate:
    estate: Estate
    notes: tuple[str, ...]


def job_names(glue: Any) -> list[str]:
    """Every job of the account (``ListJobs``, names only)."""
    names: list[str] = []
    for page in glue.get_paginator("list_jobs").paginate():
        names.extend(page.get("JobNames", []))
    return sorted(names)


def estate_from_account(
    glue: Any, ec2: Any, service_quotas: Any, settings: Settings, names: Iterable[str] | None = None
) -> AccountEstate:
    wanted = sorted(set(names)) if names is not None else job_names(glue)
    notes: list[str] = []
    found: list[dict[str, Any]] = []
    for start in range(0, len(wanted), BATCH):
        response = glue.batch_get_jobs(JobNames=wanted[start : start + BATCH])
        found.extend(response.get("Jobs", []))
        notes.extend(f"job {name}: not found in Glue" for name in response.get("JobsNotFound", []))
    connections = {job["Name"]: (job.get("Connections", {}).get("Connections") or [None])[0] for job in found}
    subnet_of_connection = connection_subnets(glue, [c for c in connections.values() if c])
    subnet_ids = sorted({s for s in subnet_of_connection.values() if s})
    subnets: dict[str, SimSubnet] = {}
    if subnet_ids:
        for subnet in ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]:
            usable = ipaddress.ip_network(subnet["CidrBlock"]).num_addresses - AWS_RESERVED_IPS_PER_SUBNET
            in_use = max(usable - int(subnet["AvailableIpAddressCount"]), 0)
            subnets[subnet["SubnetId"]] = SimSubnet(
                subnet["SubnetId"], subnet["CidrBlock"], other_enis=in_use
            )
    jobs: dict[str, SimJob] = {}
    for job in found:
        name = job["Name"]
        if not job.get("WorkerType") or not job.get("NumberOfWorkers"):
            notes.append(f"job {name}: no WorkerType/NumberOfWorkers (sized by MaxCapacity); left out")
            continue
        connection = connections[name]
        subnet = subnet_of_connection.get(connection) if connection else None
        jobs[name] = SimJob(
            name=name,
            worker_type=job["WorkerType"],
            workers=int(job["NumberOfWorkers"]),
            max_concurrent_runs=int(job.get("ExecutionProperty", {}).get("MaxConcurrentRuns", 1)),
            subnet=subnet if subnet in subnets else None,
        )
    quotas = read_quotas(service_quotas, settings)
    defaults = SimQuotas()

    def quota(name: str, default: float) -> float:
        value = quotas.get(name).value
        return default if value is None else value

    sim_quotas = SimQuotas(
        max_concurrent_runs=int(quota("max_concurrent_runs", defaults.max_concurrent_runs)),
        max_job_concurrent_runs=int(quota("max_job_concurrent_runs", defaults.max_job_concurrent_runs)),
        max_dpus=float(quota("max_dpus", defaults.max_dpus)),
        max_queued_runs=int(quota("max_queued_runs", defaults.max_queued_runs)),
    )
    estate = Estate(
        jobs=jobs,
        subnets=subnets,
        quotas=sim_quotas,
        fraction=settings.quota_fraction,
        ip_reserve=settings.ip_reserve_per_subnet,
        team_dpu_budgets=dict(settings.team_dpu_budgets),
    )
    return AccountEstate(estate, tuple(notes))
