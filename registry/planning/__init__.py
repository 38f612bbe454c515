"""Annual batch retirement planning against the plan targets."""
