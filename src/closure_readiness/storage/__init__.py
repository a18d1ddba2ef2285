"""SQLite storage through sqlite-utils: migrations, repositories, the audit chain, integrity."""
