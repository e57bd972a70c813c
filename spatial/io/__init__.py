"""Reading, loading and exporting layer data. Every load ends in `staging.apply_frame`."""
