"""The web studio (`ganforge serve`): a FastAPI app over the inference layer and a static page.

    models.py    loading (RUN paths and zoo:NAME), server-assigned ids, capabilities per model
    uploads.py   upload limits and safe image decoding (size, pixel count, bombs, non-images)
    runs.py      run directories under --runs: config, progress, metrics.jsonl read incrementally, samples
    pool.py      the bounded inference pool (503 when full), so one slow request does not stall the rest
    app.py       create_app(models, runs_dir, token): the JSON API under /api/, the page, the guards
    server.py    serve(...) for the CLI (bind checks, token rule, uvicorn) and BackgroundServer for tests
    static/      index.html, app.js, style.css, api.html (the offline API page): no external URL anywhere

The package's `__init__` imports none of its modules, so `import ganforge` never pulls in FastAPI.
"""
