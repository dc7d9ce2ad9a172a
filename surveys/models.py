"""Models of the surveys app (arrive with their issue)."""
