"""The baseline: the benchmarked endpoints in plain SQL, with no event sourcing.

It does what the service must do per request and nothing more: check the
bearer key with one indexed query, read and write JSON with Flask, and run
its SQL on a psycopg pool. A job's project is a column set by a conditional
UPDATE, together with the project's count in the same transaction; a list is
one SELECT on an index over (workspace, updated_at, id), with its total read
from a counter. Only what the benchmark calls is here: no tasks, no PATCH,
no X-Workspace-Id.

The suite serves it with gunicorn, with the same worker class, workers and
threads as the service:

    BASELINE_DATABASE_URL=postgresql://... gunicorn 'benchmarks.baseline:create_app()'
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, jsonify, request
from psycopg import Connection
from psycopg_pool import ConnectionPool, PoolTimeout
from werkzeug.exceptions import HTTPException

SCHEMA = [
    """CREATE TABLE IF NOT EXISTS api_keys (
  id text COLLATE "C" PRIMARY KEY,
  secret_hash text NOT NULL,
  user_id text NOT NULL,
  workspace_id text COLLATE "C" NOT NULL
)""",
    """CREATE TABLE IF NOT EXISTS workspace_totals (
  workspace_id text COLLATE "C" PRIMARY KEY,
  projects bigint NOT NULL DEFAULT 0,
  jobs bigint NOT NULL DEFAULT 0
)""",
    """CREATE TABLE IF NOT EXISTS projects (
  id text COLLATE "C" PRIMARY KEY,
  workspace_id text COLLATE "C" NOT NULL,
  name text NOT NULL,
  description text,
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  version bigint NOT NULL,
  job_count bigint NOT NULL DEFAULT 0,
  task_count bigint NOT NULL DEFAULT 0
)""",
    """CREATE TABLE IF NOT EXISTS jobs (
  id text COLLATE "C" PRIMARY KEY,
  workspace_id text COLLATE "C" NOT NULL,
  name text NOT NULL,
  project_id text COLLATE "C",
  created_at bigint NOT NULL,
  updated_at bigint NOT NULL,
  version bigint NOT NULL
)""",
    # Made before any row arrives, as in a live database (and as the service's
    # replay fills its tables): an index grown row by row is larger than one
    # built over loaded rows, and the planner weighs that size.
    "CREATE INDEX IF NOT EXISTS projects_by_workspace_and_update "
    "ON projects (workspace_id, updated_at DESC, id DESC)",
    "CREATE INDEX IF NOT EXISTS jobs_by_workspace_and_update "
    "ON jobs (workspace_id, updated_at DESC, id DESC)",
]

PROJECT_COLUMNS = (
    "id, workspace_id, name, description, created_at, updated_at, version, "
    "job_count, task_count"
)
MAX_BODY_BYTES = 64 * 1024
MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def make_key() -> tuple[str, str, str]:
    """A new key as (the key to send, its id, the hash of its secret)."""
    key_id = "bkey_" + secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{key_id}.{secret}", key_id, hash_secret(secret)


class ApiError(Exception):
    """An answer other than success, with the status and message to send."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def create_app(database_url: str | None = None) -> Flask:
    """The baseline app of one worker process, with its own connection pool."""
    url = database_url or os.environ["BASELINE_DATABASE_URL"]
    cursor_secret = os.environ.get("BASELINE_CURSOR_SECRET", "baseline").encode()
    pool = ConnectionPool(url, min_size=2, max_size=20, timeout=3, open=True)

    app = Flask("baseline")
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES

    @app.before_request
    def authenticate() -> None:
        """Check the bearer key with one query on the primary key of api_keys."""
        g.request_id = request.headers.get("X-Request-Id") or uuid.uuid4().hex
        scheme, _, key = request.headers.get("Authorization", "").partition(" ")
        key_id, _, secret = key.partition(".")
        if scheme != "Bearer" or not secret:
            raise ApiError(401, "a valid API key is required")
        with pool.connection() as connection:
            row = connection.execute(
                "SELECT secret_hash, user_id, workspace_id FROM api_keys WHERE id = %s",
                (key_id,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[0], hash_secret(secret)):
            raise ApiError(401, "a valid API key is required")
        g.user_id, g.workspace_id = row[1], row[2]

    @app.after_request
    def tag(response: Response) -> Response:
        response.headers["X-Request-Id"] = g.get("request_id") or uuid.uuid4().hex
        return response

    @app.errorhandler(ApiError)
    def answer_error(error: ApiError) -> tuple[Response, int]:
        return _error(error.status, error.message)

    @app.errorhandler(HTTPException)
    def answer_http_error(error: HTTPException) -> tuple[Response, int]:
        return _error(error.code or 500, error.description or "")

    @app.errorhandler(PoolTimeout)
    def answer_pool_timeout(error: PoolTimeout) -> tuple[Response, int]:
        return _error(503, "the database cannot be reached")

    @app.errorhandler(Exception)
    def answer_unexpected(error: Exception) -> tuple[Response, int]:
        app.logger.exception("unhandled error", exc_info=error)
        return _error(500, "the baseline failed")

    @app.post("/v1/projects")
    def create_project() -> tuple[Response, int, dict[str, str]]:
        """Insert the project and count it in its workspace, in one transaction."""
        body = _json_body()
        name = _text(body.get("name"), "name", 1, 200)
        description = body.get("description")
        if description is not None:
            description = _text(description, "description", 0, 10_000)
        moment = _now_millis()
        project_id = "proj_" + uuid.uuid4().hex[:26]
        with pool.connection() as connection:
            row = connection.execute(
                f"INSERT INTO projects ({PROJECT_COLUMNS}) "
                "VALUES (%s, %s, %s, %s, %s, %s, 1, 0, 0) "
                f"RETURNING {PROJECT_COLUMNS}",
                (project_id, g.workspace_id, name, description, moment, moment),
            ).fetchone()
            connection.execute(
                "INSERT INTO workspace_totals (workspace_id, projects) VALUES (%s, 1) "
                "ON CONFLICT (workspace_id) "
                "DO UPDATE SET projects = workspace_totals.projects + 1",
                (g.workspace_id,),
            )
        headers = {"Location": f"/v1/projects/{project_id}", "ETag": '"1"'}
        return jsonify(_project(row)), 201, headers

    @app.get("/v1/projects")
    def list_projects() -> Response:
        """One indexed SELECT after a cursor's sort key, or after an offset."""
        limit = _number("limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        cursor = request.args.get("cursor")
        if cursor is not None and "page" in request.args:
            raise ApiError(400, "page and cursor cannot be combined")
        after = None if cursor is None else _read_cursor(cursor_secret, cursor)
        page = after[2] if after else _number("page", 1, 1, 10**9)

        with pool.connection() as connection:
            totals = connection.execute(
                "SELECT projects FROM workspace_totals WHERE workspace_id = %s",
                (g.workspace_id,),
            ).fetchone()
            total = totals[0] if totals else 0
            rows: list[Any] = []
            if after is not None:
                rows = connection.execute(
                    f"SELECT {PROJECT_COLUMNS} FROM projects WHERE workspace_id = %s "
                    "AND (updated_at, id) < (%s, %s) "
                    "ORDER BY updated_at DESC, id DESC LIMIT %s",
                    (g.workspace_id, after[0], after[1], limit + 1),
                ).fetchall()
            elif (page - 1) * limit < total:
                rows = connection.execute(
                    f"SELECT {PROJECT_COLUMNS} FROM projects WHERE workspace_id = %s "
                    "ORDER BY updated_at DESC, id DESC LIMIT %s OFFSET %s",
                    (g.workspace_id, limit + 1, (page - 1) * limit),
                ).fetchall()

        has_more = len(rows) > limit
        items = rows[:limit]
        next_cursor = None
        if has_more:
            last = items[-1]
            next_cursor = _write_cursor(cursor_secret, last[5], last[0], page + 1)
        return jsonify(
            {
                "data": [_project(row) for row in items],
                "pagination": {
                    "page": page,
                    "limit": limit,
                    "total": total,
                    "totalPages": -(-total // limit),
                    "hasMore": has_more,
                    "nextCursor": next_cursor,
                },
            }
        )

    @app.get("/v1/projects/<project_id>")
    def get_project(project_id: str) -> tuple[Response, int, dict[str, str]]:
        """The project by its primary key, within the caller's workspace."""
        with pool.connection() as connection:
            row = _project_row(connection, project_id)
        return jsonify(_project(row)), 200, {"ETag": f'"{row[6]}"'}

    @app.post("/v1/jobs")
    def create_job() -> tuple[Response, int]:
        """Insert the job and count it in its workspace, in one transaction."""
        name = _text(_json_body().get("name"), "name", 1, 200)
        moment = _now_millis()
        job_id = "job_" + uuid.uuid4().hex[:26]
        with pool.connection() as connection:
            connection.execute(
                "INSERT INTO jobs (id, workspace_id, name, project_id, created_at, "
                "updated_at, version) VALUES (%s, %s, %s, NULL, %s, %s, 1)",
                (job_id, g.workspace_id, name, moment, moment),
            )
            connection.execute(
                "INSERT INTO workspace_totals (workspace_id, jobs) VALUES (%s, 1) "
                "ON CONFLICT (workspace_id) "
                "DO UPDATE SET jobs = workspace_totals.jobs + 1",
                (g.workspace_id,),
            )
        return jsonify(_job(job_id, g.workspace_id, name, None, moment, moment)), 201

    @app.post("/v1/projects/<project_id>/jobs")
    def assign_job(project_id: str) -> Response:
        """Take a free job with a conditional UPDATE; else say why not (404, 409).

        A job already in this project answers 200 and changes nothing.
        """
        job_id = _text(_json_body().get("jobId"), "jobId", 1, 100)
        with pool.connection() as connection:
            moved = connection.execute(
                "UPDATE jobs SET project_id = %s, updated_at = %s, "
                "version = version + 1 "
                "WHERE id = %s AND workspace_id = %s AND project_id IS NULL",
                (project_id, _now_millis(), job_id, g.workspace_id),
            ).rowcount
            if moved:
                row = _count_member(connection, project_id, +1)
                return jsonify(_project(row))

            row = _project_row(connection, project_id)
            placed = connection.execute(
                "SELECT project_id FROM jobs WHERE id = %s AND workspace_id = %s",
                (job_id, g.workspace_id),
            ).fetchone()
        if placed is None:
            raise ApiError(404, f"job {job_id} was not found")
        if placed[0] != project_id:
            message = f"job {job_id} is already assigned to project {placed[0]}"
            raise ApiError(409, message)
        return jsonify(_project(row))

    @app.delete("/v1/projects/<project_id>/jobs/<job_id>")
    def unassign_job(project_id: str, job_id: str) -> Response:
        """Free the job only if it is in this project; 404 otherwise."""
        with pool.connection() as connection:
            moved = connection.execute(
                "UPDATE jobs SET project_id = NULL, updated_at = %s, "
                "version = version + 1 "
                "WHERE id = %s AND workspace_id = %s AND project_id = %s",
                (_now_millis(), job_id, g.workspace_id, project_id),
            ).rowcount
            if moved:
                row = _count_member(connection, project_id, -1)
                return jsonify(_project(row))
            _project_row(connection, project_id)
        raise ApiError(404, f"job {job_id} is not in project {project_id}")

    return app


def _count_member(connection: Connection[Any], project_id: str, delta: int) -> Any:
    """Change the project's job count; a missing project undoes the whole step.

    The pool rolls the transaction back when the error leaves its block.
    """
    row = connection.execute(
        "UPDATE projects SET job_count = job_count + %s, version = version + 1 "
        f"WHERE id = %s AND workspace_id = %s RETURNING {PROJECT_COLUMNS}",
        (delta, project_id, g.workspace_id),
    ).fetchone()
    if row is None:
        raise ApiError(404, f"project {project_id} was not found")
    return row


def _project_row(connection: Connection[Any], project_id: str) -> Any:
    row = connection.execute(
        f"SELECT {PROJECT_COLUMNS} FROM projects WHERE id = %s AND workspace_id = %s",
        (project_id, g.workspace_id),
    ).fetchone()
    if row is None:
        raise ApiError(404, f"project {project_id} was not found")
    return row


def _json_body() -> dict[str, Any]:
    if not request.is_json:
        raise ApiError(415, "send the body as application/json")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "the body must be a JSON object")
    return body


def _text(value: Any, field: str, shortest: int, longest: int) -> str:
    if not isinstance(value, str) or not shortest <= len(value.strip()) <= longest:
        raise ApiError(400, f"{field} must be {shortest} to {longest} characters")
    return value.strip()


def _number(name: str, default: int, lowest: int, highest: int) -> int:
    given = request.args.get(name)
    if given is None:
        return default
    if not given.isdigit() or not lowest <= int(given) <= highest:
        raise ApiError(400, f"{name} must be a whole number from {lowest}")
    return int(given)


def _write_cursor(secret: bytes, updated_at: int, project_id: str, page: int) -> str:
    """A signed cursor that carries the sort key of a page's last row."""
    payload = base64.urlsafe_b64encode(f"{updated_at}|{project_id}|{page}".encode())
    signature = hmac.new(secret, payload, hashlib.sha256).hexdigest()[:32]
    return f"{payload.decode()}.{signature}"


def _read_cursor(secret: bytes, cursor: str) -> tuple[int, str, int]:
    payload, _, signature = cursor.partition(".")
    expected = hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()[:32]
    if not hmac.compare_digest(expected, signature):
        raise ApiError(400, "the cursor was not issued by this service")
    updated_at, project_id, page = base64.urlsafe_b64decode(payload).decode().split("|")
    return int(updated_at), project_id, int(page)


def _now_millis() -> int:
    return time.time_ns() // 1_000_000


def _timestamp(millis: int) -> str:
    moment = datetime.fromtimestamp(millis // 1000, tz=UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}.{millis % 1000:03d}Z"


def _project(row: Any) -> dict[str, Any]:
    return {
        "id": row[0],
        "workspaceId": row[1],
        "name": row[2],
        "description": row[3],
        "createdAt": _timestamp(row[4]),
        "updatedAt": _timestamp(row[5]),
        "jobCount": row[7],
        "taskCount": row[8],
    }


def _job(
    job_id: str,
    workspace_id: str,
    name: str,
    project_id: str | None,
    created_at: int,
    updated_at: int,
) -> dict[str, Any]:
    return {
        "id": job_id,
        "name": name,
        "workspaceId": workspace_id,
        "projectId": project_id,
        "createdAt": _timestamp(created_at),
        "updatedAt": _timestamp(updated_at),
    }


def _error(status: int, message: str) -> tuple[Response, int]:
    reason = {
        400: "Bad Request",
        401: "Unauthorized",
        404: "Not Found",
        405: "Method Not Allowed",
        409: "Conflict",
        413: "Payload Too Large",
        415: "Unsupported Media Type",
        503: "Service Unavailable",
    }.get(status, "Internal Server Error")
    body = {"error": reason, "message": message, "requestId": g.get("request_id")}
    response = jsonify(body)
    if status == 401:
        response.headers["WWW-Authenticate"] = "Bearer"
    return response, status
