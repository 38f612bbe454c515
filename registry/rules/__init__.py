"""Rules engine: the plan's retirement rules as versioned, cited data."""
