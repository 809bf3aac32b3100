# Copied next to terraform/'s root module, with moto_override.tf, by
# `make e2e` and `make deploy-local` (in a work directory, never in the
# repository): the moto server the AWS provider talks to.
variable "moto_endpoint" {
  description = "Base URL of the moto server, http://127.0.0.1:PORT."
  type        = string
}
