terraform {
  # No providers: the module only reads files and computes values. It uses
  # output preconditions (1.2+), startswith/endswith (1.3+), strcontains
  # (1.5+); the tests use `terraform test` (1.6+).
  required_version = ">= 1.9"
}
