#!/usr/bin/env bash
# Install what LAPIS needs from the system package manager, only where it is missing:
# the PostgreSQL server, the PostGIS package matching it, GDAL's command-line tools (tests use ogr2ogr),
# Node.js/npm (the map viewer's MapLibre build), Debian's chromium (browser tests) and QGIS with PyQGIS
# (tests render LAPIS in QGIS headless; PyQGIS runs in the system Python, /usr/bin/python3).
set -euo pipefail

missing=()
server_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
pg_version=""
if [ -n "$server_bin" ] && [ -x "$server_bin/postgres" ]; then
  pg_version=$(basename "$(dirname "$server_bin")")
else
  missing+=("postgresql")
fi
if [ -n "$pg_version" ] && [ ! -f "/usr/share/postgresql/$pg_version/extension/postgis.control" ]; then
  missing+=("postgresql-$pg_version-postgis-3")
fi
if [ -n "$pg_version" ] && [ ! -f "/usr/share/postgresql/$pg_version/extension/unaccent.control" ]; then
  missing+=("postgresql-contrib")
fi
command -v ogr2ogr >/dev/null || missing+=("gdal-bin")
command -v npm >/dev/null || missing+=("npm")
command -v chromium >/dev/null || missing+=("chromium")
command -v shp2pgsql >/dev/null || missing+=("postgis")
command -v wrk >/dev/null || missing+=("wrk")
command -v qgis >/dev/null || missing+=("qgis")
[ -f /usr/lib/python3/dist-packages/qgis/core/__init__.py ] || missing+=("python3-qgis")

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

if [ ! -f /etc/debian_version ] || ! command -v apt-get >/dev/null; then
  echo "LAPIS needs these system packages: ${missing[*]}" >&2
  echo "This is not a Debian system: install PostgreSQL 15+ with PostGIS 3, GDAL, Node.js, Chromium and QGIS (with PyQGIS)" >&2
  echo "with your package manager, or set DATABASE_URL to an existing PostGIS server." >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "Run as root (or install sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
echo "Installing system packages: ${missing[*]}"
$sudo apt-get update -qq
if [[ " ${missing[*]} " == *" postgresql "* ]]; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql postgresql-contrib >/dev/null
  exec "$0"  # now that the server version is known, install the PostGIS package that matches it
fi
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
echo "System packages installed."
