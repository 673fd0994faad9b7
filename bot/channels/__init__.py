"""Channel adapters: one module per platform. Platform types stop here."""
