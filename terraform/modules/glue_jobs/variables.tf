variable "name_prefix" {
  type        = string
  description = "Prefix of every resource name; jobs are <name_prefix>-<key>."

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.name_prefix))
    error_message = "name_prefix must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "scripts_dir" {
  type        = string
  description = "Directory of the job scripts (input_job.py, output_job.py, extra jobs' scripts) and mappings/*.json: the repository's glue_jobs/."
}

variable "dist_dir" {
  type        = string
  description = "Directory holding glue_audit_etl.zip from scripts/build.py (`make build`), shipped with --extra-py-files."
}

variable "connection_names" {
  type        = list(string)
  description = "Glue NETWORK connection names (one per private subnet); a job runs in the subnet of connection_names[connection_index]."

  validation {
    condition     = length(var.connection_names) > 0
    error_message = "connection_names needs at least one Glue connection: jobs run in the VPC."
  }
}

variable "network_scope" {
  type = object({
    vpc_arn             = optional(string)
    subnet_arns         = optional(list(string))
    security_group_arns = optional(list(string))
    tag                 = optional(map(string), {})
  })
  description = "Where the jobs' roles may create ENIs (the network module's glue_eni_scope): the VPC, subnet and security group ARNs when known at plan (given ones), null for those the network creates, which carry the one-entry tag map `tag` instead. Known at plan either way, so the roles' policies are."
  nullable    = false

  validation {
    condition     = length(var.network_scope.tag) <= 1 && ((var.network_scope.subnet_arns != null && var.network_scope.security_group_arns != null) || length(var.network_scope.tag) == 1)
    error_message = "network_scope needs subnet_arns and security_group_arns, or a one-entry tag for those it leaves null."
  }
}

variable "job_tag_keys" {
  type        = map(string)
  description = "The job tag keys the framework reads (glue_audit/facts/job_tags.json: priority, team, upstream, schedule, on_success_of)."

  validation {
    condition     = alltrue([for key in ["priority", "team", "upstream", "schedule", "on_success_of"] : contains(keys(var.job_tag_keys), key)])
    error_message = "job_tag_keys needs priority, team, upstream, schedule and on_success_of (glue_audit/facts/job_tags.json)."
  }
}

variable "glue_version" {
  type        = string
  description = "Glue version of jobs that do not set their own."
  default     = "5.0"

  validation {
    condition     = contains(["3.0", "4.0", "5.0"], var.glue_version)
    error_message = "glue_version must be 3.0, 4.0 or 5.0."
  }
}

variable "seed_jobs" {
  type        = bool
  description = "Deploy the seeds' Input and Output jobs (configured by jobs[\"input\"] and jobs[\"output\"]). False: only the jobs given in jobs, for a platform team that runs the framework for its own jobs only."
  default     = true
  nullable    = false
}

variable "jobs" {
  type = map(object({
    script                     = optional(string) # a file under scripts_dir; the seeds have their own
    description                = optional(string)
    glue_version               = optional(string)
    worker_type                = optional(string, "G.1X")
    number_of_workers          = optional(number, 2)
    execution_class            = optional(string, "STANDARD")
    timeout_minutes            = optional(number, 60)
    notify_delay_after_minutes = optional(number, 30)
    max_concurrent_runs        = optional(number, 1)
    max_retries                = optional(number, 0)
    connection_index           = optional(number, 0)
    priority                   = optional(number, 50)
    team                       = optional(string, "data-platform")
    upstream                   = optional(string)
    schedule                   = optional(string)
    on_success_of              = optional(string)
    arguments                  = optional(map(string), {})
    reads                      = optional(list(string), [])
    writes                     = optional(list(string), [])
  }))
  description = <<-EOT
    The Glue jobs, by key (the job is <name_prefix>-<key>): the one declaration of a job's attributes.
    With seed_jobs, the keys input and output configure the seeds' Input job (reads input_source_uri,
    writes staging/) and Output job (reads staging/ with bookmarks, writes output/; its upstream
    defaults to the Input job), whose script, description, reads and writes are given. Attributes:
    script (a file under scripts_dir), description, glue_version, worker_type, number_of_workers,
    execution_class, timeout_minutes, notify_delay_after_minutes, max_concurrent_runs, max_retries,
    connection_index, priority (0-100), team, upstream (data-flow pairing), schedule
    (rate(...)/cron(...): the framework submits a request at each instant), on_success_of (a job key
    or name: a request after each SUCCEEDED run of it), arguments, and reads and writes: the
    s3://bucket/prefix/ locations this job's own role may read, and read and write. A job's role
    reaches nothing else of any bucket but the scripts, its temporary files and its own run reports.
  EOT
  default     = {}

  validation {
    condition     = alltrue([for key in keys(var.jobs) : can(regex("^[a-z0-9][a-z0-9_-]{0,62}$", key))])
    error_message = "jobs keys are lower-case names (letters, digits, - and _)."
  }

  validation {
    condition     = alltrue([for key, job in var.jobs : job.script != null || (var.seed_jobs && contains(["input", "output"], key))])
    error_message = "Every job needs a script (a file under scripts_dir), except the seeds (input, output) when seed_jobs is true."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : alltrue([for uri in concat(job.reads, job.writes) : can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[^*?]*)?$", uri))])])
    error_message = "reads and writes must hold s3://bucket/prefix/ URIs (no wildcards)."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : contains(["G.1X", "G.2X", "G.4X", "G.8X", "G.12X", "G.16X", "R.1X", "R.2X", "R.4X", "R.8X"], job.worker_type)])
    error_message = "worker_type must be a Spark worker type: G.1X, G.2X, G.4X, G.8X, G.12X, G.16X, R.1X, R.2X, R.4X or R.8X (G.025X is for Glue streaming jobs only; these are glueetl jobs)."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : contains(["STANDARD", "FLEX"], job.execution_class) && (job.execution_class == "STANDARD" || contains(["G.1X", "G.2X"], job.worker_type))])
    error_message = "execution_class must be STANDARD or FLEX, and FLEX needs worker type G.1X or G.2X."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : job.glue_version == null || contains(["3.0", "4.0", "5.0"], coalesce(job.glue_version, "5.0"))])
    error_message = "glue_version must be 3.0, 4.0 or 5.0 (or null for the module's glue_version)."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : job.number_of_workers >= 1 && floor(job.number_of_workers) == job.number_of_workers && job.max_concurrent_runs >= 1 && floor(job.max_concurrent_runs) == job.max_concurrent_runs])
    error_message = "number_of_workers and max_concurrent_runs must be whole numbers >= 1."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : job.timeout_minutes >= 1 && job.timeout_minutes <= 10080 && job.notify_delay_after_minutes >= 1 && job.notify_delay_after_minutes <= job.timeout_minutes])
    error_message = "timeout_minutes must be from 1 to 10080, and notify_delay_after_minutes from 1 to timeout_minutes."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : job.max_retries >= 0 && job.max_retries <= 10 && job.connection_index >= 0 && floor(job.connection_index) == job.connection_index])
    error_message = "max_retries must be from 0 to 10 and connection_index a whole number >= 0."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : job.priority >= 0 && job.priority <= 100 && can(regex("^[A-Za-z0-9_.:/=+@-]{1,128}$", job.team))])
    error_message = "priority must be from 0 to 100 (glue-audit:priority), and team a non-empty tag value (glue-audit:team)."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : job.schedule == null || can(regex("^(rate\\((1 (minute|hour|day)|([2-9]|[1-9][0-9]+) (minutes|hours|days))\\)|cron\\([0-9*,/-]+ [0-9*,/-]+ [0-9*?,/-]+ [0-9A-Za-z*,/-]+ [0-9A-Za-z*?,/-]+ [0-9*,/-]+\\))$", coalesce(job.schedule, "-")))])
    error_message = "schedule (tag glue-audit:schedule) must be an EventBridge expression: rate(<n> <unit>) with minute, hour or day for 1 and minutes, hours or days above 1, or cron(<minutes> <hours> <day-of-month> <month> <day-of-week> <year>) with ? in day-of-month or day-of-week (L, W and # are not supported), for example rate(30 minutes) or cron(0/30 * * * ? *)."
  }

  validation {
    condition     = alltrue([for job in values(var.jobs) : job.on_success_of == null || can(regex("^[A-Za-z0-9_.:/=+@-]{1,255}$", coalesce(job.on_success_of, "-")))])
    error_message = "on_success_of (tag glue-audit:on-success-of) must be the upstream job: a key of this module's jobs (input, output, another key) or a Glue job name."
  }
}

variable "input_source_uri" {
  type        = string
  description = "S3 URI the Input job reads (s3://bucket/prefix/). Null: the landing/ prefix of the data bucket. The Input job's role may read it (its reads)."
  default     = null

  validation {
    condition     = var.input_source_uri == null || can(regex("^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$", var.input_source_uri))
    error_message = "input_source_uri must be an s3://bucket/prefix/ URI or null."
  }
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days an overwritten or deleted object version is kept in the buckets."
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number >= 1."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy delete the buckets with their objects (test stacks only)."
  default     = false
}

variable "kms_key" {
  type = object({
    arn   = string
    alias = optional(string)
  })
  description = "The stack's customer managed key: arn encrypts the buckets and the security configuration's S3 data, logs and bookmarks; alias (alias/<name>), when set, names it in the roles' policies through kms:ResourceAliases, so they are known at plan even when the key is created in the same apply. Null: SSE-S3/aws/s3, Glue logs and bookmarks unencrypted (the documented opt-out)."
  default     = null

  validation {
    condition     = var.kms_key == null || can(regex("^(alias/[a-zA-Z0-9/_-]+)?$", coalesce(try(var.kms_key.alias, null), "")))
    error_message = "kms_key.alias must be alias/<name> or null."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource (on top of the provider's default_tags)."
  default     = {}
}
