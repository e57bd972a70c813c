"""LAPIS domain package: PostGIS schema, layer registry, queries, tiles, loaders — no HTTP."""
