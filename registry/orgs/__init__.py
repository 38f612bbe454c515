"""Organisational units: responsible departments and owner/user units."""
