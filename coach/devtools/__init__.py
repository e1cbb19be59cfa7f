"""Tools for measuring and developing coach: rep and pose evaluation, the benchmark, trace plots,
synthetic skeletons and histories."""
