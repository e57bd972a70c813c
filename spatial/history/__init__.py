"""Feature history: every version of every plan feature, kept by the database (migration 0014), and reading it —
a feature's versions, the plan as it stood at an instant (`asof`), restoring a feature, exporting a layer's history.

Modules: `asof` (the plan at an instant, as SQL any query reads instead of a layer table), `versions` (a feature's
versions, newest first), `restore` (a feature back as a new recorded version), `capture` (what the loader's big
builds record), `export` (every version of a layer to a file).

Plan revisions and the change log read the same history: `revisions` (named, published states of the plan; a
revision number or an instant as an `Instant`), `diff` (what changed between two of them), `changes` (every
published change, paged, and what the public sees of who made it), `feed` (the change log as Atom, RSS and CSV),
`columns` (a version's attributes, compared in SQL).
"""
