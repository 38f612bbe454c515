"""Disposal and replacement records: how an asset left service and what replaced it."""
