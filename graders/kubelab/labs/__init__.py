"""One grader module per lab: its READS, optional PROBES and its checks."""
