"""Data import: reading files, inferring column kinds, fingerprints and snapshots."""
