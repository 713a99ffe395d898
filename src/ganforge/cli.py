"""`ganforge` command line: thin commands over the API. Every user error ends in one line on
stderr and exit code 2."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ganforge.errors import UserError, storage_error
from ganforge.io import atomic_write, refuse_overwrite


class LazyGroup(click.Group):
    """A group whose heavier subcommands are imported when run, not when `ganforge --help` lists them
    (the metrics module pulls in torch: seconds of start-up for every command otherwise)."""

    lazy = {
        "eval": (
            "ganforge.metrics.cli",
            "eval_command",
            "Evaluate RUN_OR_PATH (a run directory, zoo:NAME, image folder or .npz) against a reference.",
        )
    }

    def list_commands(self, ctx):
        return sorted([*super().list_commands(ctx), *self.lazy])

    def get_command(self, ctx, name):
        if name in self.lazy:
            import importlib

            module, attr, _ = self.lazy[name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def format_commands(self, ctx, formatter):
        limit = formatter.width - 6 - max(len(n) for n in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:
                rows.append((name, click.utils.make_default_short_help(self.lazy[name][2], limit)))
            elif (cmd := super().get_command(ctx, name)) is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def out_folder(default: str, help: str):
    """The --out option of the commands that write a folder of files."""
    return click.option("--out", "out", type=click.Path(file_okay=False), default=default, show_default=True, help=help)


def tile_option(default: int, help: str):
    """The --tile option of the commands that process images of any size in overlapping tiles."""
    return click.option("--tile", type=int, default=default, show_default=True, help=help)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ganforge")
@click.option("--verbose", is_flag=True, help="On an error, show its details and traceback too.")
@click.pass_context
def cli(ctx, verbose) -> None:
    """ganforge: train, sample and evaluate Generative Adversarial Networks."""
    if isinstance(ctx.obj, dict):  # main()'s settings, read when it reports an error
        ctx.obj["verbose"] = verbose


@cli.command(context_settings={"ignore_unknown_options": False})
@click.argument("source", required=False)
@click.argument("overrides", nargs=-1)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default=None,
    help="Run directory (default: runs/<preset or config name>).",
)
@click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint.")
@click.option("--overwrite", is_flag=True, help="Replace an existing run directory.")
@click.option("--dry-run", is_flag=True, help="Print the resolved config and exit.")
def train(source, overrides, out, resume, overwrite, dry_run):
    """Train from a PRESET or CONFIG.yaml, with key=value overrides (train.steps=2000 model.g_width=32)."""
    from ganforge.config import load_config, parse_overrides

    if source and "=" in source:  # only overrides were given
        overrides, source = (source, *overrides), None
    if resume and overwrite:
        raise UserError("--resume and --overwrite contradict each other; give one")
    for given in (source, out):
        if str(given).startswith("zoo:"):  # not a preset, config or run directory
            _zoo_lacks(given, "training cannot start from or resume it")
    if out is None:
        name = Path(source).stem if source else "default"
        out = str(Path("runs") / name)
    if resume:
        from ganforge.training.loop import resume_config

        cfg = resume_config(Path(out), parse_overrides(list(overrides)))
    else:
        cfg = load_config(source, list(overrides))
    if dry_run:
        click.echo(json.dumps(cfg.to_dict(), indent=2))
        return
    from ganforge.training.loop import train as run_training

    result = run_training(cfg, out, resume=resume, overwrite=overwrite)
    if not result["is_main"]:  # other ranks of a distributed run stay quiet
        return
    if result["interrupted"]:  # SIGTERM / SIGINT: a checkpoint at that step, exit 0
        click.echo(
            f"{result['interrupted']}: stopped at step {result['step']} of {result['steps']} with a checkpoint; "
            f"resume with: ganforge train --resume --out {result['run_dir']}"
        )
        return
    click.echo(f"run directory: {result['run_dir']}")
    if result["grid"]:
        click.echo(f"sample grid: {result['grid']}")


@cli.command()
@click.argument("run", type=click.Path())
@click.option(
    "--n", "n", type=int, default=None, help="Number of samples (default 64); with --per-class, per class (default 10)."
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    default="samples.png",
    show_default=True,
    help="A .png grid (or scatter plot for 2-D points) or an .npz of arrays.",
)
@click.option("--nrow", type=int, default=None, help="Images per grid row.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
@click.option("--class", "klass", default=None, help="Conditional models: only this class (an index or a class name).")
@click.option(
    "--truncation",
    type=float,
    default=None,
    help="Truncation trick: re-sample every latent |z_i| above this (e.g. 0.5); StyleGAN: psi in W, "
    "w_avg + psi (w - w_avg), 0 to 1 (e.g. 0.7). Less variety, more fidelity.",
)
@click.option(
    "--per-class", is_flag=True, help="Conditional models: a grid with one row per class, the same z per column."
)
@click.option(
    "--text", default=None, help="Text models (stackgan): the caption to draw, e.g. 'a thick, slanted seven'."
)
def sample(run, n, seed, out, nrow, overwrite, klass, truncation, per_class, text):
    """Draw samples from a run or checkpoint directory (the config file is not needed)."""
    from ganforge.api import load
    from ganforge.inference.sampling import class_grid, grid_labels, write_samples
    from ganforge.io import to_uint8
    from ganforge.training.logging import save_samples

    out_path = Path(out)
    if out_path.suffix.lower() not in (".png", ".npz"):
        raise UserError(f"--out {out}: give a .png or .npz file name")
    refuse_overwrite(out, overwrite=overwrite)
    if per_class and klass is not None:
        raise UserError("--per-class draws every class; drop --class, or drop --per-class for one class")
    model = load(run)
    if text is not None or model.family.text:
        _sample_text(model, text, n, seed, out_path, nrow, klass, per_class, truncation)
        return
    if model.kind == "table":
        verb = (
            "synth RUN --n N --out rows.csv"
            if model.family.tabular == "synthesize"
            else "impute RUN table.csv --out filled.csv"
        )
        raise UserError(f"a {model.family.name} model works on tables: use 'ganforge {verb}'")
    npz = out_path.suffix.lower() == ".npz"
    if npz and not per_class:  # streamed: memory holds one batch of samples, whatever --n
        n = 64 if n is None else n
        write_samples(model, out_path, n, seed, y=klass, truncation=truncation, overwrite=overwrite)
        click.echo(f"wrote {n} samples to {out_path}")
        return
    if per_class:
        n = 10 if n is None else n
        x = class_grid(model, n, seed, truncation)
        labels, nrow = grid_labels(model, n), nrow or n
    else:
        n = 64 if n is None else n
        x = model.sample(n, seed=seed, y=klass, truncation=truncation)
    if npz:
        import numpy as np

        arrays = {"images": to_uint8(x)} if x.ndim == 4 else {"points": x.numpy()}
        arrays["labels"] = labels.numpy()
        atomic_write(out_path, lambda tmp: np.savez_compressed(tmp, **arrays))
    else:
        save_samples(x, out_path, nrow=nrow)  # a grid, or a scatter plot of points; atomic
    click.echo(f"wrote {len(x)} samples to {out_path}")


def _sample_text(model, text, n, seed, out_path: Path, nrow, klass, per_class, truncation) -> None:
    """`ganforge sample --text`: n images of one caption, a .png grid or an .npz of uint8 images."""
    from ganforge.io import to_uint8
    from ganforge.training.logging import save_samples

    if per_class or klass is not None:
        raise UserError("--per-class and --class do not apply to a text model: name the class in --text ('a seven')")
    n = 16 if n is None else n
    x = model.sample(n, seed=seed, text=text, truncation=truncation)
    if out_path.suffix.lower() == ".npz":
        import numpy as np

        atomic_write(out_path, lambda tmp: np.savez_compressed(tmp, images=to_uint8(x), text=np.array([text] * n)))
    else:
        save_samples(x, out_path, nrow=nrow)
    click.echo(f"wrote {len(x)} samples of {text!r} to {out_path}")


@cli.command()
@click.argument("run", type=click.Path())
@click.argument("image", type=click.Path())
@click.option("--to", "to", default=None, help="The target group: an index or a name (e.g. 3 or thick; 60+ for faces).")
@click.option("--strip", is_flag=True, help="Edit to every group: one row, the input first.")
@click.option(
    "--from", "source", default=None, help="The image's own group (default: the one that reconstructs it best)."
)
@click.option(
    "--steps", type=int, default=100, show_default=True, help="Identity-preserving optimisation steps (0: off)."
)
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="The .png to write.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists (never the input).")
def age(run, image, to, strip, source, steps, out, overwrite):
    """Edit IMAGE to another group of an ordered attribute (age; a digit's thickness) with an Age-cGAN RUN."""
    import torch

    from ganforge.api import load
    from ganforge.data.folders import read_image
    from ganforge.inference.ageing import check_editor, group_index
    from ganforge.io import save_grid, save_image

    if (to is None) == (not strip):
        raise UserError("give --to GROUP for one edit, or --strip for every group (not both)")
    if Path(out).suffix.lower() != ".png":
        raise UserError(f"--out {out}: give a .png file name")
    if Path(out).resolve() == Path(image).resolve():
        raise UserError("--out names the input image; write the edit to another file")
    if not Path(image).is_file():
        raise UserError(f"{image} does not exist or is not a file; give an image file")
    refuse_overwrite(out, overwrite=overwrite)
    model = load(run)
    check_editor(model)
    for value in (to, source):
        if value is not None:
            group_index(model, value)  # out of range: one line, before any work
    c, h, w = model.data_shape
    pixels = read_image(Path(image), h, c)  # a non-image: one line
    x = torch.from_numpy(pixels.copy()).permute(2, 0, 1)[None].float().div(127.5).sub(1.0)  # [1, C, H, W]
    result = model.age(x, None if strip else to, source=source, steps=steps)
    if strip:
        save_grid(torch.cat([x, result.outputs[0]]), out, nrow=1 + len(result.targets))
    else:
        save_image(result.outputs[0, 0], out)
    names = [model.classes[t] for t in result.targets]
    click.echo(
        f"wrote {out}: group {model.classes[int(result.source[0])]} -> {', '.join(names)} "
        f"(identity distance {float(result.encoder_distance[0]):.3g} from the encoder, "
        f"{float(result.identity_distance[0]):.3g} after {steps} steps)"
    )


@cli.command()
@click.argument("run", type=click.Path())
@click.option("--rows", type=int, default=4, show_default=True, help="Interpolation strips (pairs of end points).")
@click.option("--steps", type=int, default=8, show_default=True, help="Images per strip, end points included.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--class", "klass", default=None, help="Conditional models: the class of every strip (default: row r is class r)."
)
@click.option("--truncation", type=float, default=None, help="Truncation trick for the end points (e.g. 0.5).")
@click.option("--out", "out", type=click.Path(dir_okay=False), default="interpolation.png", show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def interpolate(run, rows, steps, seed, klass, truncation, out, overwrite):
    """Latent interpolation strips: each row walks a great circle (slerp) between two random z."""
    from ganforge.api import load
    from ganforge.inference.interpolation import interpolation
    from ganforge.io import save_grid

    out_path = Path(out)
    if out_path.suffix.lower() != ".png":
        raise UserError(f"--out {out}: give a .png file name")
    refuse_overwrite(out, overwrite=overwrite)
    model = load(run)
    if model.kind != "image":
        raise UserError("interpolation strips are drawn for image models only")
    save_grid(interpolation(model, rows, steps, seed, truncation, klass), out_path, nrow=steps)
    click.echo(f"wrote {rows} strips of {steps} images to {out_path}")


@cli.command()
@click.argument("run", type=click.Path())
@click.option(
    "--per-class", "per_class", type=int, default=None, help="Image models: images to generate for every class."
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Image models: an .npz (images uint8 [N, H, W, C], labels int64 [N], classes); table models: a .csv.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--truncation", type=float, default=None, help="Truncation trick (e.g. 1.0): fewer odd samples, less variety."
)
@click.option("--n", "n", type=int, default=None, help="Table models: rows to synthesise (default 1000).")
@click.option(
    "--where", "where", multiple=True, help="Table models: only rows with this category, e.g. --where sex=Female."
)
@click.option(
    "--conditions",
    type=click.Choice(["data", "log"]),
    default=None,
    help="Table models: G's conditional vectors drawn as the data's category frequencies (data, the "
    "default) or by log-frequency as in training (log: rare categories more often, as the ctgan package).",
)
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def synth(run, per_class, out, seed, truncation, n, where, conditions, overwrite):
    """Write a synthetic data set: labelled images from a class-conditional model, or table rows (CSV)
    from a table model (ctgan)."""
    from ganforge.api import load
    from ganforge.inference.sampling import write_synthetic

    out_path = Path(out)
    refuse_overwrite(out, overwrite=overwrite)  # before loading the model: nothing is lost either way
    model = load(run)
    if model.family.tabular:
        from ganforge.inference.tables import parse_where, synthesize_csv

        if per_class is not None or truncation is not None:
            raise UserError("--per-class and --truncation are for image models; a table model takes --n and --where")
        if out_path.suffix.lower() != ".csv":
            raise UserError(f"--out {out}: a table model writes a .csv file")
        result = synthesize_csv(
            model, 1000 if n is None else n, out_path, seed, parse_where(where), overwrite, conditions or "data"
        )
        click.echo(f"wrote {result['rows']} synthetic rows to {result['path']}")
        return
    if n is not None or where or conditions:
        raise UserError("--n, --where and --conditions are for table models; an image model takes --per-class")
    if per_class is None:
        raise UserError("--per-class N is needed: the images to generate for every class")
    result = write_synthetic(model, out_path, per_class, seed, truncation, overwrite)
    click.echo(
        f"wrote {result['count']} images ({per_class} per class, {result['classes']} classes) to {result['path']}"
    )


@cli.command()
@click.argument("run", type=click.Path())
@click.argument("table", type=click.Path())
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="The filled table, a .csv file.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the noise G gets in missing cells.")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists (never the input table).")
def impute(run, table, out, seed, overwrite):
    """Fill the missing cells of TABLE (a CSV with the training table's columns) with the GAIN model in RUN."""
    from ganforge.api import load
    from ganforge.inference.tables import impute_csv

    src, out_path = Path(table), Path(out)
    if not src.is_file():  # a bad path fails before the model loads
        raise UserError(f"{table}: no such file; give a CSV table")
    if out_path.exists() and out_path.resolve() == src.resolve():
        raise UserError(f"--out {out} is the input table itself; choose another file so the input is kept")
    if out_path.suffix.lower() != ".csv":
        raise UserError(f"--out {out}: give a .csv file name")
    refuse_overwrite(out, overwrite=overwrite)
    result = impute_csv(load(run), src, out_path, seed, overwrite)
    click.echo(f"filled {result['filled']} missing cells in {result['rows']} rows; wrote {result['path']}")


@cli.command()
@click.option("--data", "show_data", is_flag=True, help="List data sets too.")
def presets(show_data):
    """List named presets (and, with --data, data sets and model families)."""
    from ganforge.config import PRESETS

    for name in PRESETS:
        click.echo(f"{name:20s} {PRESETS.doc(name)}")
    if show_data:
        from ganforge.data import DATASETS
        from ganforge.models import MODELS

        click.echo("\ndata sets:")
        for name in DATASETS:
            click.echo(f"  {name:18s} {DATASETS.doc(name)}")
        click.echo("\nmodel families:")
        for name in MODELS:
            click.echo(f"  {name:18s} {MODELS.doc(name)}")


@cli.command()
@click.argument("run", type=click.Path())
def info(run):
    """Summarise a run or checkpoint: step, config, networks and their sizes."""
    from ganforge.api import load

    model = load(run)
    c = model.config
    if model.zoo is not None:
        click.echo(f"zoo model:   {model.zoo.name} ({model.zoo.info['weights']['dtype']} weights, sha256 checked)")
        click.echo(f"trained by:  {model.zoo.info['train_command']}")
        click.echo(f"figure:      {model.zoo.figure}")
    else:
        click.echo(f"checkpoint:  {model.checkpoint.path}")
    click.echo(f"step:        {model.step} / {c.train.steps}")
    click.echo(f"family:      {c.model.family}   loss: {c.loss.name}   data: {c.data.name} ({c.data.split})")
    click.echo(f"data shape:  {list(model.data_shape)}   classes: {model.num_classes}")
    for name, net in model.networks.items():
        click.echo(f"network {name}: {sum(p.numel() for p in net.parameters()):,} parameters")
    click.echo(f"EMA weights used for: {', '.join(model.uses_ema) or 'none'}")
    if model.checkpoint is not None:
        click.echo(f"trained for: {model.checkpoint.state.get('elapsed_s', 0):.1f} s")
    else:
        click.echo(f"trained for: {model.zoo.info.get('train_cpu_seconds', 0):.1f} CPU-s")


@cli.command()
@click.argument("run", type=click.Path(exists=False))
@click.option("--out", "out", type=click.Path(dir_okay=False), default=None, help="Default: RUN/losses.png")
def plot(run, out):
    """Plot loss curves from RUN/metrics.jsonl to a PNG."""
    from ganforge.plots import plot_losses

    if run.startswith("zoo:"):
        _zoo_lacks(run, "it has no loss curves to plot")

    path = plot_losses(Path(run), Path(out) if out else None)
    click.echo(f"wrote {path}")


@cli.command()
@click.argument("run", type=click.Path())
@click.argument("input", type=click.Path())
@click.option(
    "--direction",
    type=click.Choice(["AtoB", "BtoA"]),
    default="AtoB",
    show_default=True,
    help="BtoA needs a CycleGAN model (pix2pix translates one way).",
)
@out_folder("translated", "Folder for <name>.png per input and comparison.png.")
@click.option(
    "--target",
    type=click.Path(),
    default=None,
    help="Known targets: an image, or a folder with the inputs' file names; adds a target column.",
)
@click.option(
    "--paired",
    is_flag=True,
    help="Inputs are side-by-side A|B images (pix2pix format): translate one half, compare with the other.",
)
@click.option("--overwrite", is_flag=True, help="Replace existing files in --out.")
def translate(run, input, direction, out, target, paired, overwrite):
    """Translate INPUT (an image or a folder of images) with the pix2pix / CycleGAN model in RUN."""
    from ganforge.api import load
    from ganforge.inference.translation import list_inputs, translate_files

    list_inputs(Path(input))  # a bad input path fails before the model loads
    result = translate_files(
        load(run), Path(input), Path(out), direction, Path(target) if target else None, paired, overwrite
    )
    click.echo(f"translated {result['count']} image(s) {direction} into {out}; comparison grid: {result['grid']}")
    if "l1" in result:
        click.echo(f"against the targets (pixels in [0, 1]): L1 {result['l1']:.4f}, PSNR {result['psnr']:.2f} dB")


@cli.command()
@click.argument("run", type=click.Path())
@click.argument("input", type=click.Path(), metavar="IMAGE_OR_FOLDER")
@out_folder("upscaled", "Folder for <name>.png per input.")
@tile_option(128, "Input pixels per tile side (overlapping tiles keep memory bounded; 0: whole images).")
@click.option("--overwrite", is_flag=True, help="Replace existing files in --out.")
def upscale(run, input, out, tile, overwrite):
    """Upscale IMAGE_OR_FOLDER with the super-resolution model (srgan family) in RUN."""
    from ganforge.api import load
    from ganforge.inference.restoration import list_inputs, upscale_files

    if tile < 0:
        raise UserError(f"--tile {tile}: give a tile side in pixels, or 0 for whole images")
    list_inputs(Path(input))  # a bad input path fails before the model loads
    result = upscale_files(load(run), Path(input), Path(out), tile or None, overwrite)
    click.echo(f"upscaled {result['count']} image(s) x{result['scale']} into {out}")


@cli.command()
@click.argument("run", type=click.Path())
@click.argument("image", type=click.Path())
@out_folder("projection", "Folder for projected_w.npz, reconstruction.png and comparison.png.")
@click.option("--steps", type=int, default=300, show_default=True, help="Optimisation steps.")
@click.option("--lr", type=float, default=0.1, show_default=True, help="Adam's peak learning rate.")
@click.option("--wplus", is_flag=True, help="Optimise one w per layer (W+) instead of a single w.")
@click.option(
    "--feature-weight",
    type=float,
    default=1.0,
    show_default=True,
    help="Weight of the LeNet feature distance beside the pixel MSE; 0: pixels only.",
)
@click.option("--label", type=int, default=None, help="Class-conditional StyleGAN: the image's class.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--overwrite", is_flag=True, help="Replace existing files in --out.")
def project(run, image, out, steps, lr, wplus, feature_weight, label, seed, overwrite):
    """Project IMAGE into the W space of the StyleGAN in RUN (GAN inversion); writes w and the reconstruction."""
    from ganforge.api import load
    from ganforge.inference.styles import project_image, style_generator

    if not Path(image).is_file():  # a bad path fails before the model loads
        raise UserError(f"{image}: no such image file")
    model = load(run)
    style_generator(model)
    result = project_image(
        model,
        image,
        out,
        overwrite=overwrite,
        steps=steps,
        lr=lr,
        wplus=wplus,
        feature_weight=feature_weight,
        label=label,
        seed=seed,
    )
    click.echo(
        f"projected {image}: PSNR {result['psnr']:.2f} dB; wrote {result['w']}, {result['reconstruction']}, "
        f"{result['comparison']}"
    )


@cli.command()
@click.argument("run", type=click.Path())
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["onnx", "torchscript"]),  # ganforge.inference.export.FORMATS, without importing torch
    required=True,
    help="onnx (needs pip install 'ganforge[export]') or torchscript (torch.jit.load, LibTorch).",
)
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="The file to write (g.onnx, g.pt).")
@click.option(
    "--direction",
    type=click.Choice(["AtoB", "BtoA"]),
    default=None,
    help="Translation models: the network to export (default AtoB; BtoA needs a CycleGAN model).",
)
@click.option("--opset", type=int, default=None, help="ONNX opset to write (default 18).")
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def export(run, fmt, out, direction, opset, overwrite):
    """Export the generator of RUN as an ONNX or TorchScript file, checked against the PyTorch model."""
    from ganforge.api import load
    from ganforge.inference.export import check_format

    check_format(fmt, opset)  # bad options and an existing --out fail before the model loads
    refuse_overwrite(out, overwrite=overwrite)
    click.echo(load(run).export(out, fmt, direction=direction, opset=opset, overwrite=overwrite).summary())


@cli.command()
@click.argument("run", type=click.Path())
@click.argument("inputs", nargs=-1, required=True, type=click.Path())
@click.option("--out", "out", type=click.Path(dir_okay=False), default="scores.csv", show_default=True)
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="Flag scores above this as anomalous (scores: 0 to 1 on the training set; default: its 99th percentile).",
)
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists.")
def detect(run, inputs, out, threshold, overwrite):
    """Score INPUTS (image files or folders) for anomalies with the GANomaly model in RUN into a CSV."""
    from ganforge.api import load
    from ganforge.inference.anomaly import check_threshold, detect_files, list_inputs

    check_threshold(threshold)  # bad options and inputs fail before the model loads
    list_inputs([Path(p) for p in inputs])
    if Path(out).suffix.lower() != ".csv":
        raise UserError(f"--out {out}: give a .csv file name")
    result = detect_files(load(run), [Path(p) for p in inputs], Path(out), threshold, overwrite)
    click.echo(
        f"scored {result['count']} image(s) into {result['path']}: {result['anomalous']} anomalous "
        f"at threshold {result['threshold']:.4g}"
    )


@cli.command()
@click.argument("run", type=click.Path())
@click.argument("image", type=click.Path())
@click.option(
    "--mask", "mask", type=click.Path(), default=None, help="A PNG of the image's size, white where pixels are missing."
)
@click.option(
    "--policy",
    type=click.Choice(["center", "box", "strokes", "mixed"]),
    default=None,
    help="Instead of --mask: a generated hole (the sizes the model trained with), drawn from --seed.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the --policy mask.")
@click.option("--out", "out", type=click.Path(dir_okay=False), required=True, help="The completed image, a .png file.")
@tile_option(
    256, "Fully convolutional models: process larger images in tiles of this many pixels (memory stays bounded)."
)
@click.option("--overwrite", is_flag=True, help="Replace --out if it exists (never an input).")
def inpaint(run, image, mask, policy, seed, out, tile, overwrite):
    """Fill the holes of IMAGE (--mask MASK.png, white = missing, or --policy) with the inpainting model in RUN."""
    from ganforge.api import load
    from ganforge.data.masks import POLICIES
    from ganforge.inference.inpainting import check_out, inpaint_file

    if (mask is None) == (policy is None):
        raise UserError(f"give either --mask MASK.png (white = missing) or --policy {'|'.join(POLICIES)}")
    if tile < 4:
        raise UserError(f"--tile {tile}: give at least 4 pixels")
    for p in (image, mask):  # bad inputs and an existing --out fail before the model loads
        if p is not None and not Path(p).is_file():
            raise UserError(f"{p} does not exist")
    check_out(Path(out), Path(image), Path(mask) if mask else None, overwrite)
    result = inpaint_file(
        load(run), Path(image), Path(out), Path(mask) if mask else None, policy, seed, overwrite, tile
    )
    click.echo(
        f"inpainted {result['width']}x{result['height']} image ({100 * result['hole']:.1f}% missing) into {result['path']}"
    )


@cli.command()
@click.argument("models", nargs=-1, metavar="[RUN | zoo:NAME]...")
@click.option("--runs", "runs_dir", type=click.Path(), default=None, help="Show every run under this folder.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind; another needs a token.")
@click.option("--port", type=int, default=7860, show_default=True)
@click.option("--token", default=None, help="Every request must carry it (default: $GANFORGE_TOKEN).")
@click.option("--workers", type=int, default=2, show_default=True, help="Inference threads.")
def serve(models, runs_dir, host, port, token, workers):
    """The web studio for MODELS (run directories, zoo:NAME) and the runs under --runs."""
    from ganforge.serve.server import serve as run_server

    run_server(list(models), runs_dir, host, port, token, workers)


@cli.command("zoo")
def zoo_command():
    """List the zoo: trained generators shipped with ganforge, used as zoo:NAME wherever a RUN is taken."""
    from ganforge.zoo import entries

    rows = [("name", "family", "parameters", "size", "figure", "trained by")]
    for e in entries():
        i = e.info
        size = f"{i['weights']['bytes'] / 1e6:.1f} MB {i['weights']['dtype'].split('+')[0]}"
        rows.append((e.name, i["family"], f"{i['parameters']:,}", size, e.figure, i["train_command"]))
    if len(rows) == 1:
        raise UserError("this installation ships an empty zoo; build it with tools/build_zoo.py")
    widths = [max(len(r[k]) for r in rows) for k in range(len(rows[0]) - 1)]
    for r in rows:
        click.echo("  ".join(c.ljust(w) for c, w in zip(r, widths)) + "  " + r[-1])
    click.echo("\nuse one as zoo:NAME wherever a RUN is taken: ganforge sample zoo:dcgan-mnist --n 64 --out g.png")


def _zoo_lacks(spec: str, what: str) -> None:
    """A zoo entry holds a generator only: no discriminator, optimiser state or training log."""
    raise UserError(
        f"{spec} is a zoo model (generator weights only: no discriminator, optimiser state or metrics.jsonl), "
        f"so {what}; give a run directory, e.g. one trained with the command 'ganforge zoo' lists for it"
    )


def _report_to() -> str:
    """Where bugs go: the project's Issues URL when its metadata names one."""
    from importlib import metadata

    try:
        urls = metadata.metadata("ganforge").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() in ("issues", "bug tracker", "bugs"):
            return url.strip()
    return "the ganforge issue tracker"


def main(argv: list[str] | None = None) -> None:
    """Run the CLI. Exit codes: 0 done; 2 a user error, one line on stderr saying what was wrong and
    how to fix it (`ganforge --verbose ...` adds the detail and traceback); 1 an internal error, a
    bug, reported with its traceback; 130 interrupted."""
    import traceback
    import warnings

    settings = {"verbose": False}  # the group's --verbose, once parsed
    plain = warnings.formatwarning
    warnings.formatwarning = lambda message, *a, **k: (  # one line each, unless --verbose
        plain(message, *a, **k) if settings["verbose"] else f"warning: {message}\n"
    )
    try:
        cli.main(args=argv, prog_name="ganforge", standalone_mode=False, obj=settings)
    except UserError as e:
        more = "" if settings["verbose"] else "; run with 'ganforge --verbose ...' for details"
        click.echo(f"error: {e}{more if e.detail or e.__cause__ else ''}", err=True)
        if settings["verbose"]:
            if e.detail:
                click.echo(e.detail, err=True)
            click.echo("".join(traceback.format_exception(e)).rstrip(), err=True)
        sys.exit(2)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:  # usage errors: unknown option or command, bad value
        hint = f"; see '{e.ctx.command_path} --help'" if getattr(e, "ctx", None) else ""
        click.echo(f"error: {e.format_message().rstrip('.')}{hint}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as e:
        if isinstance(e, OSError) and (user := storage_error(e, "read or write a file")) is not None:
            click.echo(f"error: {user}", err=True)  # the machine, not ganforge: disk full, read-only ...
            if settings["verbose"]:
                click.echo("".join(traceback.format_exception(e)).rstrip(), err=True)
            sys.exit(2)
        from ganforge.version import __version__

        click.echo(
            f"internal error: this is a bug in ganforge {__version__}, not in what you gave it "
            f"({type(e).__name__}: {e}); please report it to {_report_to()} with the command you ran "
            "and this traceback:",
            err=True,
        )
        click.echo("".join(traceback.format_exception(e)).rstrip(), err=True)
        sys.exit(1)
    finally:
        warnings.formatwarning = plain


if __name__ == "__main__":
    main()
