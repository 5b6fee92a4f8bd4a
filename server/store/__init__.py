"""Where records live: the SQLite database, its migrations, the tables as the code knows them, and turning rows into records."""
