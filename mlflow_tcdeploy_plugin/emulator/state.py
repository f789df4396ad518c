"""The emulator's state in SQLite: groups, services, pods (as ``resources``), logs, events and the request log.
No HTTP here.

Every write is committed at once, so a restart (even after ``kill -9``) finds everything that was answered.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

from .resources import Pod, ServiceGroup, ServiceVersion

_SCHEMA = """
CREATE TABLE IF NOT EXISTS groups (
    id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, name TEXT NOT NULL, description TEXT NOT NULL,
    tione_id TEXT NOT NULL, settings TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS services (
    id TEXT PRIMARY KEY, group_id TEXT NOT NULL, version INTEGER NOT NULL, status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '', status_since REAL NOT NULL, desired TEXT NOT NULL, spec TEXT NOT NULL,
    created REAL NOT NULL, updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS pods (
    name TEXT PRIMARY KEY, service_id TEXT NOT NULL, uid TEXT NOT NULL, created REAL NOT NULL,
    restart_count INTEGER NOT NULL DEFAULT 0, pid INTEGER, container_id TEXT, port INTEGER,
    log_path TEXT, log_offset INTEGER NOT NULL DEFAULT 0, ready INTEGER NOT NULL DEFAULT 0,
    crashes INTEGER NOT NULL DEFAULT 0, restart_at REAL
);
CREATE TABLE IF NOT EXISTS logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, service_id TEXT NOT NULL, pod_name TEXT NOT NULL, ts REAL NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS logs_by_service ON logs (service_id, ts);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT, service_id TEXT NOT NULL, resource_kind TEXT NOT NULL,
    resource_name TEXT NOT NULL, type TEXT NOT NULL, message TEXT NOT NULL, ts REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ts REAL NOT NULL, action TEXT NOT NULL, service TEXT NOT NULL,
    params TEXT NOT NULL, code TEXT NOT NULL, request_id TEXT NOT NULL
);
"""

_JSON_COLUMNS = {"settings", "spec", "params"}
_Resource = TypeVar("_Resource", ServiceGroup, ServiceVersion, Pod)


def _row(row: sqlite3.Row | None) -> dict[str, Any] | None:
    if row is None:
        return None
    out = dict(row)
    for key in _JSON_COLUMNS & out.keys():
        out[key] = json.loads(out[key])
    return out


class Store:
    """A thread-safe wrapper over one SQLite connection."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        # Survives kill -9 of the emulator (not power loss), without an fsync per request.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Columns added since a data dir may have been made: crash restarts and the time of the next one."""
        present = {row["name"] for row in self._db.execute("PRAGMA table_info(pods)")}
        for column, kind in (("crashes", "INTEGER NOT NULL DEFAULT 0"), ("restart_at", "REAL")):
            if column not in present:
                self._db.execute(f"ALTER TABLE pods ADD COLUMN {column} {kind}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _exec(self, sql: str, args: Iterable[Any] = ()) -> sqlite3.Cursor:
        with self._lock:
            return self._db.execute(sql, tuple(args))

    def _all(self, sql: str, args: Iterable[Any] = ()) -> list[dict[str, Any]]:
        with self._lock:
            return [_row(r) for r in self._db.execute(sql, tuple(args)).fetchall()]  # type: ignore[misc]

    def _one(self, sql: str, args: Iterable[Any] = ()) -> dict[str, Any] | None:
        with self._lock:
            return _row(self._db.execute(sql, tuple(args)).fetchone())

    def _typed(self, kind: type[_Resource], sql: str, args: Iterable[Any] = ()) -> _Resource | None:
        row = self._one(sql, args)
        return None if row is None else kind(**row)

    def _all_typed(self, kind: type[_Resource], sql: str, args: Iterable[Any] = ()) -> list[_Resource]:
        return [kind(**row) for row in self._all(sql, args)]

    def _update(self, table: str, key: str, ident: str, fields: dict[str, Any]) -> None:
        values = [json.dumps(v) if k in _JSON_COLUMNS else v for k, v in fields.items()]
        assignments = ", ".join(f"{k} = ?" for k in fields)
        self._exec(f"UPDATE {table} SET {assignments} WHERE {key} = ?", [*values, ident])

    # groups
    def add_group(self, group: ServiceGroup) -> None:
        self._exec(
            "INSERT INTO groups (id, workspace_id, name, description, tione_id, settings, created, updated)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                group.id,
                group.workspace_id,
                group.name,
                group.description,
                group.tione_id,
                json.dumps(group.settings),
                group.created,
                group.updated,
            ],
        )

    def group(self, group_id: str) -> ServiceGroup | None:
        return self._typed(ServiceGroup, "SELECT * FROM groups WHERE id = ?", [group_id])

    def group_by_name(self, workspace_id: str, name: str) -> ServiceGroup | None:
        return self._typed(
            ServiceGroup, "SELECT * FROM groups WHERE workspace_id = ? AND name = ?", [workspace_id, name]
        )

    def group_by_tione_id(self, tione_id: str) -> ServiceGroup | None:
        return self._typed(ServiceGroup, "SELECT * FROM groups WHERE tione_id = ?", [tione_id])

    def groups(self, workspace_id: str) -> list[ServiceGroup]:
        return self._all_typed(
            ServiceGroup, "SELECT * FROM groups WHERE workspace_id = ? ORDER BY created, id", [workspace_id]
        )

    def update_group(self, group_id: str, **fields: Any) -> None:
        self._update("groups", "id", group_id, {**fields, "updated": time.time()})

    def delete_group(self, group_id: str) -> None:
        self._exec("DELETE FROM groups WHERE id = ?", [group_id])

    # services
    def add_service(self, service: ServiceVersion) -> None:
        self._exec(
            "INSERT INTO services (id, group_id, version, status, reason, status_since, desired, spec, created,"
            " updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                service.id,
                service.group_id,
                service.version,
                service.status,
                service.reason,
                service.status_since,
                service.desired,
                json.dumps(service.spec),
                service.created,
                service.updated,
            ],
        )

    def service(self, service_id: str) -> ServiceVersion | None:
        return self._typed(ServiceVersion, "SELECT * FROM services WHERE id = ?", [service_id])

    def services(self, group_id: str | None = None) -> list[ServiceVersion]:
        if group_id is None:
            return self._all_typed(ServiceVersion, "SELECT * FROM services ORDER BY created, version")
        return self._all_typed(ServiceVersion, "SELECT * FROM services WHERE group_id = ? ORDER BY version", [group_id])

    def max_version(self, group_id: str) -> int:
        row = self._one("SELECT MAX(version) AS v FROM services WHERE group_id = ?", [group_id])
        return int(row["v"] or 0) if row else 0

    def update_service(self, service_id: str, **fields: Any) -> None:
        self._update("services", "id", service_id, {**fields, "updated": time.time()})

    def set_status(self, service_id: str, status: str, reason: str = "") -> None:
        self.update_service(service_id, status=status, reason=reason, status_since=time.time())

    def delete_service(self, service_id: str) -> None:
        with self._lock:
            for table, key in (
                ("services", "id"),
                ("pods", "service_id"),
                ("logs", "service_id"),
                ("events", "service_id"),
            ):
                self._exec(f"DELETE FROM {table} WHERE {key} = ?", [service_id])

    # pods
    def add_pod(self, pod: Pod) -> None:
        self._exec(
            "INSERT INTO pods (name, service_id, uid, created, port, log_path) VALUES (?, ?, ?, ?, ?, ?)",
            [pod.name, pod.service_id, pod.uid, pod.created, pod.port, pod.log_path],
        )

    def pod(self, name: str) -> Pod | None:
        return self._typed(Pod, "SELECT * FROM pods WHERE name = ?", [name])

    def pods(self, service_id: str) -> list[Pod]:
        return self._all_typed(Pod, "SELECT * FROM pods WHERE service_id = ? ORDER BY created, name", [service_id])

    def update_pod(self, name: str, **fields: Any) -> None:
        self._update("pods", "name", name, fields)

    def delete_pod(self, name: str) -> None:
        self._exec("DELETE FROM pods WHERE name = ?", [name])

    # logs and events
    def add_logs(self, service_id: str, pod_name: str, lines: list[tuple[float, str]]) -> None:
        with self._lock:
            self._db.executemany(
                "INSERT INTO logs (service_id, pod_name, ts, message) VALUES (?, ?, ?, ?)",
                [(service_id, pod_name, ts, line) for ts, line in lines],
            )

    def logs(
        self,
        service_id: str | None,
        pod_pattern: str | None,
        window: tuple[float, float],
        key: str | None,
        descending: bool,
        cursor: int | None,
        offset: int,
        limit: int,
    ) -> list[dict[str, Any]]:
        """A page of log lines in insertion order (ascending or descending), after ``cursor`` (a line id)."""
        sql = "SELECT * FROM logs WHERE ts >= ? AND ts <= ?"
        args: list[Any] = list(window)
        for clause, value in (
            ("service_id = ?", service_id),
            ("pod_name GLOB ?", pod_pattern),
            ("instr(message, ?) > 0", key),
            ("id < ?" if descending else "id > ?", cursor),
        ):
            if value is not None and value != "":
                sql += f" AND {clause}"
                args.append(value)
        sql += f" ORDER BY id {'DESC' if descending else 'ASC'} LIMIT ? OFFSET ?"
        return self._all(sql, [*args, limit, offset])

    def last_logs(self, pod_name: str, count: int) -> list[str]:
        rows = self._all("SELECT message FROM logs WHERE pod_name = ? ORDER BY id DESC LIMIT ?", [pod_name, count])
        return [r["message"] for r in reversed(rows)]

    def add_event(self, service_id: str, kind: str, name: str, type_: str, message: str) -> None:
        self._exec(
            "INSERT INTO events (service_id, resource_kind, resource_name, type, message, ts)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [service_id, kind, name, type_, message, time.time()],
        )

    def events(self, service_id: str | None) -> list[dict[str, Any]]:
        if service_id:
            return self._all("SELECT * FROM events WHERE service_id = ? ORDER BY ts, id", [service_id])
        return self._all("SELECT * FROM events ORDER BY ts, id")

    # request log
    def add_request(self, action: str, service: str, params: dict[str, Any], code: str, request_id: str) -> None:
        self._exec(
            "INSERT INTO requests (ts, action, service, params, code, request_id) VALUES (?, ?, ?, ?, ?, ?)",
            [time.time(), action, service, json.dumps(params), code, request_id],
        )

    def requests(self) -> list[dict[str, Any]]:
        return self._all("SELECT * FROM requests ORDER BY id")

    def clear_requests(self) -> None:
        self._exec("DELETE FROM requests")

    def clear(self) -> None:
        """Forget everything: resources, logs, events and the request log (POST /_emulator/reset)."""
        with self._lock:
            for table in ("groups", "services", "pods", "logs", "events", "requests"):
                self._exec(f"DELETE FROM {table}")
