"""Models of the rectification app (arrive with their issue)."""
