"""Paper trading between Mondays: the live side run bar by bar, journalled (SPEC §17)."""
