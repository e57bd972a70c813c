"""Editing the plan: proposals (an editor's changes, out of the plan tables until an approver publishes them), the
changes in them, and the versions (ETags) that keep two editors from overwriting each other.

- `etag`: a feature's version, the same value for a published row and for the row a proposal would publish.
- `feature_input`: a GeoJSON feature checked with the loaders' rules (CRS, geometry type and validity, NFC text,
  the layer's columns) before it becomes a proposed row.
- `preview`: a layer as it would be after publishing a proposal (items, one item, tiles).
- `changes`: `propose_change`, one create/replace/update/delete written into a proposal.
- `proposals`: open, list, read, `publish` and `reject` proposals; `publishing` applies one to the plan tables.
"""
