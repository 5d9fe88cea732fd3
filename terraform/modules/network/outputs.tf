output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "vpc_arn" {
  description = "ARN of the VPC."
  value       = aws_vpc.this.arn
}

output "subnet_ids" {
  description = "Private subnet IDs, by availability zone."
  value       = { for zone, subnet in aws_subnet.private : zone => subnet.id }
}

output "subnet_arns" {
  description = "Private subnet ARNs, by availability zone."
  value       = { for zone, subnet in aws_subnet.private : zone => subnet.arn }
}

output "security_group_id" {
  description = "ID of the self-referencing security group of the Glue job ENIs."
  value       = aws_security_group.glue.id
}

output "security_group_arn" {
  description = "ARN of the self-referencing security group of the Glue job ENIs."
  value       = aws_security_group.glue.arn
}

output "connection_names" {
  description = "Glue NETWORK connection names, by availability zone (a job runs in the subnet of its first connection)."
  value       = { for zone, connection in aws_glue_connection.this : zone => connection.name }
}

output "connection_name_list" {
  description = "Glue NETWORK connection names in the order of private_subnet_cidrs (jobs pick one by index)."
  value       = [for zone in local.availability_zones : aws_glue_connection.this[zone].name]
}

output "s3_endpoint_id" {
  description = "ID of the S3 gateway endpoint."
  value       = aws_vpc_endpoint.s3.id
}
