"""Go-live readiness: does a TPP's client behave as the bank expects (checks, modules, report)."""
