"""Demo data: the deterministic Xinzheng inventory and one account per role."""
