"""Uploads as jobs: a file sent to `POST /collections/{id}/imports` is loaded in the background by the loader
(`spatial.io.loader`, its rules unchanged) into a new proposal of the uploader, never into the layer itself.

`options` turns the upload's form into the loader's options; `store` is the `import_jobs` table (state,
progress, report, the runner that owns a job); `propose` moves the loader's checked stage into
`proposal_changes`, set-based; `work` runs one job in one transaction (all of it or none); `runner` is the
bounded pool of worker threads of a server process, and the advisory lock that tells other processes it is
alive.
"""
