"""The `http-request` kind's client: a policy-checked, pinned transport and capped bodies."""
