"""Admin of the predictions app; filled in by its own issue."""
