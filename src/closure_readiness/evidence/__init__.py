"""The evidence register's vocabulary in use: which items count, for what, from whom. Pure."""
