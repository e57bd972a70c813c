"""Feature history: every version of every plan feature, kept by the database (migration 0014), and reading it —
a feature's versions, the plan as it stood at an instant (`asof`), restoring a feature, exporting a layer's history.

Modules: `asof` (the plan at an instant, as SQL any query reads instead of a layer table), `versions` (a feature's
versions, newest first), `restore` (a feature back as a new recorded version), `capture` (what the loader's big
builds record), `export` (every version of a layer to a file).
"""
