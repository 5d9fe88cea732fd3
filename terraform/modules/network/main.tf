# The private network Glue jobs run in: a VPC with private subnets only (no internet route),
# the self-referencing security group Glue requires, an S3 gateway endpoint whose policy admits
# only the stack's buckets and declared read locations, optional interface endpoints (plus kms when
# a customer managed key is set), and one Glue NETWORK connection per subnet (a job's first
# connection decides the subnet its ENIs, one per worker plus 2, are placed in).
#
# Existing network mode (vpc_id set): nothing of the VPC is created; the jobs run in subnet_ids
# (availability_zones gives each one's zone), with security_group_ids or a security group created
# in that VPC, and an S3 gateway endpoint on route_table_ids if given.

# The region's lettered zones only (<region>a, <region>b, ...): no Local or Wavelength Zones, where
# Glue does not run, and a zone AWS adds later sorts after the ones in use.
data "aws_availability_zones" "available" {
  state = "available"

  filter {
    name   = "zone-name"
    values = [for letter in ["a", "b", "c", "d", "e", "f"] : "${data.aws_region.current.region}${letter}"]
  }
}

data "aws_region" "current" {}

locals {
  create_vpc            = var.vpc_id == null
  create_security_group = length(var.security_group_ids) == 0
  # Existing network mode leaves the VPC as it is: an S3 gateway endpoint (whose policy limits S3
  # for every subnet on those route tables), interface endpoints and a flow log only if asked.
  create_s3_endpoint = local.create_vpc || (var.existing_vpc_s3_endpoint && length(var.route_table_ids) > 0)
  flow_logs          = var.flow_logs_enabled && (local.create_vpc || var.existing_vpc_flow_log)
  ec2_arn_prefix     = "arn:${data.aws_partition.current.partition}:ec2:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"

  # One AZ per subnet: the given ones, else (created VPC only) the region's first available AZs in order.
  availability_zones = length(var.availability_zones) > 0 ? var.availability_zones : slice(
    data.aws_availability_zones.available.names, 0, length(var.private_subnet_cidrs)
  )
  subnets = {
    for index, cidr in var.private_subnet_cidrs : local.availability_zones[index] => {
      cidr_block        = cidr
      availability_zone = local.availability_zones[index]
    }
  }

  vpc_id  = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  vpc_arn = local.create_vpc ? aws_vpc.this[0].arn : "${local.ec2_arn_prefix}:vpc/${var.vpc_id}"
  # Subnet IDs and ARNs by availability zone, in either mode.
  subnet_ids  = local.create_vpc ? { for zone, subnet in aws_subnet.private : zone => subnet.id } : zipmap(var.availability_zones, var.subnet_ids)
  subnet_arns = local.create_vpc ? { for zone, subnet in aws_subnet.private : zone => subnet.arn } : { for zone, id in zipmap(var.availability_zones, var.subnet_ids) : zone => "${local.ec2_arn_prefix}:subnet/${id}" }
  zones       = local.create_vpc ? local.availability_zones : var.availability_zones

  # The subnets and group this module creates carry this tag: the jobs' roles may create ENIs in
  # them by tag, since their IDs exist only after apply (glue_eni_scope).
  scope_tag = { "glue-audit:network" = var.name_prefix }

  security_group_ids  = local.create_security_group ? [aws_security_group.glue[0].id] : var.security_group_ids
  security_group_arns = local.create_security_group ? [aws_security_group.glue[0].arn] : [for id in var.security_group_ids : "${local.ec2_arn_prefix}:security-group/${id}"]

  # The bookmark and log encryption with a customer managed key calls KMS from subnets without a NAT.
  interface_endpoint_services = toset(local.create_vpc ? concat(var.interface_endpoint_services, var.kms_key == null ? [] : ["kms"]) : (var.existing_vpc_interface_endpoints ? var.interface_endpoint_services : []))

  # S3 locations the jobs may reach through the gateway endpoint: the stack's buckets (everything in
  # them) and the declared read locations (read only).
  read_locations = [
    for uri in var.s3_read_uris : {
      bucket = split("/", trimprefix(uri, "s3://"))[0]
      prefix = join("/", slice(split("/", trimprefix(uri, "s3://")), 1, length(split("/", trimprefix(uri, "s3://")))))
    }
  ]
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:flow logs are flow_logs_enabled (on by default, so in the aws plan); the LocalStack stack turns them off

  count = local.create_vpc ? 1 : 0

  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # interface endpoints with private DNS need both

  tags = merge(var.tags, { Name = var.name_prefix })
}

# Lock down the VPC's default security group: nothing should use it.
resource "aws_default_security_group" "this" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge(var.tags, { Name = "${var.name_prefix}-default-unused" })
}

resource "aws_subnet" "private" {
  for_each = local.create_vpc ? local.subnets : {}

  vpc_id                  = aws_vpc.this[0].id
  cidr_block              = each.value.cidr_block
  availability_zone       = each.value.availability_zone
  map_public_ip_on_launch = false

  tags = merge(var.tags, local.scope_tag, { Name = "${var.name_prefix}-private-${each.key}" })

  # Not a validation of private_subnet_cidrs: largest_job_ips comes from module.glue_jobs, whose jobs
  # need this module's connections, and a variable's validation is part of the variable (a cycle).
  lifecycle {
    precondition {
      condition     = pow(2, 32 - tonumber(split("/", each.value.cidr_block)[1])) - 5 >= var.largest_job_ips + var.ip_reserve_per_subnet + length(local.interface_endpoint_services)
      error_message = "Every private subnet must hold the largest job (${var.largest_job_ips} IPs: workers + extra ENIs) plus the IP reserve (${var.ip_reserve_per_subnet}) plus one IP per interface endpoint (${length(local.interface_endpoint_services)}), after the 5 addresses AWS reserves per subnet: ${each.value.cidr_block} is too small. Use a larger CIDR block (a /24 holds 251 usable addresses)."
    }
  }
}

resource "aws_route_table" "private" {
  count = local.create_vpc ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge(var.tags, { Name = "${var.name_prefix}-private" })
}

resource "aws_route_table_association" "private" {
  for_each = aws_subnet.private

  subnet_id      = each.value.id
  route_table_id = aws_route_table.private[0].id
}

# Glue requires a security group with a self-referencing inbound rule for all TCP ports, so the
# driver and executors (ENIs in this group) can talk to each other. Outbound: the same group (which
# also fronts the interface endpoints) and HTTPS to S3 through the gateway endpoint; nothing else.
# Not created when security_group_ids are given (existing network mode).
resource "aws_security_group" "glue" {
  count = local.create_security_group ? 1 : 0

  name        = "${var.name_prefix}-glue"
  description = "Glue job ENIs: all TCP between members (Glue requirement), HTTPS to S3 and endpoints"
  vpc_id      = local.vpc_id

  ingress {
    description = "Glue driver and executors talk to each other on all TCP ports"
    protocol    = "tcp"
    from_port   = 0
    to_port     = 65535
    self        = true
  }

  egress {
    description = "Glue driver and executors, and the interface endpoints"
    protocol    = "tcp"
    from_port   = 0
    to_port     = 65535
    self        = true
  }

  egress {
    description     = "HTTPS to Amazon S3 through the gateway endpoint"
    protocol        = "tcp"
    from_port       = 443
    to_port         = 443
    prefix_list_ids = [aws_vpc_endpoint.s3[0].prefix_list_id]
  }

  tags = merge(var.tags, local.scope_tag, { Name = "${var.name_prefix}-glue" })
}

# Existing network mode: only on route_table_ids, if given (the endpoint policy applies to every
# subnet routed through those tables: give the Glue subnets' own).
resource "aws_vpc_endpoint" "s3" {
  count = local.create_s3_endpoint ? 1 : 0

  vpc_id            = local.vpc_id
  service_name      = "com.amazonaws.${data.aws_region.current.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = local.create_vpc ? [aws_route_table.private[0].id] : var.route_table_ids
  policy            = data.aws_iam_policy_document.s3_endpoint.json

  tags = merge(var.tags, { Name = "${var.name_prefix}-s3" })
}

# The given subnets (existing network mode), read at plan: each must have room for the largest job
# and the reserve now, or no run of that job could ever start there.
data "aws_subnet" "given" {
  for_each = local.create_vpc ? {} : zipmap(var.availability_zones, var.subnet_ids)

  id = each.value

  lifecycle {
    postcondition {
      condition     = self.available_ip_address_count >= var.largest_job_ips + var.ip_reserve_per_subnet + length(local.interface_endpoint_services)
      error_message = "Subnet ${each.value} has ${self.available_ip_address_count} free IP addresses; the largest job takes ${var.largest_job_ips} (workers + extra ENIs), the reserve is ${var.ip_reserve_per_subnet} and the interface endpoints take ${length(local.interface_endpoint_services)}. Give a subnet with more free addresses, or make the largest job smaller."
    }
  }
}

# Interface endpoints (for example logs, monitoring, glue) let jobs reach those APIs without a
# NAT gateway. Each one takes one IP address in every subnet: the subnet-size check counts them.
resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoint_services

  vpc_id              = local.vpc_id
  service_name        = "com.amazonaws.${data.aws_region.current.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = values(local.subnet_ids)
  security_group_ids  = local.security_group_ids

  tags = merge(var.tags, { Name = "${var.name_prefix}-${each.key}" })
}

resource "aws_glue_connection" "this" {
  for_each = toset(local.zones)

  name            = "${var.name_prefix}-vpc-${each.key}"
  description     = "Runs Glue jobs in ${local.subnet_ids[each.key]} (${each.key})"
  connection_type = "NETWORK"

  physical_connection_requirements {
    availability_zone      = each.key
    subnet_id              = local.subnet_ids[each.key]
    security_group_id_list = local.security_group_ids
  }

  tags = var.tags
}

resource "aws_flow_log" "this" {
  count = local.flow_logs ? 1 : 0

  vpc_id                   = local.create_vpc ? aws_vpc.this[0].id : var.vpc_id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn             = aws_iam_role.flow_logs[0].arn
  max_aggregation_interval = 600

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  #checkov:skip=CKV_AWS_338:retention is log_retention_days (30 by default) for cost
  #checkov:skip=CKV_AWS_158:the stack's key is created in the same apply, so its ARN is unknown at plan and checkov's plan scan sees no key; tests/terraform/test_plan_encryption.py holds it to the key

  count = local.flow_logs ? 1 : 0

  name              = "/aws/vpc/${var.name_prefix}/flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = try(var.kms_key.arn, null)

  tags = var.tags
}

# The S3 gateway endpoint admits only the stack's buckets and the declared read locations: a job
# (or anything else in these subnets) cannot copy data to another bucket through it.
data "aws_iam_policy_document" "s3_endpoint" {
  statement {
    sid       = "StackBuckets"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:ListBucket", "s3:GetBucketLocation", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
    resources = flatten([for arn in var.s3_bucket_arns : [arn, "${arn}/*"]])

    principals {
      type        = "*"
      identifiers = ["*"]
    }
  }

  dynamic "statement" {
    for_each = length(local.read_locations) == 0 ? [] : [local.read_locations]

    content {
      sid       = "DeclaredReadLocations"
      actions   = ["s3:GetObject", "s3:ListBucket", "s3:GetBucketLocation"]
      resources = distinct(flatten([for location in statement.value : ["arn:${data.aws_partition.current.partition}:s3:::${location.bucket}", "arn:${data.aws_partition.current.partition}:s3:::${location.bucket}/${location.prefix}*"]]))

      principals {
        type        = "*"
        identifiers = ["*"]
      }
    }
  }
}
