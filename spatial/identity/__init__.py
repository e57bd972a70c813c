"""Who is asking: LAPIS users, their roles and API tokens, and the database role each role acts as."""
