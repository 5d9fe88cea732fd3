output "vpc_id" {
  description = "ID of the VPC (created, or the given vpc_id)."
  value       = local.vpc_id
}

output "vpc_arn" {
  description = "ARN of the VPC."
  value       = local.vpc_arn
}

output "subnet_ids" {
  description = "Private subnet IDs, by availability zone."
  value       = local.subnet_ids
}

output "subnet_arns" {
  description = "Private subnet ARNs, by availability zone."
  value       = local.subnet_arns
}

output "security_group_ids" {
  description = "IDs of the security groups of the Glue job ENIs (the created self-referencing group, or the given security_group_ids)."
  value       = local.security_group_ids
}

output "security_group_arns" {
  description = "ARNs of the security groups of the Glue job ENIs."
  value       = local.security_group_arns
}

output "connection_names" {
  description = "Glue NETWORK connection names, by availability zone (a job runs in the subnet of its first connection)."
  value       = { for zone, connection in aws_glue_connection.this : zone => connection.name }
}

output "connection_name_list" {
  description = "Glue NETWORK connection names in the order of the subnets (private_subnet_cidrs, or subnet_ids): jobs pick one by index."
  value       = [for zone in local.zones : aws_glue_connection.this[zone].name]
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint; null in existing network mode without route_table_ids."
  value       = try(aws_vpc_endpoint.s3[0].id, null)
}

output "interface_endpoint_services" {
  description = "Services reached through interface endpoints (interface_endpoint_services, plus kms with a customer managed key)."
  value       = sort(tolist(local.interface_endpoint_services))
}

output "glue_eni_scope" {
  description = "Where Glue jobs may create ENIs, known at plan (the glue_jobs module's network_scope): the VPC, subnet and security group ARNs when given (existing network mode), null for what this module creates, whose resources carry the one-entry tag map `tag`."
  value = {
    vpc_arn             = local.create_vpc ? null : local.vpc_arn
    subnet_arns         = local.create_vpc ? null : values(local.subnet_arns)
    security_group_arns = local.create_security_group ? null : local.security_group_arns
    tag                 = local.scope_tag
  }
}
