"""Immutable mandatory-replacement list snapshots (强制更新清单快照) with diffs."""
