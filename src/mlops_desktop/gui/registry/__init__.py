"""The parts of the Registry page: the lineage tab, the comparison tab, the summary of the
selected version and the lifecycle actions on it."""
