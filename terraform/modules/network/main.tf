# The private network Glue jobs run in: a VPC with private subnets only (no internet route),
# the self-referencing security group Glue requires, an S3 gateway endpoint, optional interface
# endpoints, and one Glue NETWORK connection per subnet (a job's first connection decides the
# subnet its ENIs, one per worker plus 2, are placed in).

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
  # One AZ per subnet: the given ones, else the region's first available AZs in order.
  availability_zones = length(var.availability_zones) > 0 ? var.availability_zones : slice(
    data.aws_availability_zones.available.names, 0, length(var.private_subnet_cidrs)
  )
  subnets = {
    for index, cidr in var.private_subnet_cidrs : local.availability_zones[index] => {
      cidr_block        = cidr
      availability_zone = local.availability_zones[index]
    }
  }
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # interface endpoints with private DNS need both

  tags = merge(var.tags, { Name = var.name_prefix })
}

# Lock down the VPC's default security group: nothing should use it.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-default-unused" })
}

resource "aws_subnet" "private" {
  for_each = local.subnets

  vpc_id                  = aws_vpc.this.id
  cidr_block              = each.value.cidr_block
  availability_zone       = each.value.availability_zone
  map_public_ip_on_launch = false

  tags = merge(var.tags, { Name = "${var.name_prefix}-private-${each.key}" })

  # Not a validation of private_subnet_cidrs: largest_job_ips comes from module.glue_jobs, whose jobs
  # need this module's connections, and a variable's validation is part of the variable (a cycle).
  lifecycle {
    precondition {
      condition     = pow(2, 32 - tonumber(split("/", each.value.cidr_block)[1])) - 5 >= var.largest_job_ips + var.ip_reserve_per_subnet + length(var.interface_endpoint_services)
      error_message = "Every private subnet must hold the largest job (${var.largest_job_ips} IPs: workers + extra ENIs) plus the IP reserve (${var.ip_reserve_per_subnet}) plus one IP per interface endpoint (${length(var.interface_endpoint_services)}), after the 5 addresses AWS reserves per subnet: ${each.value.cidr_block} is too small. Use a larger CIDR block (a /24 holds 251 usable addresses)."
    }
  }
}

resource "aws_route_table" "private" {
  vpc_id = aws_vpc.this.id

  tags = merge(var.tags, { Name = "${var.name_prefix}-private" })
}

resource "aws_route_table_association" "private" {
  for_each = aws_subnet.private

  subnet_id      = each.value.id
  route_table_id = aws_route_table.private.id
}

# Glue requires a security group with a self-referencing inbound rule for all TCP ports, so the
# driver and executors (ENIs in this group) can talk to each other.
# Glue requires a security group with a self-referencing inbound rule for all TCP ports, so the
# driver and executors (ENIs in this group) can talk to each other. Outbound: the same group (which
# also fronts the interface endpoints) and HTTPS to S3 through the gateway endpoint; nothing else.
resource "aws_security_group" "glue" {
  name        = "${var.name_prefix}-glue"
  description = "Glue job ENIs: all TCP between members (Glue requirement), HTTPS to S3 and endpoints"
  vpc_id      = aws_vpc.this.id

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
    prefix_list_ids = [aws_vpc_endpoint.s3.prefix_list_id]
  }

  tags = merge(var.tags, { Name = "${var.name_prefix}-glue" })
}

resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = [aws_route_table.private.id]

  tags = merge(var.tags, { Name = "${var.name_prefix}-s3" })
}

# Interface endpoints (for example logs, monitoring, glue) let jobs reach those APIs without a
# NAT gateway. Each one takes one IP address in every subnet: the subnet-size check counts them.
resource "aws_vpc_endpoint" "interface" {
  for_each = toset(var.interface_endpoint_services)

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = [for subnet in aws_subnet.private : subnet.id]
  security_group_ids  = [aws_security_group.glue.id]

  tags = merge(var.tags, { Name = "${var.name_prefix}-${each.key}" })
}

resource "aws_glue_connection" "this" {
  for_each = aws_subnet.private

  name            = "${var.name_prefix}-vpc-${each.key}"
  description     = "Runs Glue jobs in ${each.value.id} (${each.key})"
  connection_type = "NETWORK"

  physical_connection_requirements {
    availability_zone      = each.value.availability_zone
    subnet_id              = each.value.id
    security_group_id_list = [aws_security_group.glue.id]
  }

  tags = var.tags
}

resource "aws_flow_log" "this" {
  count = var.flow_logs_enabled ? 1 : 0

  vpc_id                   = aws_vpc.this.id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn             = aws_iam_role.flow_logs[0].arn
  max_aggregation_interval = 600

  tags = var.tags
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  count = var.flow_logs_enabled ? 1 : 0

  name              = "/aws/vpc/${var.name_prefix}/flow-logs"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn

  tags = var.tags
}
