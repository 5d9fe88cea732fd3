"""What the stand-in provider answers, on plain Python values (no gRPC here).

Values are cty values as msgpack decodes them: dict (object or map), list (list, set or tuple),
str/int/float/bool, None (null) and ``msgpack.ExtType`` for an unknown value (code 0, or 12 for an
unknown with refinements). Unknowns that come in are passed back untouched.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from typing import Any

from msgpack import ExtType

from scripts.terraform_offline import iam_policy_document

UNKNOWN = ExtType(0, b"\x00")
ACCOUNT_ID = "123456789012"


def is_unknown(value: Any) -> bool:
    return isinstance(value, ExtType) and value.code in (0, 12)


def wholly_known(value: Any) -> bool:
    if is_unknown(value):
        return False
    if isinstance(value, dict):
        return all(wholly_known(v) for v in value.values())
    if isinstance(value, list):
        return all(wholly_known(v) for v in value)
    return True


@dataclass
class ProviderState:
    """What ConfigureProvider told us: the region and the default tags."""

    region: str = "us-east-1"
    default_tags: dict[str, Any] = field(default_factory=dict)
    default_tags_known: bool = True

    @classmethod
    def from_config(cls, config: dict[str, Any] | None) -> ProviderState:
        config = config or {}
        region = config.get("region")
        state = cls(region=region if isinstance(region, str) else "us-east-1")
        for block in config.get("default_tags") or []:
            tags = block.get("tags") if isinstance(block, dict) else None
            if tags is None:
                continue
            if not wholly_known(tags):
                state.default_tags_known = False
            else:
                state.default_tags.update({k: v for k, v in tags.items() if v is not None})
        return state

    @property
    def partition(self) -> str:
        if self.region.startswith("cn-"):
            return "aws-cn"
        if self.region.startswith("us-gov-"):
            return "aws-us-gov"
        return "aws"


def plan_block(block: dict[str, Any], config: Any) -> Any:
    """Planned value of a block on create: the configuration, with every computed attribute that the
    configuration leaves null planned as unknown, at every nesting level."""
    if config is None or is_unknown(config):
        return config
    planned: dict[str, Any] = {}
    for name, attribute in block.get("attributes", {}).items():
        value = config.get(name)
        planned[name] = UNKNOWN if value is None and attribute.get("computed") else value
    for name, nested in block.get("block_types", {}).items():
        value = config.get(name)
        mode = nested["nesting_mode"]
        if value is None or is_unknown(value):
            planned[name] = value
        elif mode in ("single", "group"):
            planned[name] = plan_block(nested["block"], value)
        elif mode == "map":
            planned[name] = {key: plan_block(nested["block"], item) for key, item in value.items()}
        else:
            planned[name] = [plan_block(nested["block"], item) for item in value]
    return planned


def plan_resource(block: dict[str, Any], config: dict[str, Any], provider: ProviderState) -> dict[str, Any]:
    """A create plan as hashicorp/aws makes it: region and tags_all are known when their inputs are."""
    planned = plan_block(block, config)
    attributes = block.get("attributes", {})
    if "region" in attributes and config.get("region") is None:
        planned["region"] = provider.region
    if "tags_all" in attributes and config.get("tags_all") is None:
        tags = config.get("tags")
        if provider.default_tags_known and (tags is None or wholly_known(tags)):
            planned["tags_all"] = {
                **provider.default_tags,
                **{k: v for k, v in (tags or {}).items() if v is not None},
            }
    return planned


def _placeholder(type_: Any, name: str) -> Any:
    """A deterministic known value of a Terraform type, for computed data-source attributes."""
    if type_ == "string":
        return f"placeholder-{name}"
    if type_ == "number":
        return 0
    if type_ == "bool":
        return False
    if isinstance(type_, list) and type_[0] in ("list", "set"):
        return []
    if isinstance(type_, list) and type_[0] == "map":
        return {}
    if isinstance(type_, list) and type_[0] == "object":
        return {key: None for key in type_[1]}
    return None


def _fill_computed(block: dict[str, Any], config: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    state = dict(config)
    for name, attribute in block.get("attributes", {}).items():
        if state.get(name) is None and attribute.get("computed"):
            state[name] = values[name] if name in values else _placeholder(attribute["type"], name)
    return state


class DataSourceError(ValueError):
    """The configuration of a data source cannot be answered."""


def read_data_source(
    type_name: str, block: dict[str, Any], config: dict[str, Any], provider: ProviderState
) -> dict[str, Any]:
    """Known values for a data source: deterministic placeholders for the account, the configured region,
    its partition and zones, and the real rendering of IAM policy documents."""
    configured_region = config.get("region")
    region = configured_region if isinstance(configured_region, str) else provider.region
    partition = provider.partition
    dns_suffix = "amazonaws.com.cn" if partition == "aws-cn" else "amazonaws.com"
    values: dict[str, Any] = {"id": type_name, "region": region}
    if type_name == "aws_caller_identity":
        values |= {
            "id": ACCOUNT_ID,
            "account_id": ACCOUNT_ID,
            "arn": f"arn:{partition}:iam::{ACCOUNT_ID}:user/terraform",
            "user_id": "AIDAOFFLINEPLACEHOLDER",
        }
    elif type_name == "aws_partition":
        values |= {
            "id": partition,
            "partition": partition,
            "dns_suffix": dns_suffix,
            "reverse_dns_prefix": ".".join(reversed(dns_suffix.split("."))),
        }
    elif type_name == "aws_region":
        values |= {
            "id": region,
            "name": region,
            "endpoint": f"ec2.{region}.{dns_suffix}",
            "description": region,
        }
    elif type_name == "aws_availability_zones":
        letters = "abc"
        short = "".join(part[0] if not part.isdigit() else part for part in region.split("-"))
        values |= {
            "id": region,
            "names": [f"{region}{letter}" for letter in letters],
            "zone_ids": [f"{short}-az{i}" for i in range(1, len(letters) + 1)],
            "group_names": [region],
        }
    elif type_name == "aws_iam_policy_document":
        try:
            rendered = iam_policy_document.render(config)
        except iam_policy_document.PolicyDocumentError as exc:
            raise DataSourceError(str(exc)) from exc
        values |= rendered | {"id": str(zlib.crc32(rendered["json"].encode()))}
    elif type_name == "aws_vpc":
        values |= {"id": "vpc-0123456789abcdef0", "cidr_block": "10.0.0.0/16", "state": "available"}
    elif type_name == "aws_subnet":
        # The given subnet, as an empty /24 (251 free addresses: the subnet check reads it).
        values |= {
            "id": config.get("id") if isinstance(config.get("id"), str) else "subnet-0123456789abcdef0",
            "cidr_block": "10.0.0.0/24",
            "availability_zone": f"{region}a",
            "vpc_id": "vpc-0123456789abcdef0",
            "available_ip_address_count": 251,
        }
    elif type_name == "aws_subnets":
        values |= {"id": region, "ids": ["subnet-0123456789abcdef0"]}
    elif type_name == "aws_security_group":
        values |= {"id": "sg-0123456789abcdef0", "vpc_id": "vpc-0123456789abcdef0"}
    else:
        values |= {
            "id": f"{type_name}-{zlib.crc32(json.dumps(config, sort_keys=True, default=str).encode())}"
        }
    if "arn" in block.get("attributes", {}) and "arn" not in values:
        values["arn"] = f"arn:{partition}:placeholder:{region}:{ACCOUNT_ID}:{type_name}/{values['id']}"
    return _fill_computed(block, config, values)
