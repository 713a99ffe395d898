"""The studio's FastAPI app: the JSON API under /api/, the static page, and the guards that make it
safe by default.

    create_app(models, runs_dir=None, token=None) -> FastAPI

Requests name models and runs by the ids the server lists (GET /api/models, GET /api/runs), never
by paths; an id that does not look like one is refused before any lookup. Bodies are pydantic
models that refuse unknown fields; every refusal is a 4xx with {"error": "one line"}; model calls
run in bounded pools (503 when full); with a token every request needs it. No page or doc loads
anything from outside the server (FastAPI's /docs would fetch Swagger from a CDN: it is off, and
/api-docs renders /api/openapi.json with a page of our own).
"""

from __future__ import annotations

import contextlib
import hmac
import json
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, File, Form, HTTPException, Query, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ganforge.errors import UserError
from ganforge.serve import ops
from ganforge.serve.models import ID_RE, ServedModel
from ganforge.serve.pool import InferencePool, PoolFull
from ganforge.serve.runs import RunIndex, latest_sample
from ganforge.serve.uploads import MAX_CSV_ROWS, MAX_UPLOAD_BYTES, UploadRefused

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + 64 * 1024  # an upload plus its multipart fields
MAX_COUNT = 256  # images per generate call
MAX_ROWS = 10_000  # synthetic rows per call
MAX_IMAGES = 64  # images per detect call (together within MAX_BODY_BYTES)
MAX_SEED = 2**32 - 1
TOKEN_COOKIE = "ganforge_token"
# the page loads nothing from elsewhere; a browser enforces it (and reports any slip as a console error)
CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)

Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="a seed, 0 to 2^32 - 1")]
ModelId = Annotated[str, Field(max_length=200, description="an id from GET /api/models")]
Label = Annotated[int | None, Field(ge=0, description="class index (class-conditional models); none: balanced")]
Truncation = Annotated[
    float | None, Field(allow_inf_nan=False, description="space z: |z_i| <= this; space w: psi (1: none)")
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt field is an error, not silently ignored


class GenerateRequest(Body):
    model: ModelId
    seed: Seed = 0
    count: int = Field(16, ge=1, le=MAX_COUNT, description=f"images, 1 to {MAX_COUNT}")
    label: Label = None
    truncation: Truncation = None
    nrow: int | None = Field(None, ge=1, le=64, description="images per grid row (default: a square)")


class InterpolateRequest(Body):
    model: ModelId
    seed_a: Seed = 0
    seed_b: Seed = 1
    steps: int = Field(8, ge=2, le=64, description="images along the path, ends included")
    label: Label = None
    truncation: Truncation = None


class StyleMixRequest(Body):
    model: ModelId
    row_seeds: list[Seed] = Field([1, 2, 3], min_length=1, max_length=8)
    col_seeds: list[Seed] = Field([4, 5, 6], min_length=1, max_length=8)
    crossover: int = Field(1, ge=1, le=64, description="layers before it take the row's styles, the rest the column's")
    psi: float = Field(1.0, ge=-2, le=2, allow_inf_nan=False, description="truncation in W (1: none)")
    label: Label = None


class SynthesizeRequest(Body):
    model: ModelId
    n: int = Field(100, ge=1, le=MAX_ROWS, description=f"rows, 1 to {MAX_ROWS:,}")
    seed: Seed = 0
    where: dict[Annotated[str, Field(max_length=200)], Annotated[str, Field(max_length=200)]] | None = Field(
        None, max_length=4, description="{column: category}: only rows of that category (one categorical column)"
    )


def create_app(
    models: dict[str, ServedModel],
    runs_dir: str | Path | None = None,
    token: str | None = None,
    workers: int = 2,
    queue: int = 64,
    projection_queue: int = 2,
) -> FastAPI:
    """The studio over already loaded `models` (id -> ServedModel, `models.serve_models`) and the runs
    under `runs_dir`. With a `token`, every request must carry it (header, cookie or ?token=). Model
    calls: `workers` threads with `queue` more waiting; projections: one thread, `projection_queue` waiting."""
    fast = InferencePool("inference", workers, queue)
    slow = InferencePool("projection", 1, projection_queue)  # slow: they never take the fast workers
    runs = RunIndex(Path(runs_dir)) if runs_dir is not None else None

    @contextlib.asynccontextmanager
    async def lifespan(app):
        yield
        for pool in (fast, slow):
            pool.shutdown()

    app = FastAPI(
        title="ganforge studio API",
        version="1",
        docs_url=None,  # Swagger UI and ReDoc load from a CDN: /api-docs is ours
        redoc_url=None,
        openapi_url="/api/openapi.json",
        lifespan=lifespan,
    )
    _add_error_handlers(app)

    def served(model_id: str) -> ServedModel:
        return models[_check_id(model_id, models, "model", "GET /api/models")]

    def run_path(run_id: str) -> Path:
        if runs is None:
            raise HTTPException(404, "this server shows no runs; start it with --runs DIR")
        found = runs.runs()
        return found[_check_id(run_id, found, "run", "GET /api/runs")]

    # --- models ------------------------------------------------------------------------------------
    @app.get("/api/health", tags=["server"])
    def health() -> dict:
        """The server answers; how many models and whether runs are shown."""
        return {"ok": True, "models": len(models), "runs": runs is not None}

    @app.get("/api/models", tags=["models"])
    def list_models() -> dict:
        """Every model this server serves: its id, family, classes, truncation range, translation
        directions, style layers and `capabilities` (which panels and controls apply)."""
        return {"models": [m.info() for m in models.values()]}

    @app.post("/api/generate", tags=["models"])
    async def generate(req: GenerateRequest) -> dict:
        """`count` samples from `seed` as one PNG grid (base64 in `image`); 2-D point models return `points`."""
        m = served(req.model)
        return await fast.run(ops.generate, m, req.seed, req.count, req.label, req.truncation, req.nrow)

    @app.post("/api/interpolate", tags=["models"])
    async def interpolate(req: InterpolateRequest) -> dict:
        """The path between the samples of two seeds: `strip` (one PNG) and `frames` (one PNG per step)."""
        m = served(req.model)
        return await fast.run(ops.interpolate, m, req.seed_a, req.seed_b, req.steps, req.label, req.truncation)

    @app.post("/api/style-mix", tags=["models"])
    async def style_mix(req: StyleMixRequest) -> dict:
        """Style mixing (models with `style-mixing`): a grid of row seeds x column seeds; the first row
        and column show the sources. Layers before `crossover` take the row's styles."""
        m = served(req.model)
        return await fast.run(ops.style_mix, m, req.row_seeds, req.col_seeds, req.crossover, req.psi, req.label)

    @app.post("/api/project", tags=["uploads"])
    async def project(
        model: Annotated[str, Form(max_length=200)],
        image: Annotated[UploadFile, File(description=f"an image, at most {MAX_UPLOAD_BYTES // 2**20} MB")],
        steps: Annotated[int, Form(ge=1, le=1000)] = 100,
        seed: Annotated[int, Form(ge=0, le=MAX_SEED)] = 0,
        label: Annotated[int | None, Form(ge=0)] = None,
    ) -> dict:
        """Project an uploaded image into W (models with `project`): `target`, `reconstruction`
        (PNGs), `psnr` and `losses`. Runs in its own one-worker pool."""
        m = served(model)
        data = await _read_upload(image)
        return await slow.run(ops.project, m, data, steps, seed, label)

    @app.post("/api/translate", tags=["uploads"])
    async def translate(
        model: Annotated[str, Form(max_length=200)],
        image: Annotated[UploadFile, File(description=f"an image, at most {MAX_UPLOAD_BYTES // 2**20} MB")],
        direction: Annotated[str, Form(pattern="^(AtoB|BtoA)$")] = "AtoB",
    ) -> dict:
        """Translate an uploaded image (models with `translate`, in one of their `directions`):
        `input` as the model saw it and `output`, as PNGs."""
        m = served(model)
        data = await _read_upload(image)
        return await fast.run(ops.translate, m, data, direction)

    # --- tables and anomaly scores -----------------------------------------------------------------
    @app.post("/api/impute", tags=["tables"])
    async def impute(
        model: Annotated[str, Form(max_length=200)],
        table: Annotated[
            UploadFile,
            File(description=f"a CSV table, at most {MAX_UPLOAD_BYTES // 2**20} MB and {MAX_CSV_ROWS:,} rows"),
        ],
        seed: Annotated[int, Form(ge=0, le=MAX_SEED)] = 0,
    ) -> dict:
        """Fill the missing cells of an uploaded CSV table (models with `impute`; its columns must be
        the model's): `csv` (the filled table; observed cells as uploaded), `missing_before` /
        `missing_after` per column, `preview` (first rows, which cells were filled) and
        `heatmap_before` / `heatmap_after` (PNGs: missing red, filled blue; rows sampled when many)."""
        m = served(model)
        data = await _read_upload(table, "table")
        return await fast.run(ops.impute_table, m, data, seed)

    @app.post("/api/synthesize", tags=["tables"])
    async def synthesize(req: SynthesizeRequest) -> dict:
        """`n` synthetic rows (models with `synthesize-rows`), optionally only those `where` a
        categorical column holds a category: `csv`, `preview`, and per column `histograms` of the
        synthetic rows next to the training table's distribution as the checkpoint records it."""
        m = served(req.model)
        return await fast.run(ops.synthesize_rows, m, req.n, req.seed, req.where)

    @app.post("/api/detect", tags=["anomaly"])
    async def detect(
        model: Annotated[str, Form(max_length=200)],
        images: Annotated[list[UploadFile], File(description=f"1 to {MAX_IMAGES} images, together at most 8 MB")],
        threshold: Annotated[float | None, Form(allow_inf_nan=False)] = None,
    ) -> dict:
        """Anomaly scores of uploaded images (models with `anomaly`): per file its `score` (0: the
        training set's most normal image, 1: its least; not clamped) and whether it is over
        `threshold` (default: the training set's 99th percentile), and a `histogram` of the scores."""
        m = served(model)
        if len(images) > MAX_IMAGES:
            raise HTTPException(413, f"{len(images)} images; at most {MAX_IMAGES} per request")
        files = [(_file_name(f.filename, i), await _read_upload(f)) for i, f in enumerate(images)]
        return await fast.run(ops.detect, m, files, threshold)

    # --- runs --------------------------------------------------------------------------------------
    @app.get("/api/runs", tags=["runs"])
    def list_runs() -> dict:
        """Every run under --runs (folders with a config.json): id, name, family, step / steps,
        whether it is training now. `enabled` is false when the server was started without --runs."""
        if runs is None:
            return {"enabled": False, "runs": []}
        return {"enabled": True, "runs": [runs.summary(i, p) for i, p in runs.runs().items()]}

    @app.get("/api/runs/{run_id}", tags=["runs"])
    def run_detail(run_id: str) -> dict:
        """One run: its summary, config, the step of its latest sample grid, its evaluation records."""
        return runs.detail(run_id, run_path(run_id))

    @app.get("/api/runs/{run_id}/metrics", tags=["runs"])
    def run_metrics(
        run_id: str,
        since: Annotated[int, Query(ge=0, description="the `next` of the previous answer")] = 0,
        limit: Annotated[int, Query(ge=1, le=20000)] = 5000,
    ) -> dict:
        """Training records (step and loss_* values) from index `since`; poll with since=next while it trains."""
        return runs.metrics(run_path(run_id), since, limit)

    @app.get("/api/runs/{run_id}/sample.png", tags=["runs"], response_class=FileResponse)
    def run_sample(run_id: str) -> FileResponse:
        """The run's latest sample grid (image/png)."""
        path = latest_sample(run_path(run_id))
        if path is None:
            raise HTTPException(404, f"run '{run_id}' has no sample grid yet (samples/step_*.png)")
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-store"})

    # --- the page ----------------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/api-docs", include_in_schema=False)
    def api_docs() -> FileResponse:
        return FileResponse(STATIC / "api.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(Guard, token=token)  # added last: outermost, so it runs first
    return app


def _check_id(value: str, known, what: str, where: str) -> str:
    """`value` when it is one of `known`; 400 when it does not look like an id (a path, say), 404 when unknown."""
    if not ID_RE.fullmatch(value):
        raise HTTPException(400, f"{value[:60]!r} is not a {what} id; use an id listed by {where}")
    if value not in known:
        listed = ", ".join(list(known)[:20]) or "none"
        raise HTTPException(404, f"unknown {what} id {value!r}; this server has: {listed}")
    return value


async def _read_upload(upload: UploadFile, what: str = "image") -> bytes:
    """The upload's bytes, at most MAX_UPLOAD_BYTES (BodyLimit has already capped the whole request)."""
    data = await upload.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise UploadRefused(f"the upload is over {MAX_UPLOAD_BYTES // 2**20} MB; choose a smaller {what}", 413)
    return data


def _file_name(name: str | None, index: int) -> str:
    """An uploaded file's name as the client gave it, for display only: its last part, at most 80 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return base[:80] or f"image {index + 1}"


# --- errors: one JSON line each ---------------------------------------------------------------------
def error(status: int, message: str, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def validation_message(errors: list[dict]) -> tuple[int, str]:
    """(status, one line) for pydantic's error list: 400 for JSON that does not parse, 422 otherwise."""
    e = errors[0]
    loc = [str(p) for p in e.get("loc", ())[1:]]  # without "body" / "query" / "path" / "form"
    field = ".".join(loc)
    kind = e.get("type", "")
    if kind == "json_invalid":
        why = e.get("ctx", {}).get("error", "invalid JSON")
        return 400, f"malformed JSON in the request body: {why} (at character {loc[0] if loc else '?'})"
    if not field:
        return 422, "the request body must be a JSON object with the fields listed at /api-docs"
    if kind == "missing":
        return 422, f"{field}: required"
    if kind == "extra_forbidden":
        return 422, f"unknown field {field!r}; see /api-docs for the fields of this request"
    given = repr(e.get("input"))
    given = given if len(given) <= 40 else given[:37] + "..."
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return 422, f"{field}: {e.get('msg', 'invalid')}, got {given}{more}"


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(request, exc: RequestValidationError):
        return error(*validation_message(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}; see /api-docs"
        return error(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(UserError)
    async def user_error(request, exc: UserError):
        return error(400, str(exc))

    @app.exception_handler(UploadRefused)
    async def refused(request, exc: UploadRefused):
        return error(exc.status, str(exc))

    @app.exception_handler(PoolFull)
    async def busy(request, exc: PoolFull):
        return error(503, str(exc), {"Retry-After": "1"})

    @app.exception_handler(Exception)
    async def internal(request, exc: Exception):  # a bug: answered, logged by uvicorn, the server goes on
        return error(500, f"internal error ({type(exc).__name__}: {str(exc)[:200]}); this is a bug in ganforge")


# --- middleware (plain ASGI: no body is read twice) -------------------------------------------------
async def _send_error(send, status: int, message: str, headers: list | None = None) -> None:
    body = json.dumps({"error": message}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            + (headers or []),
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Refuse request bodies over `max_bytes` with 413 -- by Content-Length or by counting while
    reading (chunked bodies) -- then hand the app the body already read. An oversized body is read
    and dropped (up to DRAIN_BYTES) before the answer, so the client, still sending, gets the 413
    instead of a reset connection; beyond that the connection is closed without reading on."""

    DRAIN_BYTES = 64 * 2**20

    def __init__(self, app, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = (
            f"the request body is larger than the {self.max_bytes / 2**20:.0f} MB limit "
            f"(uploads: at most {MAX_UPLOAD_BYTES // 2**20} MB)"
        )
        declared = dict(scope["headers"]).get(b"content-length", b"0")
        if not declared.isdigit() or int(declared) > self.DRAIN_BYTES:
            return await _send_error(send, 413, limit, [(b"connection", b"close")])
        body, more, seen = bytearray(), True, 0
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            more = message.get("more_body", False)
            if seen > self.DRAIN_BYTES:
                break
            if seen <= self.max_bytes:
                body += chunk
        if seen > self.max_bytes:
            return await _send_error(send, 413, limit, [(b"connection", b"close")])
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class Guard:
    """Security headers on every response; with a token, every request must carry it: `Authorization:
    Bearer TOKEN`, `X-Ganforge-Token: TOKEN`, the cookie the page gets, or ?token=TOKEN (which sets
    the cookie, so a browser opened at /?token=... loads the page, its files and images)."""

    def __init__(self, app, token: str | None):
        self.app, self.token = app, token

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        from_query = False
        if self.token is not None:
            given, from_query = _token_of(scope)
            if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
                what = "a wrong token" if given else "no token"
                return await _send_error(
                    send,
                    401,
                    f"this server needs its token and the request carried {what}: send 'Authorization: Bearer "
                    "TOKEN' (in a browser, open /?token=TOKEN)",
                    [(b"www-authenticate", b"Bearer")],
                )

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                extra = [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if from_query:
                    cookie = f"{TOKEN_COOKIE}={self.token}; HttpOnly; SameSite=Strict; Path=/"
                    extra.append((b"set-cookie", cookie.encode()))
                message = {**message, "headers": list(message.get("headers", [])) + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _token_of(scope) -> tuple[str | None, bool]:
    """(the token a request carries, whether it came in the query string)."""
    from http.cookies import SimpleCookie
    from urllib.parse import parse_qs

    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    if "x-ganforge-token" in headers:
        return headers["x-ganforge-token"], False
    query = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("token")
    if query:
        return query[0], True
    if "cookie" in headers:
        cookie = SimpleCookie()
        try:
            cookie.load(headers["cookie"])
        except Exception:  # a malformed Cookie header: treated as no token
            return None, False
        if TOKEN_COOKIE in cookie:
            return cookie[TOKEN_COOKIE].value, False
    return None, False


__all__ = ["MAX_BODY_BYTES", "MAX_COUNT", "MAX_IMAGES", "MAX_ROWS", "create_app", "validation_message"]
