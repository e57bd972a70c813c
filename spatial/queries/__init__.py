"""Planner queries: which admin unit / region / centre / corridor a point or parcel falls in, what is
near it, and name search. Each is one SQL statement; callable from Python without a server."""
