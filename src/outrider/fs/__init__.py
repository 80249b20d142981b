"""The allocation directory: safe opens beneath it, positional reads and listings."""
