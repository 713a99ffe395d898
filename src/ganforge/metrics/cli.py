"""`ganforge eval RUN_OR_PATH`: evaluate a run, a zoo model (zoo:NAME), or a folder / .npz of images
against a reference, print a table, and append the figures to RUN/metrics.jsonl when the source is a
run directory."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from ganforge.metrics.extractors import EXTRACTORS
from ganforge.metrics.pipeline import METRICS, evaluate, model_sampler
from ganforge.metrics.sources import is_checkpoint_dir, is_run_dir
from ganforge.zoo import is_zoo


@click.command("eval")
@click.argument("source", metavar="RUN_OR_PATH")
@click.option(
    "--metrics",
    default="fid,kid,is,pr,dc",
    show_default=True,
    help=f"Comma-separated, from: {', '.join(METRICS.keys())}",
)
@click.option("--n", "n", type=int, default=10000, show_default=True, help="Generated images to evaluate")
@click.option(
    "--ref",
    default="mnist:test",
    show_default=True,
    help="Reference: DATASET:SPLIT (mnist:test, fashion-mnist:train, ...), an image folder or an .npz",
)
@click.option(
    "--extractor", default="lenet-mnist", show_default=True, help=f"Feature extractor: {', '.join(EXTRACTORS.keys())}"
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--batch-size", type=int, default=250, show_default=True)
@click.option("--device", default="cpu", show_default=True)
@click.option(
    "--inception-weights",
    type=click.Path(dir_okay=False),
    default=None,
    help="pt_inception-2015-12-05-6726825d.pth (default: $GANFORGE_INCEPTION_WEIGHTS, then ~/.cache/ganforge/weights/)",
)
@click.option("--kid-subset-size", type=int, default=1000, show_default=True)
@click.option("--no-cache", is_flag=True, help="Recompute the reference statistics")
@click.option(
    "--native-ref-size",
    is_flag=True,
    help="Do not bring the reference images to the generated images' size first (see docs/metrics.md)",
)
@click.option("--quiet", is_flag=True, help="No progress bar")
def eval_command(
    source,
    metrics,
    n,
    ref,
    extractor,
    seed,
    batch_size,
    device,
    inception_weights,
    kid_subset_size,
    no_cache,
    native_ref_size,
    quiet,
):
    """Evaluate RUN_OR_PATH (a run directory, zoo:NAME, image folder or .npz) against a reference."""
    run_dir, step, src = None, None, source
    if is_run_dir(source) or is_zoo(source):
        from ganforge.api import load

        model = load(source, device=device)
        run_dir = None if is_zoo(source) else Path(getattr(model, "run_dir", None) or source)  # the zoo is read-only
        if run_dir is not None and is_checkpoint_dir(run_dir):  # RUN/checkpoints/step_N: the results go to RUN
            run_dir = run_dir.parents[1] if (run_dir.parents[1] / "config.json").exists() else None
        step = getattr(model, "step", None)
        src = model_sampler(model)
    t0 = time.perf_counter()
    results = evaluate(
        src,
        ref=ref,
        metrics=metrics,
        n=n,
        extractor=extractor,
        batch_size=batch_size,
        seed=seed,
        device=device,
        progress=not quiet,
        extractor_weights=inception_weights if extractor == "inception-fid" else None,
        kid_subset_size=kid_subset_size,
        cache=not no_cache,
        match_size=not native_ref_size,
    )
    seconds = time.perf_counter() - t0
    click.echo(f"{source} vs {ref}  ({extractor} features, n={n}, seed={seed}, {seconds:.1f} s)")
    width = max(len(k) for k in results)
    for key, value in results.items():
        click.echo(f"  {key:<{width}}  {value:.6g}")
    if run_dir is not None:
        record = {
            "kind": "eval",
            "step": None if step is None else int(step),
            **results,
            "n": n,
            "ref": ref,
            "extractor": extractor,
            "seed": seed,
        }
        with open(run_dir / "metrics.jsonl", "a") as f:
            f.write(json.dumps(record) + "\n")
        click.echo(f"appended to {run_dir / 'metrics.jsonl'}")
