"""Mission supervisor: process groups, restart policy, stall detection, trees, logs."""
