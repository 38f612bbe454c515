"""Replacement notices (更新通知书): issued from mandatory findings, numbered, verifiable, tracked."""
