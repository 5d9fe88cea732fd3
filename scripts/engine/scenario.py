"""A small Glue estate in the emulator: a VPC with subnets, NETWORK connections, sized jobs."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from glue_audit.aws.declarations import ON_SUCCESS_TAG, SCHEDULE_TAG, TEAM_TAG, UPSTREAM_TAG
from glue_audit.domain.schedule_expressions import to_tag
from glue_audit.flows import submission as requests
from scripts.engine.stack import Stack, create_job


@dataclass(frozen=True)
class JobSpec:
    name: str
    worker_type: str
    workers: int
    subnet: str  # key into Estate.subnets
    max_concurrent_runs: int = 1
    tags: dict[str, str] = field(default_factory=dict)


# The seed's chain ("Monitoring the progress of multiple jobs"): Input on a 30-minute periodic
# trigger, Output after each successful Input run with MaxConcurrentRuns 1; declared the way a
# deployment declares it, in the jobs' tags (the glue_jobs module's schedule and on_success_of;
# the schedule in the tag-safe spelling the module writes).
SEED_SCHEDULE = "rate(30 minutes)"


def seed_chain(
    input_name: str = "input_job",
    output_name: str = "output_job",
    subnet: str = "a",
    workers: int = 5,
    team: str = "ingest",
) -> tuple[JobSpec, JobSpec]:
    """The seed's Input and Output jobs with their schedule and on-success tags."""
    input_job = JobSpec(
        input_name,
        "G.1X",
        workers,
        subnet,
        max_concurrent_runs=1,
        tags={TEAM_TAG: team, SCHEDULE_TAG: to_tag(SEED_SCHEDULE)},
    )
    output_job = JobSpec(
        output_name,
        "G.1X",
        workers,
        subnet,
        max_concurrent_runs=1,
        tags={TEAM_TAG: team, UPSTREAM_TAG: input_name, ON_SUCCESS_TAG: input_name},
    )
    return input_job, output_job


@dataclass
class Estate:
    subnets: dict[str, str]  # name -> subnet id
    connections: dict[str, str]  # subnet name -> connection name
    job_subnets: dict[str, str]  # job name -> subnet id


def build_estate(stack: Stack, subnet_cidrs: dict[str, str], jobs: list[JobSpec]) -> Estate:
    """Subnets in one VPC, one Glue NETWORK connection per subnet, and the jobs on them."""
    ec2 = stack.client("ec2")
    glue = stack.client("glue")
    vpc_id = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets, connections = {}, {}
    for name, cidr in subnet_cidrs.items():
        subnet_id = ec2.create_subnet(VpcId=vpc_id, CidrBlock=cidr)["Subnet"]["SubnetId"]
        subnets[name] = subnet_id
        connections[name] = f"vpc-{name}"
        glue.create_connection(
            ConnectionInput={
                "Name": f"vpc-{name}",
                "ConnectionType": "NETWORK",
                "ConnectionProperties": {},
                "PhysicalConnectionRequirements": {
                    "SubnetId": subnet_id,
                    "SecurityGroupIdList": [],
                    "AvailabilityZone": "us-east-1a",
                },
            }
        )
    for job in jobs:
        create_job(
            stack,
            job.name,
            worker_type=job.worker_type,
            workers=job.workers,
            max_concurrent_runs=job.max_concurrent_runs,
            connection=connections[job.subnet],
            tags=job.tags or None,
        )
    return Estate(subnets, connections, {job.name: subnets[job.subnet] for job in jobs})


def submit_requests(
    stack: Stack, job: str, count: int, priority: int | None = None, at: datetime | None = None
) -> list[str]:
    """Queue ``count`` requests for ``job`` through the same path as ``glue-audit submit``."""
    defaults = requests.job_defaults(stack.client("glue"), job)
    items = requests.build_requests(
        job, [{"--payer_id": str(i)} for i in range(count)], defaults=defaults, priority=priority, now=at
    )
    requests.write_requests(items)
    return [item.request_id for item in items]
