"""Vector tiles for the plan layers: the WebMercatorQuad grid, one SQL per layer (ST_AsMVT on the stored
Web-Mercator geometry), composite tiles, a self-invalidating cache, TileJSON, the MapLibre style (no glyphs URL:
labels use the browser's local fonts) and PMTiles export. No HTTP here: `app/routers/tiles.py` is the thin shell."""
