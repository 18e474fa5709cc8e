"""The Registry step: a version's life after training (stages, approvals, aliases, tags),
its lineage, comparisons of versions and their annotations; the store keeps the records."""
