"""wfa: the command-line client of workflows_svc (SPEC section 13)."""
