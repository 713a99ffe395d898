"""Export a loaded model's generator as a file that runs without ganforge -- ONNX (onnxruntime and other
ONNX runtimes) or TorchScript (torch.jit.load, LibTorch) -- checked against the PyTorch model.

    export(model, "g.onnx", "onnx")      write, run the file on seeded inputs, compare; -> Exported (the CLI's path)
    export_onnx(model, path)             write only (atomically), no check
    export_torchscript(model, path)      write only (atomically), no check
    check_export(model, path, "onnx")    max |file - PyTorch| over seeded inputs of batch sizes 3, 1 and 5

What is exported is the sampling graph behind `GanModel.generate` (or `GanModel.translate`): one module
with plain tensor inputs (`SamplingGraph`), a dynamic batch dimension N on all but psi:

    family                      inputs, in this order                         output
    noise -> image              z  float32 [N, z_dim]                         images float32 [N, C, H, W] in [-1, 1]
      class-conditional         y  int64 [N], class indices 0..K-1            (points [N, D] for a 2-D model)
      truncation in W           psi float32 [] (a scalar; 1: none, 0: w_avg)
    translation                 x  float32 [N, C, H, W] in [-1, 1]            images float32 [N, C', H, W]

Truncation in W (StyleGAN) happens inside G: w <- w_avg + psi (w - w_avg) around the w_avg recorded in
training, by the generator's own `truncate`, the step `GanModel.sample(truncation=psi)` takes.
Truncation in Z (DCGAN, BigGAN, ...) is a property of how z is drawn, every |z_i| <= psi
(`sampling.truncated_normal`), not of G: those exports have no psi input, and the caller draws
truncated z, as `GanModel.sample` does before it calls G. Translation exports one direction's network
("AtoB" by default; "BtoA" where the family has it: CycleGAN's F). Every file carries its family,
step, inputs, output and class names (`metadata`: ONNX metadata_props, TorchScript's ganforge.json).

ONNX goes through torch.export (torch's dynamo exporter, which needs `onnx` and `onnxscript`: pip
install 'ganforge[export]'), TorchScript through torch.jit.trace, which records the operations run on
example inputs (torch marks TorchScript deprecated; torch.jit.load and LibTorch still run it). Both
are exported at a batch of 3 and run at 1 and 5 too, so a size fixed into the graph shows as a failed
check rather than as a file that breaks later; generators read the batch size as `x.shape[0]`, not
`len(x)`, for that reason. `export` checks the file at its temporary name: one that fails never
takes --out's place. The graph is traced on the model's device; a model loaded on the CPU (the
default of `ganforge.load` and the CLI) gives files for any machine.
"""

from __future__ import annotations

import importlib
import io
import json
import logging
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.inference.model import LoadedModel
from ganforge.inference.sampling import generate, latents
from ganforge.inference.translation import directions, io_shapes, translate_tensor, translator
from ganforge.io import atomic_write, refuse_overwrite

FORMATS = ("onnx", "torchscript")
DEFAULT_OPSET = 18  # the opset torch's dynamo exporter writes without converting
CHECK_BATCHES = (3, 1, 5)  # batch sizes of the check: the export is traced at the first, the others must work too
CHECK_PSI = 0.7  # psi of the check's inputs (at 1 the lerp toward w_avg would change nothing)
TOLERANCE = 1e-4  # the largest |file - PyTorch| `export` accepts
INSTALL_HINT = "pip install 'ganforge[export]'"


class SamplingGraph(nn.Module):
    """The generator as the exported file sees it: forward(*inputs) in the order of `inputs`, returning
    what `GanModel.generate` (or `translate`) returns for the same values."""

    def __init__(self, net: nn.Module, inputs: dict[str, tuple[int, ...]], output: tuple[str, tuple[int, ...]]):
        super().__init__()
        self.net = net
        self.inputs = inputs  # name -> shape after the batch dimension; psi: () and no batch dimension
        self.output = output  # (name, shape after the batch dimension)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(self.inputs)

    def forward(self, *inputs: Tensor) -> Tensor:
        named = dict(zip(self.inputs, inputs, strict=True))
        if "x" in named:  # translation: images in, images out
            return self.net(named["x"])
        kw = {"psi": named["psi"]} if "psi" in named else {}  # a 0-dim tensor: G.truncate lerps by it
        return self.net(named["z"], named.get("y"), **kw)

    def signature(self) -> tuple[dict[str, list], dict[str, list]]:
        """({input: shape}, {output: shape}), "N" for the batch dimension: what the file takes and gives."""
        shapes = {name: [] if name == "psi" else ["N", *shape] for name, shape in self.inputs.items()}
        return shapes, {self.output[0]: ["N", *self.output[1]]}


def sampling_graph(model: LoadedModel, direction: str | None = None) -> SamplingGraph:
    """The module to export: the network of `direction` for a translation family ("AtoB" when None),
    else G with the inputs its family has. A model without that network is a UserError."""
    family = model.family.name
    if model.family.detects:
        raise UserError(f"this {family} model scores images and has no sampling graph to export; use 'ganforge detect'")
    if model.family.translates:
        direction = direction or "AtoB"
        name = directions(model).get(direction)
        if name is not None and model.networks.get(name) is None:
            raise UserError(f"this {family} model has no '{name}' network ({direction}) to export")
        net = translator(model, direction)  # a direction the family lacks -> UserError
        shape_in, shape_out = io_shapes(model, direction)
        return SamplingGraph(net, {"x": shape_in}, ("images", shape_out))
    if direction is not None:
        raise UserError(f"--direction {direction}: this {family} model generates from noise; drop --direction")
    if model.generator is None:
        have = ", ".join(model.networks) or "none"
        raise UserError(f"this {family} model has no generator network 'G' to export (its networks: {have})")
    inputs = {"z": (model.z_dim,)}
    if model.conditional:
        inputs["y"] = ()
    if model.family.truncation == "w":
        inputs["psi"] = ()
    return SamplingGraph(model.generator, inputs, ("images" if model.kind == "image" else "points", model.data_shape))


def example_inputs(model: LoadedModel, graph: SamplingGraph, n: int, seed: int = 0) -> tuple[Tensor, ...]:
    """Seeded inputs of batch size n, on the model's device: z of `sampling.latents`, balanced labels
    (row i: class i % K), psi = CHECK_PSI, images uniform in [-1, 1]."""
    values = {
        "z": lambda: latents(model, n, seed),
        "y": lambda: torch.arange(n) % model.num_classes,
        "psi": lambda: torch.tensor(CHECK_PSI),
        "x": lambda: torch.rand(n, *graph.inputs["x"], generator=torch.Generator().manual_seed(seed)) * 2 - 1,
    }
    return tuple(values[name]().to(model.device) for name in graph.inputs)


def reference(model: LoadedModel, graph: SamplingGraph, inputs: tuple[Tensor, ...], direction=None) -> Tensor:
    """What the PyTorch model gives for `inputs` through the API's own paths (`sampling.generate` with
    psi as a float, `translation.translate_tensor`), on the CPU."""
    named = dict(zip(graph.input_names, inputs))
    if "x" in named:
        return translate_tensor(model, named["x"], direction or "AtoB")
    psi = float(named["psi"]) if "psi" in named else None
    return generate(model, named["z"], named.get("y"), psi=psi)


def metadata(model: LoadedModel, graph: SamplingGraph) -> dict[str, str]:
    """What the file says about itself (ONNX metadata_props, a ganforge.json beside TorchScript's code):
    the family, the checkpoint's step, the inputs and output with "N" for the batch, the class names."""
    inputs, output = graph.signature()
    return {
        "ganforge.family": model.family.name,
        "ganforge.step": str(model.step),
        "ganforge.inputs": json.dumps(inputs),
        "ganforge.output": json.dumps(output),
        "ganforge.classes": json.dumps(list(model.classes) if model.conditional else []),
    }


# --- writing ------------------------------------------------------------------------------------------
def _require(module: str):
    try:
        return importlib.import_module(module)
    except ImportError:
        raise UserError(f"ONNX export and its check need the '{module}' package; {INSTALL_HINT}") from None


@contextmanager
def _quiet(*loggers: str):
    """`loggers` silenced for a while: the ONNX exporter logs its fallbacks, tracebacks included, and
    what matters (the opset written, the file's outputs) is checked after it."""
    saved = [(log, log.level) for log in map(logging.getLogger, loggers)]
    try:
        for log, _ in saved:
            log.setLevel(logging.CRITICAL)
        yield
    finally:
        for log, level in saved:
            log.setLevel(level)


def _write_onnx(graph: SamplingGraph, inputs: tuple[Tensor, ...], path: Path, opset: int, meta: dict) -> None:
    _require("onnx")
    _require("onnxscript")  # the dynamo exporter writes its graph with it
    batch = torch.export.Dim("batch")
    dynamic = tuple({0: batch} if t.ndim else None for t in inputs)  # psi: a scalar, no dims
    with warnings.catch_warnings(), _quiet("torch.onnx", "onnxscript", "onnx_ir"):
        warnings.simplefilter("ignore")  # the exporter's notes and logs: the checks below say whether the file is good
        program = torch.onnx.export(
            graph,
            inputs,
            dynamo=True,
            input_names=list(graph.input_names),
            output_names=[graph.output[0]],
            opset_version=opset,
            dynamic_shapes=(dynamic,),
            verbose=False,
        )
    written = program.model.opset_imports.get("")
    if written != opset:  # below its own opset the exporter converts, and keeps its own when that fails
        raise UserError(
            f"--opset {opset}: torch's exporter could not write this model in that opset (it wrote {written}); "
            f"choose a newer one ({DEFAULT_OPSET}, the default, is the exporter's own)"
        )
    program.model.metadata_props.update(meta)
    # one file with the weights inside (protobuf's 2 GiB limit is far above ganforge's generators)
    program.save(path, external_data=False)


def _write_torchscript(graph: SamplingGraph, inputs: tuple[Tensor, ...], path: Path, meta: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # shape checks traced as constants; checked after
        warnings.simplefilter("ignore", FutureWarning)  # torch deprecates TorchScript; LibTorch still runs it
        traced = torch.jit.trace(graph, inputs, check_trace=False)
        buffer = io.BytesIO()  # torch.jit.save names the archive after the file, and refuses some names (".part-x")
        torch.jit.save(traced, buffer, _extra_files={"ganforge.json": json.dumps(meta)})
    path.write_bytes(buffer.getvalue())


def _write(model, graph, path: Path, fmt: str, opset: int | None) -> None:
    inputs = example_inputs(model, graph, CHECK_BATCHES[0])
    meta = metadata(model, graph)
    if fmt == "onnx":
        _write_onnx(graph, inputs, path, DEFAULT_OPSET if opset is None else opset, meta)
    else:
        _write_torchscript(graph, inputs, path, meta)


def check_format(fmt: str, opset: int | None = None) -> str:
    if fmt not in FORMATS:
        raise UserError(f"unknown export format {fmt!r}; choose {' or '.join(FORMATS)}")
    if opset is not None and fmt != "onnx":
        raise UserError(f"--opset {opset} applies to ONNX files only; drop it for --format {fmt}")
    if opset is not None and opset < 1:
        raise UserError(f"--opset {opset}: give an ONNX opset such as {DEFAULT_OPSET} (the default)")
    return fmt


def export_onnx(
    model: LoadedModel, path, *, direction: str | None = None, opset: int | None = None, overwrite: bool = False
) -> Path:
    """Write the sampling graph as an ONNX file (atomically; an existing file only with `overwrite`)."""
    check_format("onnx", opset)
    refuse_overwrite(path, overwrite=overwrite)
    graph = sampling_graph(model, direction)
    return atomic_write(path, lambda tmp: _write(model, graph, tmp, "onnx", opset))


def export_torchscript(model: LoadedModel, path, *, direction: str | None = None, overwrite: bool = False) -> Path:
    """Write the sampling graph as a TorchScript file (atomically; an existing file only with `overwrite`)."""
    refuse_overwrite(path, overwrite=overwrite)
    graph = sampling_graph(model, direction)
    return atomic_write(path, lambda tmp: _write(model, graph, tmp, "torchscript", None))


# --- checking -----------------------------------------------------------------------------------------
def run_file(path, fmt: str, input_names: tuple[str, ...], inputs: tuple[Tensor, ...]) -> Tensor:
    """Run an exported file on the CPU: onnxruntime for ONNX (one session thread per torch thread),
    torch.jit.load for TorchScript."""
    inputs = tuple(t.cpu() for t in inputs)
    if fmt == "onnx":
        ort = _require("onnxruntime")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = opts.inter_op_num_threads = torch.get_num_threads()
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        (out,) = session.run(None, {name: t.numpy() for name, t in zip(input_names, inputs)})
        return torch.from_numpy(out)
    with warnings.catch_warnings(), torch.no_grad(), open(path, "rb") as f:
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit's deprecation notice
        return torch.jit.load(f, map_location="cpu")(*inputs)


def check_export(
    model: LoadedModel, path, fmt: str, *, direction: str | None = None, batches=CHECK_BATCHES, seed: int = 0
) -> float:
    """max |file - PyTorch| over seeded inputs (`example_inputs`) of each batch size in `batches`,
    the PyTorch side through the API (`reference`). A file that fails to run on them, or gives
    outputs of another shape, is a UserError."""
    check_format(fmt)
    graph = sampling_graph(model, direction)
    worst = 0.0
    for n in batches:
        inputs = example_inputs(model, graph, n, seed)
        want = reference(model, graph, inputs, direction)
        try:
            got = run_file(path, fmt, graph.input_names, inputs)
        except Exception as e:  # onnxruntime and TorchScript raise their own error types
            first = (str(e).strip().splitlines() or [type(e).__name__])[0]
            raise UserError(
                f"the exported {fmt} file does not run on a batch of {n} ({first}); this generator cannot be "
                f"exported as {fmt} yet, try the other --format"
            ) from e
        if got.shape != want.shape:
            raise UserError(
                f"the exported {fmt} file gives {list(got.shape)} for a batch of {n}, PyTorch {list(want.shape)}"
            )
        worst = max(worst, float((got.float() - want).abs().max()))
    return worst


# --- both ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Exported:
    path: Path
    format: str
    inputs: dict[str, list]  # name -> shape, "N" for the batch dimension
    output: dict[str, list]
    max_diff: float  # max |file - PyTorch| on the check's inputs
    batches: tuple[int, ...]  # the check's batch sizes
    opset: int | None = None  # ONNX only

    def summary(self) -> str:
        """Two lines for the CLI: what was written, taking what, and how close it came to PyTorch."""

        def shapes(named: dict[str, list]) -> str:  # {"z": ["N", 16], "psi": []} -> "z [N, 16], psi []"
            return ", ".join(f"{name} [{', '.join(map(str, shape))}]" for name, shape in named.items())

        kind = f"ONNX opset {self.opset}" if self.opset else "TorchScript"
        return (
            f"wrote {self.path} ({kind}): inputs {shapes(self.inputs)}; output {shapes(self.output)}\n"
            f"checked on batches of {', '.join(map(str, self.batches))}: max |difference| from the PyTorch model "
            f"{self.max_diff:.2g}"
        )


def export(
    model: LoadedModel,
    path,
    fmt: str = "onnx",
    *,
    direction: str | None = None,
    opset: int | None = None,
    overwrite: bool = False,
    tolerance: float = TOLERANCE,
) -> Exported:
    """Write the sampling graph to `path` in format `fmt` and check it (`check_export`) before it takes
    `path`'s place: a file that does not run, or differs from PyTorch by more than `tolerance`, is a
    UserError and leaves `path` as it was. An existing `path` is kept unless `overwrite`."""
    check_format(fmt, opset)
    refuse_overwrite(path, overwrite=overwrite)
    graph = sampling_graph(model, direction)
    diff = {}

    def write_and_check(tmp: Path) -> None:
        _write(model, graph, tmp, fmt, opset)
        diff["max"] = check_export(model, tmp, fmt, direction=direction)
        if not diff["max"] <= tolerance:
            raise UserError(
                f"the exported {fmt} file differs from the PyTorch model by up to {diff['max']:.3g} "
                f"(more than {tolerance:g}); nothing was written to {path}"
            )

    atomic_write(path, write_and_check)
    inputs, output = graph.signature()
    return Exported(
        Path(path), fmt, inputs, output, diff["max"], CHECK_BATCHES, (opset or DEFAULT_OPSET) if fmt == "onnx" else None
    )


__all__ = [
    "CHECK_BATCHES",
    "DEFAULT_OPSET",
    "FORMATS",
    "Exported",
    "SamplingGraph",
    "check_export",
    "check_format",
    "example_inputs",
    "export",
    "export_onnx",
    "export_torchscript",
    "reference",
    "run_file",
    "sampling_graph",
]
