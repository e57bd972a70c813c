"""Settings for every LAPIS entry point, read from the environment (and a `.env` file).

Nothing here is created at import time: the app factory, the CLI and the tests each build their own
`Settings`, so a test can point one app at a throwaway cluster without touching globals.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LAPIS_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("DATABASE_URL", "LAPIS_DATABASE_URL"),
        description="PostgreSQL URL. Unset: LAPIS runs its own embedded PostGIS under data_dir.",
    )
    owner_database_url: str | None = Field(
        default=None, description="With DATABASE_URL (the server's login): the URL of the role that owns the "
        "schema, for migrations, loads, seed, backup and restore (LAPIS_OWNER_DATABASE_URL); unset: DATABASE_URL")
    data_dir: Path = Field(default=PROJECT_ROOT / ".data", description="Embedded cluster and caches.")
    db_name: str = "lapis"
    host: str = "127.0.0.1"
    port: int = 8000
    pool_min_size: int = 1
    pool_max_size: int = 10
    statement_timeout_ms: int = 30_000
    items_default_limit: int = 10
    items_max_limit: int = 10_000
    classify_max_features: int = 200_000
    download_max_features: int = Field(default=1_000_000, ge=1, description="At most this many features in one "
                                       "download (f=gpkg|fgb|shp, or download=true); more: 413")
    download_concurrency: int = Field(default=4, ge=1, description="Downloads written at once (each holds a thread "
                                      "and a database connection); more wait their turn")
    download_tmp_dir: Path | None = Field(default=None, description="Where downloads are written before they are "
                                          "sent (removed once sent); default: the system's temporary folder")
    upload_max_bytes: int = 512 * 1024 * 1024
    edit_max_bytes: int = Field(default=16 << 20, ge=1, description="Largest body of a feature write (POST, PUT, "
                                "PATCH of /collections/{id}/items): 413 beyond")
    tile_cache: str = Field(default="on", description="'off' disables every tile cache (LAPIS_TILE_CACHE).")
    tile_cache_size: int = 20_000
    tile_cache_dir: Path | None = None
    tile_min_feature_px: float = Field(default=2.0, description="Below z13, lines/polygons smaller than this many "
                                       "256-px display pixels are left out of a tile (0 keeps every feature)")
    tile_max_features: int = Field(default=10_000, ge=1, description="At most this many features per layer in a "
                                   "tile (as tipg's TIPG_MAX_FEATURES_PER_TILE)")
    tile_cap_order: Literal["size", "id"] = Field(
        default="size", description="Which features a tile over the cap keeps: the largest ('size': the best map) "
        "or the first by id ('id': what tipg and pg_tileserv keep)")
    basemap_url: str | None = None
    cors_origins: str = Field(default="*", description="Origins whose web pages may call the API (CORS): `*` for "
                              "any, a comma-separated list of origins, or empty for none (LAPIS_CORS_ORIGINS)")
    pmtiles_dir: Path | None = Field(default=None, description="PMTiles archives served at /pmtiles/{name} "
                                     "(default: <data_dir>/pmtiles)")
    bundled_data_dir: Path = PROJECT_ROOT / "data" / "geojson"
    wal_archive: str = Field(default="off", description="'on': the embedded cluster archives its WAL for "
                             "point-in-time recovery (LAPIS_WAL_ARCHIVE; takes effect at `lapis db start`)")
    wal_archive_dir: Path | None = Field(default=None, description="Where archived WAL goes "
                                         "(default: <data_dir>/wal-archive); best on another disk")
    replica_urls: str = Field(default="", description="Read replicas, comma-separated PostgreSQL URLs "
                              "(LAPIS_REPLICA_URLS); reads go to a healthy one, writes to the primary")
    replica_max_lag_ms: int = Field(default=5_000, ge=0, description="A replica further behind is skipped")
    replica_check_interval_ms: int = Field(default=1_000, ge=0, description="How long a replica's health "
                                           "and lag, once measured, are trusted")
    # the server under load (app/pools.py): one pool per kind of work, each acquire bounded in time
    pool_acquire_timeout_ms: int = Field(default=5_000, ge=1, description="How long a request waits for a free "
                                         "database connection before it is answered 503 with Retry-After")
    planner_pool_max_size: int = Field(default=5, ge=1, description="Connections for /locate, /check, /search")
    upload_pool_max_size: int = Field(default=3, ge=1, description="Connections for /classify")
    ready_timeout_ms: int = Field(default=500, ge=1, description="/health/ready: the database must answer "
                                  "within this long on the probe's own connection")
    access_log: str = Field(default="on", description="`lapis serve`'s access log: 'on' (stdout), 'off', or a "
                            "file to append to (LAPIS_ACCESS_LOG)")

    # --- the edge: what a client may send, and what the server tells it (README "Security") -------------------
    public_url: str | None = Field(default=None, description="Base URL of every link, TileJSON and style URL "
                                   "(e.g. https://plan.example.vn/lapis); the Host header is then never used")
    allowed_hosts: str | None = Field(default=None, description="Comma-separated Host names (name, name:port, "
                                      "*.domain, or * for any) links may be built from; default: localhost, "
                                      "127.0.0.1, ::1 and the bind address")
    frame_ancestors: str = Field(default="'self'", description="CSP frame-ancestors of the HTML pages and the map "
                                 "('none', 'self', or origins allowed to embed them)")
    metrics_allow: str | None = Field(default=None, description="Comma-separated networks (CIDR) allowed to read "
                                      "/metrics; with metrics_token, either one suffices; neither: open")
    metrics_token: str | None = Field(default=None, description="Bearer token that allows reading /metrics")
    body_spool_bytes: int = Field(default=1 << 20, ge=0, description="Request bodies above this size are received "
                                  "into a temporary file, not memory")
    upload_max_extracted_bytes: int = Field(default=2 << 30, ge=1, description="An uploaded zip may expand to at "
                                            "most this many bytes in all")
    upload_max_members: int = Field(default=100, ge=1, description="Files an uploaded zip may hold")
    upload_max_ratio: float = Field(default=200.0, gt=1, description="How many times its compressed size any one "
                                    "member of an uploaded zip may expand (zip bombs expand ~1000x)")
    # --- uploads as jobs (POST /collections/{id}/imports: spatial.jobs, README "Uploads") ----------------------
    import_workers: int = Field(default=1, ge=1, description="Uploads loaded at once, each in a worker thread of "
                                "the server with two database connections; the others wait in the queue")
    import_max_queued: int = Field(default=8, ge=0, description="Uploads waiting for a worker; past it, 503 with "
                                   "Retry-After")
    import_formats: str = Field(default="zip,gpkg,geojson,json,fgb,csv", description="File name extensions an "
                                "upload may have (a zip holds shapefiles or any of the others)")
    import_batch_rows: int = Field(default=10_000, ge=1, description="Features staged per batch of an upload "
                                   "(its progress moves once per batch)")
    import_tmp_dir: Path | None = Field(default=None, description="Where uploaded files wait for their job "
                                        "(removed when it ends); default: the system's temporary folder")
    tile_cache_bytes: int = Field(default=256 << 20, ge=0, description="Bytes of tiles (raw and gzip) kept in the "
                                  "in-process tile cache, besides LAPIS_TILE_CACHE_SIZE tiles")

    # --- sign-in (README "Sign-in and roles"): LAPIS API tokens always; OpenID Connect JWTs when an issuer is set
    oidc_issuer: str | None = Field(default=None, description="The identity provider's issuer (the JWT's `iss`); "
                                    "with audience and JWKS it turns on OpenID Connect sign-in")
    oidc_audience: str | None = Field(default=None, description="What a JWT's `aud` must hold (LAPIS's client id)")
    oidc_jwks: str | None = Field(default=None, description="The provider's signing keys: an https URL of its JWKS "
                                  "(jwks_uri) or a JWKS file")
    oidc_user_claim: str = Field(default="preferred_username", description="The claim that names the user")
    oidc_role_claim: str = Field(default="lapis_role", description="The claim whose value(s) give the role "
                                 "(a string or a list; dotted for nested claims, e.g. realm_access.roles)")
    oidc_role_map: str = Field(default="", description="Claim value → role, e.g. 'qh-editors=editor,"
                               "qh-leads=approver'; empty: the values are LAPIS role names")
    oidc_default_role: str = Field(default="", description="The role of a token whose claim maps to none; "
                                   "empty: such a token is refused")
    oidc_algorithms: str = Field(default="RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,ES512,EdDSA",
                                 description="JWT algorithms accepted (asymmetric ones only)")
    oidc_leeway_s: float = Field(default=30, ge=0, le=300, description="Clock skew allowed on exp/nbf")
    oidc_jwks_ttl_s: float = Field(default=300, gt=0, description="How long fetched keys are used before refetching")
    oidc_jwks_timeout_s: float = Field(default=5, gt=0, description="Timeout of one JWKS fetch")
    signin_max_failures: int = Field(default=10, ge=1, description="Failed sign-ins one client address may make "
                                     "within signin_failure_window_s before it gets 429 (per server process)")
    signin_failure_window_s: float = Field(default=60, gt=0, description="The window of signin_max_failures")

    # --- the open change log (README "The change log") --------------------------------------------------------
    changes_public_who: Literal["name", "role", "office"] = Field(
        default="office", description="What /changes shows readers who are not signed in of who made a change: the "
        "user's name, their role, or only the office that keeps the plan (LAPIS_CHANGES_OFFICE)")
    changes_office: str = Field(default="Ủy ban nhân dân tỉnh Long An", min_length=1,
                                description="The office named for every change when changes_public_who is 'office'")

    @property
    def pmtiles_path(self) -> Path:
        return self.pmtiles_dir or self.data_dir / "pmtiles"

    @property
    def wal_archive_enabled(self) -> bool:
        return self.wal_archive.lower() in {"on", "1", "true", "yes"}

    @property
    def replica_url_list(self) -> list[str]:
        return [url.strip() for url in self.replica_urls.split(",") if url.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        """LAPIS_CORS_ORIGINS as a list: ["*"], the listed origins, or [] (CORS off)."""
        origins = [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]
        return ["*"] if "*" in origins else origins

    @property
    def import_format_list(self) -> tuple[str, ...]:
        """LAPIS_IMPORT_FORMATS as extensions with their dot, lower case."""
        return tuple(f".{f.strip().lstrip('.').lower()}" for f in self.import_formats.split(",") if f.strip())

    @property
    def shared_tile_cache_dir(self) -> Path:
        """Where several workers of `lapis serve` share a disk tile cache when LAPIS_TILE_CACHE_DIR leaves it to us."""
        return self.data_dir / "tile-cache"

    @property
    def tile_cache_enabled(self) -> bool:
        return self.tile_cache.lower() not in {"off", "0", "false", "no"}
