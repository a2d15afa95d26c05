"""SQLite cache of proxy results: one row per (space, arch, dataset, proxy, seed, mode, batch, scoring
options, package version), committed as soon as it is computed, so a killed run loses nothing. The
scoring options are every other setting that changes a score (sampled tensors and their policy,
quantiles, Jacobian direction, compiled blocks, input resolution, device type), so a row is never returned for a run
under other options. A cache file
created by this object and still empty when it is closed is removed (a refused or failed run leaves
no stray file)."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

from . import __version__
from .options import OptionError, check_cache_path

SCHEMA = "vkdnw-plugin-cache/2"
KEY_COLUMNS = ("space", "arch", "dataset", "proxy", "seed", "mode", "batch", "options", "version")


def options_text(options: dict | None) -> str:
    """Canonical JSON of a dict of scoring options (sorted keys): the cache key's ``options``."""
    return json.dumps(options or {}, sort_keys=True)


class CacheError(OptionError):
    """The file is not a vkdnw-plugin cache (corrupt or foreign); it is never overwritten."""

    def __init__(self, path: Path, problem: str):
        super().__init__("cache", path, f"{problem}; refusing to use or overwrite it")


class ResultCache:
    """``put``/``done``/``rows`` of proxy values keyed by :data:`KEY_COLUMNS` (``version`` filled in;
    ``options``: a dict of scoring options, stored as canonical JSON)."""

    def __init__(self, path: str | Path):
        self.path = check_cache_path(path)
        self.created = not self.path.exists()
        existed = not self.created and self.path.stat().st_size > 0
        try:
            self.db = sqlite3.connect(self.path, timeout=60)
            if existed:
                self._check()
            else:
                self._create()
        except sqlite3.DatabaseError as error:
            raise CacheError(self.path, f"not a vkdnw-plugin cache ({error})") from None

    def _create(self) -> None:
        with self.db:
            self.db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
            self.db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA,))
            columns = ", ".join(f"{c} {'INTEGER' if c in ('seed', 'batch') else 'TEXT'} NOT NULL" for c in KEY_COLUMNS)
            self.db.execute(
                f"CREATE TABLE results ({columns}, value REAL, fields TEXT, PRIMARY KEY ({', '.join(KEY_COLUMNS)}))"
            )
        self.db.execute("PRAGMA journal_mode=WAL")

    def _check(self) -> None:
        try:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as error:
            raise CacheError(self.path, f"not a vkdnw-plugin cache ({error})") from None
        if row is None or row[0] != SCHEMA:
            found = row[0] if row else "none"
            older = "; it was made by an older vkdnw-plugin whose keys lack the scoring options" if found < SCHEMA else ""
            raise CacheError(self.path, f"cache schema {found!r}, expected {SCHEMA!r}{older}")

    @staticmethod
    def _key(space, arch, dataset, proxy, seed, mode, batch, options) -> tuple:
        return (space, arch, dataset, proxy, int(seed), mode, int(batch), options_text(options), __version__)

    def put(self, space, arch, dataset, proxy, seed, mode, batch, value: float, fields: dict | None = None, options=None) -> None:
        """Store one result and commit it (NaN stored as NULL)."""
        value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        with self.db:
            self.db.execute(
                f"INSERT OR REPLACE INTO results VALUES ({', '.join('?' * (len(KEY_COLUMNS) + 2))})",
                (*self._key(space, arch, dataset, proxy, seed, mode, batch, options), value, json.dumps(fields or {})),
            )

    _SCOPE = "space=? AND dataset=? AND batch=? AND options=? AND version=?"

    def done(self, space, dataset, batch, options=None) -> set[tuple[str, str, int, str]]:
        """(arch, proxy, seed, mode) already stored for this space, dataset, batch, options and version."""
        rows = self.db.execute(
            f"SELECT arch, proxy, seed, mode FROM results WHERE {self._SCOPE}",
            (space, dataset, int(batch), options_text(options), __version__),
        )
        return {tuple(r) for r in rows}

    def elsewhere(self, space, dataset, batch, options=None) -> int:
        """How many rows of this space, dataset and batch were stored under other options or by another
        package version (never returned by :meth:`done` or :meth:`rows`)."""
        (count,) = self.db.execute(
            "SELECT COUNT(*) FROM results WHERE space=? AND dataset=? AND batch=? AND NOT (options=? AND version=?)",
            (space, dataset, int(batch), options_text(options), __version__),
        ).fetchone()
        return count

    def rows(self, space, dataset, batch, options=None) -> list[dict]:
        """All stored results for this space, dataset, batch, options and version, as dicts."""
        cursor = self.db.execute(
            f"SELECT arch, proxy, seed, mode, value, fields FROM results WHERE {self._SCOPE}",
            (space, dataset, int(batch), options_text(options), __version__),
        )
        return [
            {"arch": a, "proxy": p, "seed": s, "mode": m, "value": math.nan if v is None else v, "fields": json.loads(f)}
            for a, p, s, m, v, f in cursor
        ]

    def is_empty(self) -> bool:
        """Whether no result is stored (of any space, dataset, batch or version)."""
        return self.db.execute("SELECT 1 FROM results LIMIT 1").fetchone() is None

    def close(self) -> None:
        """Close the database; remove the file when this object created it and it holds no result."""
        discard = self.created and self.is_empty()
        self.db.close()
        if discard:
            self.path.unlink(missing_ok=True)
