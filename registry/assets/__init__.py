"""The equipment inventory: assets, their category details and history."""
