"""Reading, loading and exporting layer data.

A load goes sources (`sources`) → Arrow batches in EPSG:4326 with text decoded (`reader`, `crs`,
`encodings`) → the stage, by binary COPY (`stage`, `copy`) → checks and repairs in SQL (`checks`) → one
set-based apply (`apply`; a big replace is built aside and switched in by `shadow`), the mapping of source
fields to layer columns (`columns`) deciding every value. `loader` runs it for files (`lapis load`, the
seed), `frames` for in-memory (Geo)DataFrames; both end in `apply.check_and_apply`, announcing each phase
(`phases`). `export` goes the other way.
"""
