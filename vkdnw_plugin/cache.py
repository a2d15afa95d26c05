"""SQLite cache of proxy results: one row per (space, arch, dataset, proxy, seed, mode, batch,
package version), committed as soon as it is computed, so a killed run loses nothing. A cache file
created by this object and still empty when it is closed is removed (a refused or failed run leaves
no stray file)."""

from __future__ import annotations

import json
import math
import sqlite3
from pathlib import Path

from . import __version__
from .options import OptionError, check_cache_path

SCHEMA = "vkdnw-plugin-cache/1"
KEY_COLUMNS = ("space", "arch", "dataset", "proxy", "seed", "mode", "batch", "version")


class CacheError(OptionError):
    """The file is not a vkdnw-plugin cache (corrupt or foreign); it is never overwritten."""

    def __init__(self, path: Path, problem: str):
        super().__init__("cache", path, f"{problem}; refusing to use or overwrite it")


class ResultCache:
    """``put``/``get`` proxy values keyed by :data:`KEY_COLUMNS` (``version`` filled in)."""

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
            raise CacheError(self.path, f"cache schema {found!r}, expected {SCHEMA!r}")

    @staticmethod
    def _key(space, arch, dataset, proxy, seed, mode, batch) -> tuple:
        return (space, arch, dataset, proxy, int(seed), mode, int(batch), __version__)

    def put(self, space, arch, dataset, proxy, seed, mode, batch, value: float, fields: dict | None = None) -> None:
        """Store one result and commit it (NaN stored as NULL)."""
        value = None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)
        with self.db:
            self.db.execute(
                f"INSERT OR REPLACE INTO results VALUES ({', '.join('?' * (len(KEY_COLUMNS) + 2))})",
                (*self._key(space, arch, dataset, proxy, seed, mode, batch), value, json.dumps(fields or {})),
            )

    def done(self, space, dataset, batch) -> set[tuple[str, str, int, str]]:
        """(arch, proxy, seed, mode) already stored for this space, dataset, batch and version."""
        rows = self.db.execute(
            "SELECT arch, proxy, seed, mode FROM results WHERE space=? AND dataset=? AND batch=? AND version=?",
            (space, dataset, int(batch), __version__),
        )
        return {tuple(r) for r in rows}

    def rows(self, space, dataset, batch) -> list[dict]:
        """All stored results for this space, dataset, batch and version, as dicts."""
        cursor = self.db.execute(
            "SELECT arch, proxy, seed, mode, value, fields FROM results WHERE space=? AND dataset=? AND batch=? AND version=?",
            (space, dataset, int(batch), __version__),
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
