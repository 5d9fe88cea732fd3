variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name (glue_audit.config.resources.ResourceNames)."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "vpc_cidr" {
  type        = string
  description = "IPv4 CIDR block of the VPC, for example 10.42.0.0/16."

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && can(regex("^[0-9.]+/(1[6-9]|2[0-8])$", var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block with a prefix length between /16 and /28 (AWS VPC limits)."
  }
}

variable "private_subnet_cidrs" {
  type        = list(string)
  description = <<-EOT
    IPv4 CIDR blocks of the private subnets Glue jobs run in, one per availability zone. Size them for
    the largest job: a run takes one IP per worker plus 2 (G.* worker types) or 1 (Standard), AWS
    reserves 5 addresses per subnet, and the scheduler keeps ip_reserve_per_subnet free.
  EOT

  validation {
    condition     = length(var.private_subnet_cidrs) > 0 && alltrue([for cidr in var.private_subnet_cidrs : can(cidrhost(cidr, 0)) && can(regex("^[0-9.]+/(1[6-9]|2[0-8])$", cidr))])
    error_message = "private_subnet_cidrs must hold at least one IPv4 CIDR block, each with a prefix length between /16 and /28."
  }
}

variable "availability_zones" {
  type        = list(string)
  description = "Availability zone of each private subnet, in the same order as private_subnet_cidrs. Empty: the region's first available zones."
  default     = []

  validation {
    condition     = length(distinct(var.availability_zones)) == length(var.availability_zones)
    error_message = "availability_zones must not repeat a zone: subnets are keyed by zone."
  }
}

variable "largest_job_ips" {
  type        = number
  description = "IP addresses the largest configured Glue job takes in its subnet (workers + 2 for G.* worker types, + 1 for Standard)."

  validation {
    condition     = var.largest_job_ips >= 2 && floor(var.largest_job_ips) == var.largest_job_ips
    error_message = "largest_job_ips must be a whole number >= 2 (one worker plus its extra ENI)."
  }
}

variable "ip_reserve_per_subnet" {
  type        = number
  description = "IP addresses the scheduler keeps free in every subnet (ENIs linger after runs end)."

  validation {
    condition     = var.ip_reserve_per_subnet >= 0 && floor(var.ip_reserve_per_subnet) == var.ip_reserve_per_subnet
    error_message = "ip_reserve_per_subnet must be a whole number >= 0."
  }
}

variable "interface_endpoint_services" {
  type        = list(string)
  description = "AWS services to reach through interface endpoints from the private subnets (no NAT gateway), for example [\"glue\", \"logs\", \"monitoring\"]. Each takes one IP per subnet and is billed hourly."
  default     = ["glue", "logs", "monitoring"]

  validation {
    condition     = alltrue([for service in var.interface_endpoint_services : can(regex("^[a-z0-9-]+(\\.[a-z0-9-]+)*$", service)) && service != "s3"])
    error_message = "interface_endpoint_services holds service short names such as logs or monitoring (S3 already has a gateway endpoint)."
  }
}

variable "vpc_id" {
  type        = string
  description = "Existing network mode: the VPC to run the jobs in instead of creating one (vpc_cidr and private_subnet_cidrs are then ignored). Null: create the VPC."
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-0123456789abcdef0, or null to create the VPC."
  }

  # The checks across the network inputs live here only: validations that read each other would
  # form a cycle (Terraform 1.9+ makes a variable's validation part of the variable).
  validation {
    condition     = var.vpc_id != null || (length(var.subnet_ids) == 0 && length(var.security_group_ids) == 0 && length(var.route_table_ids) == 0)
    error_message = "subnet_ids, security_group_ids and route_table_ids are for an existing VPC: set vpc_id too, or leave them empty to create the network."
  }

  validation {
    condition     = var.vpc_id != null || length(var.availability_zones) == 0 || length(var.availability_zones) == length(var.private_subnet_cidrs)
    error_message = "Give one availability zone per private subnet CIDR block, or none."
  }

  validation {
    condition     = var.vpc_id == null || (length(var.subnet_ids) > 0 && length(var.subnet_ids) == length(var.availability_zones))
    error_message = "With vpc_id, give subnet_ids (at least one) and availability_zones with each subnet's zone, in the same order."
  }

  validation {
    condition     = var.vpc_id == null || length(var.security_group_ids) > 0 || (var.existing_vpc_s3_endpoint && length(var.route_table_ids) > 0)
    error_message = "With vpc_id, give security_group_ids whose rules let the jobs reach S3, or existing_vpc_s3_endpoint = true with route_table_ids (the module adds an S3 gateway endpoint to them and opens HTTPS to it in the group it creates)."
  }
}

variable "subnet_ids" {
  type        = list(string)
  description = "Existing network mode: the private subnets of vpc_id the jobs run in, one per availability zone, in the order jobs pick them by connection_index. availability_zones must give each one's zone, in the same order."
  default     = []

  validation {
    condition     = alltrue([for id in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))]) && length(distinct(var.subnet_ids)) == length(var.subnet_ids)
    error_message = "subnet_ids must be distinct subnet IDs such as subnet-0123456789abcdef0."
  }
}

variable "security_group_ids" {
  type        = list(string)
  description = "Existing network mode: security groups of vpc_id for the jobs' ENIs and the interface endpoints. Glue needs one of them to allow all TCP from itself, and the jobs to reach S3 over HTTPS. Empty: create the self-referencing group."
  default     = []

  validation {
    condition     = alltrue([for id in var.security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "security_group_ids must be security group IDs such as sg-0123456789abcdef0."
  }
}

variable "route_table_ids" {
  type        = list(string)
  description = "Existing network mode: route tables of the Glue subnets to add the S3 gateway endpoint to (its policy admits only the stack's buckets and read locations, for everything routed through these tables). Empty: no endpoint; the VPC must already reach S3 and security_group_ids must let the jobs do so."
  default     = []

  validation {
    condition     = alltrue([for id in var.route_table_ids : can(regex("^rtb-[0-9a-f]{8,17}$", id))])
    error_message = "route_table_ids must be route table IDs such as rtb-0123456789abcdef0."
  }
}

variable "s3_bucket_arns" {
  type        = list(string)
  description = "ARNs of the stack's buckets: the S3 gateway endpoint admits any object operation the jobs need on them."

  validation {
    condition     = alltrue([for arn in var.s3_bucket_arns : can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", arn))])
    error_message = "s3_bucket_arns must be S3 bucket ARNs (arn:aws:s3:::bucket)."
  }
}

variable "s3_read_uris" {
  type        = list(string)
  description = "Other S3 locations the jobs read (s3://bucket/prefix/): the S3 gateway endpoint admits reading them, nothing else of their buckets."
  default     = []

  validation {
    condition     = alltrue([for uri in var.s3_read_uris : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^*?]*)?$", uri))])
    error_message = "s3_read_uris must be s3://bucket/prefix URIs (no wildcards)."
  }
}

variable "existing_vpc_interface_endpoints" {
  type        = bool
  description = "Existing network mode: create the interface endpoints of interface_endpoint_services in the given subnets (with private DNS: they serve the whole VPC, and creation fails if the VPC already has one for a service). Off by default: the VPC is left as it is. Check first: aws ec2 describe-vpc-endpoints --filters Name=vpc-id,Values=<vpc_id> --query 'VpcEndpoints[].ServiceName'."
  default     = false
  nullable    = false
}

variable "existing_vpc_flow_log" {
  type        = bool
  description = "Existing network mode: add a flow log (all traffic) to the given VPC. Off by default: the VPC's owner decides its flow logs."
  default     = false
  nullable    = false
}

variable "existing_vpc_s3_endpoint" {
  type        = bool
  description = "Existing network mode: add the S3 gateway endpoint to route_table_ids, with the policy that admits only the stack's buckets and the jobs' read locations, for every subnet on those route tables. Off by default: S3 stays as the VPC reaches it."
  default     = false
  nullable    = false
}

variable "flow_logs_enabled" {
  type        = bool
  description = "Record VPC flow logs (all traffic) in a CloudWatch log group."
  default     = true
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the flow-log group, in days."
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653)."
  }
}

variable "kms_key" {
  type = object({
    arn   = string
    alias = optional(string)
  })
  description = "The stack's customer managed key (arn; alias unused here): encrypts the flow-log group and, in a created VPC, adds a kms interface endpoint so the jobs reach KMS from subnets without a NAT. Null: CloudWatch Logs' own encryption, no kms endpoint."
  default     = null
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (on top of the provider's default_tags)."
  default     = {}
}
