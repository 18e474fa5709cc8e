"""The desktop app: thin Qt pages over the core. No statistics and no SQL here."""
