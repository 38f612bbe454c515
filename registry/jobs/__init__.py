"""Scheduled jobs: their declarations, exactly-once runs, and the job-run record."""
