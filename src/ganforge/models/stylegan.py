"""StyleGAN2 (Karras et al. 2020, "Analyzing and Improving the Image Quality of StyleGAN"), sized for
small images (8 to 256 pixels, powers of two; the presets use 32).

    G = mapping + synthesis
      mapping     z -> pixel norm -> (concat pixel-normed class embedding) -> `mapping_layers` x
                  [equalised linear, lr multiplier 0.01, lrelu] -> w            (StyleGAN, Karras 2019, sec. 2)
                  w_avg: a running mean of w (a buffer), the centre of the truncation trick
      synthesis   learned constant [C, 4, 4] -> per resolution r = 4, 8, ..., R:
                  [up 2x] modulated conv 3x3 + noise + bias, lrelu   (one at 4x4, two per block above)
                  toRGB (modulated 1x1, no demodulation) added to the upsampled image so far
                  ("skip" generator, StyleGAN2 fig. 7b)
      ws          one w per modulated layer input, [N, num_ws, w_dim]; a block's toRGB shares its index
                  with the next block's first conv (as in the official code), so num_ws = 2 log2(R) - 2
    D = "resnet" discriminator (StyleGAN2 fig. 7c): fromRGB 1x1 at R -> residual blocks down to 4x4
        (two 3x3 convs, 2x down, a 1x1 skip, sum / sqrt 2) -> minibatch stddev -> conv 3x3 ->
        fc -> fc -> 1 logit (with class conditioning: a projection onto an embedding of y, Miyato &
        Koyama 2018, as StyleGAN2-ADA does)

Every weight is stored as N(0, 1) and multiplied by its He constant 1/sqrt(fan_in) in `forward`
(equalised learning rate, ProGAN, Karras et al. 2018, sec. 4.1), so Adam's per-parameter step is the
same relative change for every layer. Channels at resolution r: min(max_channels, width * R / r).
How G and D are *trained* (style mixing, lazy R1, path length) is in `ganforge.objectives.stylegan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganforge.errors import UserError
from ganforge.models.layers import MinibatchStdDev, MinibatchStdOptions
from ganforge.models.registry import register_family
from ganforge.objectives.stylegan import StyleGANObjective
from ganforge.schema import ModelConfig

LRELU_GAIN = math.sqrt(2.0)  # keeps activations' second moment through lrelu(0.2) (StyleGAN's def_gain)


def lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2) * LRELU_GAIN


def pixel_norm(x: Tensor, eps: float = 1e-8) -> Tensor:
    """x / RMS over features (ProGAN sec. 4.2); StyleGAN applies it to z before the mapping network."""
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


def upsample2x(x: Tensor) -> Tensor:
    """Bilinear 2x upsampling (for the skip images). With align_corners=False this is the separable
    [1, 3, 3, 1] / 4 FIR upsampling filter StyleGAN2 uses (Karras et al. 2020, appendix B)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def downsample2x(x: Tensor) -> Tensor:
    """2x2 box average (the residual shortcut of D's blocks)."""
    return F.avg_pool2d(x, 2)


def blur(x: Tensor, pad: tuple[int, int], gain: float = 1.0) -> Tensor:
    """The [1, 3, 3, 1] (x) [1, 3, 3, 1] low-pass filter, normalised to sum `gain`, applied per channel
    after padding (pad before, pad after) on both axes: StyleGAN2's anti-aliasing around every up- and
    downsampling convolution (Zhang 2019; Karras et al. 2020, appendix B)."""
    k = torch.tensor([1.0, 3.0, 3.0, 1.0], device=x.device, dtype=x.dtype)
    f = (k[:, None] * k[None, :]) * (gain / 64.0)  # [4, 4], sums to gain
    c = x.shape[1]
    x = F.pad(x, (pad[0], pad[1], pad[0], pad[1]))
    return F.conv2d(x, f.expand(c, 1, 4, 4), groups=c)  # depthwise


# --- equalised learning rate ----------------------------------------------------------------------
class EqualLinear(nn.Module):
    """y = x W^T * (lr_mul / sqrt(in)) + b * lr_mul, W stored ~ N(0, 1 / lr_mul^2) (ProGAN sec. 4.1;
    StyleGAN's lr multiplier: the mapping network uses 0.01, so its effective step is 100x smaller)."""

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        bias_init: float = 0.0,
        lr_mul: float = 1.0,
        activate: bool = False,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), float(bias_init) / lr_mul)) if bias else None
        self.scale = lr_mul / math.sqrt(in_features)  # the He constant, applied at run time
        self.lr_mul, self.activate = lr_mul, activate

    def forward(self, x: Tensor) -> Tensor:
        b = self.bias * self.lr_mul if self.bias is not None else None
        x = F.linear(x, self.weight * self.scale, b)
        return lrelu(x) if self.activate else x


class EqualConv2d(nn.Module):
    """Conv with weight [out, in, k, k] ~ N(0, 1) scaled by 1/sqrt(in k k) at run time; used by D.
    `down`: blur, then the conv with stride 2 (StyleGAN2's downsampling conv; a 3x3 kernel only)."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int, bias: bool = True, activate: bool = False, down: bool = False
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(out_ch)) if bias else None
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.padding, self.activate, self.down = kernel // 2, activate, down

    def forward(self, x: Tensor) -> Tensor:
        if self.down:  # [N, C, H, W] -> [N, C, H + 1, W + 1] -> H/2, W/2
            x = F.conv2d(blur(x, (2, 2)), self.weight * self.scale, self.bias, stride=2)
        else:
            x = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.padding)
        return lrelu(x) if self.activate else x


# --- the generator --------------------------------------------------------------------------------
def modulated_conv2d(x: Tensor, weight: Tensor, s: Tensor, demodulate: bool = True, up: bool = False) -> Tensor:
    """StyleGAN2's modulated convolution (sec. 2.2, eq. 1-3) without per-sample weights, the fast path
    on CPU (benchmarks/throughput.py times both): scale the input activations by the styles s [N, in],
    convolve with the shared weight [out, in, k, k], scale the outputs by the demodulation factors.
    With `up`, the convolution is transposed with stride 2 and followed by the [1, 3, 3, 1] blur (as the
    official conv2d_resample): a quarter of the cost of upsampling first and convolving after."""
    x = x * s.to(x.dtype)[:, :, None, None]  # modulate: [N, in, H, W]
    if up:  # [N, in, H, W] -> [N, out, 2H + 1, 2W + 1] -> 2H, 2W
        x = blur(F.conv_transpose2d(x, weight.transpose(0, 1), stride=2), (1, 1), gain=4.0)
    else:
        x = F.conv2d(x, weight, padding=weight.shape[-1] // 2)  # [N, out, H, W]
    if demodulate:
        # sum over in, k, k of (s_i w_oik)^2 for every sample and output channel: [N, out]
        d = (s.square() @ weight.square().sum(dim=(2, 3)).t() + 1e-8).rsqrt()
        x = x * d.to(x.dtype)[:, :, None, None]
    return x


def modulated_conv2d_reference(
    x: Tensor, weight: Tensor, s: Tensor, demodulate: bool = True, up: bool = False
) -> Tensor:
    """The same operation as the paper writes it (the official code's fused path): a weight per sample,
    w'_oik = s_i w_oik, demodulated to w''_oik = w'_oik / sqrt(sum_ik w'_oik^2 + eps), applied as one
    grouped convolution over the batch. The reference the fast path is tested against."""
    n, c_in, h, w_ = x.shape
    c_out, k = weight.shape[0], weight.shape[-1]
    wts = weight[None] * s[:, None, :, None, None]  # [N, out, in, k, k]
    if demodulate:
        wts = wts * (wts.square().sum(dim=(2, 3, 4), keepdim=True) + 1e-8).rsqrt()
    x = x.reshape(1, n * c_in, h, w_)  # the batch as groups
    if up:  # transposed weights are [in, out, k, k] per group
        y = F.conv_transpose2d(x, wts.transpose(1, 2).reshape(n * c_in, c_out, k, k), stride=2, groups=n)
        y = blur(y, (1, 1), gain=4.0)
    else:
        y = F.conv2d(x, wts.reshape(n * c_out, c_in, k, k), padding=k // 2, groups=n)
    return y.reshape(n, c_out, *y.shape[2:])


class ModulatedConv2d(nn.Module):
    """StyleGAN2 weight modulation / demodulation (sec. 2.2, eq. 1-3):

        s = A(w)                                 per-sample input-channel scales, A affine, bias 1
        w'_ijk = s_i * w_ijk                      modulate
        w''_ijk = w'_ijk / sqrt(sum_ik w'_ijk^2 + eps)   demodulate: unit expected output std

    computed by `modulated_conv2d` (no per-sample weights). `w_index` is which entry of ws
    [N, num_ws, w_dim] this layer reads (style mixing, truncation)."""

    def __init__(
        self,
        in_ch: int,
        out_ch: int,
        kernel: int,
        w_dim: int,
        demodulate: bool = True,
        up: bool = False,
        w_index: int = 0,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_ch, in_ch, kernel, kernel))
        self.affine = EqualLinear(w_dim, in_ch, bias_init=1.0)  # styles start at 1: the unmodulated conv
        self.scale = 1.0 / math.sqrt(in_ch * kernel * kernel)
        self.demodulate, self.up, self.w_index = demodulate, up, w_index

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        with torch.autocast(x.device.type, enabled=False):  # the styles: tiny products, fp32 without casts
            s = self.affine(w.float())
        return modulated_conv2d(x, self.weight * self.scale, s, self.demodulate, self.up)


class StyleLayer(nn.Module):
    """Modulated conv 3x3 -> + per-pixel noise times a learned strength (init 0) -> + bias -> lrelu.
    The noise image is drawn fresh per call ("random"), read from a fixed buffer ("const"; the mode in
    eval(), so sampling is a function of the seed alone) or left out ("none")."""

    def __init__(self, in_ch: int, out_ch: int, w_dim: int, resolution: int, up: bool, w_index: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, out_ch, 3, w_dim, up=up, w_index=w_index)
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.bias = nn.Parameter(torch.zeros(out_ch))
        gen = torch.Generator().manual_seed(1000 * resolution + w_index)  # fixed, not the training RNG
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution, generator=gen))

    def forward(self, x: Tensor, w: Tensor, noise_mode: str) -> Tensor:
        x = self.conv(x, w)  # [N, out, r, r]
        # noise and bias in x's dtype: an fp32 parameter would promote a bf16 activation to fp32 here
        strength = self.noise_strength.to(x.dtype)
        if noise_mode == "random":
            x = x + torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype) * strength
        elif noise_mode == "const":
            x = x + self.noise_const.to(x.dtype) * strength
        return lrelu(x + self.bias.to(x.dtype)[:, None, None])


class ToRGB(nn.Module):
    """Modulated 1x1 conv to image channels, without demodulation (StyleGAN2 fig. 7b), plus a bias."""

    def __init__(self, in_ch: int, channels: int, w_dim: int, w_index: int):
        super().__init__()
        self.conv = ModulatedConv2d(in_ch, channels, 1, w_dim, demodulate=False, w_index=w_index)
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x: Tensor, w: Tensor) -> Tensor:
        x = self.conv(x, w)
        return x + self.bias.to(x.dtype)[:, None, None]


def channel_plan(resolution: int, width: int, max_channels: int) -> dict[int, int]:
    """{r: channels} for r = 4, 8, ..., resolution: `width` at full resolution, doubling per halving."""
    if resolution < 8 or resolution > 256 or resolution & (resolution - 1):
        raise UserError(
            f"StyleGAN needs a power-of-two resolution from 8 to 256, not {resolution}; "
            "set data.resolution, e.g. data.resolution=32 for MNIST"
        )
    if width < 1 or max_channels < 1:
        raise UserError(f"StyleGAN widths must be >= 1 (got width {width}, model.style_max_channels {max_channels})")
    return {
        4 * 2**i: min(max_channels, width * resolution // (4 * 2**i)) for i in range(int(math.log2(resolution)) - 1)
    }


class MappingNetwork(nn.Module):
    """z [N, z_dim] (and labels y [N]) -> w [N, w_dim] (StyleGAN sec. 2; conditioning as StyleGAN2-ADA:
    a label embedding, pixel-normed, concatenated to the pixel-normed z)."""

    def __init__(
        self, z_dim: int, w_dim: int, layers: int, lr_mul: float, num_classes: int = 0, w_avg_beta: float = 0.995
    ):
        super().__init__()
        self.z_dim, self.w_dim, self.num_classes, self.w_avg_beta = z_dim, w_dim, num_classes, w_avg_beta
        self.embed = EqualLinear(num_classes, w_dim) if num_classes else None  # on one-hot labels
        dims = [z_dim + (w_dim if num_classes else 0)] + [w_dim] * layers
        self.net = nn.Sequential(*[EqualLinear(a, b, lr_mul=lr_mul, activate=True) for a, b in zip(dims, dims[1:])])
        self.register_buffer("w_avg", torch.zeros(w_dim))  # the truncation centre; follows training

    def forward(self, z: Tensor, y: Tensor | None = None) -> Tensor:
        with torch.autocast(z.device.type, enabled=False):  # small products: fp32, no casts (and w in fp32)
            return self._forward(z.float(), y)

    def _forward(self, z: Tensor, y: Tensor | None) -> Tensor:
        x = pixel_norm(z)
        if self.embed is not None:
            if y is None:
                raise ValueError("this StyleGAN is class-conditional: pass labels y")
            onehot = F.one_hot(y.long(), self.num_classes).to(z.dtype)  # [N, classes]
            x = torch.cat([x, pixel_norm(self.embed(onehot))], dim=1)  # [N, z_dim + w_dim]
        return self.net(x) if len(self.net) else x

    @torch.no_grad()
    def update_w_avg(self, w: Tensor) -> None:
        """w_avg <- lerp(mean of this batch's w, w_avg, beta) (StyleGAN2-ADA: beta 0.995 per step)."""
        self.w_avg.copy_(w.detach().float().mean(0).lerp(self.w_avg, self.w_avg_beta))


class SynthesisNetwork(nn.Module):
    """ws [N, num_ws, w_dim] -> images [N, C, R, R] (not squashed: the official code has no tanh)."""

    def __init__(self, w_dim: int, channels: int, resolution: int, width: int, max_channels: int):
        super().__init__()
        plan = channel_plan(resolution, width, max_channels)
        self.resolution, self.channels, self.w_dim = resolution, channels, w_dim
        self.const = nn.Parameter(torch.randn(plan[4], 4, 4))
        self.layers = nn.ModuleList()  # StyleLayers in order of use
        self.torgbs = nn.ModuleList()  # one per resolution
        idx = 0
        self.layers.append(StyleLayer(plan[4], plan[4], w_dim, 4, up=False, w_index=idx))
        self.torgbs.append(ToRGB(plan[4], channels, w_dim, w_index=idx + 1))
        idx += 1
        for r in list(plan)[1:]:
            self.layers.append(StyleLayer(plan[r // 2], plan[r], w_dim, r, up=True, w_index=idx))
            self.layers.append(StyleLayer(plan[r], plan[r], w_dim, r, up=False, w_index=idx + 1))
            self.torgbs.append(ToRGB(plan[r], channels, w_dim, w_index=idx + 2))
            idx += 2
        self.num_ws = idx + 1  # 2 log2(R) - 2

    def forward(self, ws: Tensor, noise_mode: str = "random") -> Tensor:
        if ws.ndim != 3 or ws.shape[1] != self.num_ws:
            raise ValueError(f"synthesis expects ws [N, {self.num_ws}, {self.w_dim}], got {list(ws.shape)}")
        x = self.const.unsqueeze(0).expand(ws.shape[0], -1, -1, -1)  # [N, C4, 4, 4]
        x = self.layers[0](x, ws[:, self.layers[0].conv.w_index], noise_mode)
        img = self.torgbs[0](x, ws[:, self.torgbs[0].conv.w_index])  # [N, C, 4, 4]
        for i, torgb in enumerate(self.torgbs[1:]):
            for layer in self.layers[1 + 2 * i : 3 + 2 * i]:
                x = layer(x, ws[:, layer.conv.w_index], noise_mode)  # [N, C_r, r, r]
            img = upsample2x(img) + torgb(x, ws[:, torgb.conv.w_index])  # skip architecture
        return img


class StyleGenerator(nn.Module):
    """G(z, y=None) -> images [N, C, R, R]; `mapping` and `synthesis` are usable on their own.

    forward's keyword options (all off by default, so G(z) is a plain generator):
      psi, cutoff   truncation: w <- w_avg + psi (w - w_avg) on the first `cutoff` ws (None: all)
      mixing        probability of style mixing: the ws from `crossover` on come from a second z
                    (StyleGAN sec. 3.1; one random crossover per batch, as in the official code)
      update_w_avg  fold this batch's w into the w_avg buffer (the training objective sets it)
      return_ws     also return the ws the synthesis network read, [N, num_ws, w_dim]
      noise_mode    random | const | none; None: random in train(), const in eval()
    In eval() the images are clamped to ganforge's [-1, 1]; training sees the raw synthesis output
    (the official networks have no output squashing either)."""

    def __init__(
        self,
        z_dim: int,
        w_dim: int,
        channels: int,
        resolution: int,
        width: int = 32,
        max_channels: int = 256,
        mapping_layers: int = 8,
        mapping_lr_mul: float = 0.01,
        num_classes: int = 0,
    ):
        super().__init__()
        self.z_dim, self.w_dim, self.num_classes = z_dim, w_dim, num_classes
        self.conditional = num_classes > 0
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers, mapping_lr_mul, num_classes)
        self.synthesis = SynthesisNetwork(w_dim, channels, resolution, width, max_channels)
        self.num_ws = self.synthesis.num_ws

    def truncate(self, w: Tensor, psi: float | Tensor = 1.0, cutoff: int | None = None) -> Tensor:
        """ws [N, num_ws, w_dim] (or w [N, w_dim]) pulled toward w_avg by psi on the first `cutoff` ws.
        psi may be a 0-dim tensor (an input of an exported graph, ganforge.inference.export): no branch
        on its value then, and lerp(w_avg, w, 1) is w exactly."""
        if not isinstance(psi, Tensor) and psi == 1.0:
            return w
        avg = self.mapping.w_avg.to(w.dtype)
        if w.ndim == 2:
            return avg.lerp(w, psi)
        out = w.clone()
        out[:, :cutoff] = avg.lerp(w[:, :cutoff], psi)
        return out

    def broadcast(self, w: Tensor) -> Tensor:
        """w [N, w_dim] -> ws [N, num_ws, w_dim], one copy per layer."""
        return w.unsqueeze(1).expand(-1, self.num_ws, -1)

    def mix(self, ws: Tensor, ws2: Tensor, crossover: int) -> Tensor:
        """Layers < crossover keep ws, layers >= crossover read ws2 (both [N, num_ws, w_dim])."""
        layer = torch.arange(self.num_ws, device=ws.device)[None, :, None]  # [1, num_ws, 1]
        return torch.where(layer < crossover, ws, ws2)

    def forward(
        self,
        z: Tensor,
        y: Tensor | None = None,
        *,
        psi: float = 1.0,
        cutoff: int | None = None,
        mixing: float = 0.0,
        update_w_avg: bool = False,
        return_ws: bool = False,
        noise_mode: str | None = None,
    ):
        if self.conditional and y is None:
            raise ValueError("this StyleGAN is class-conditional: call G(z, y) with labels y")
        y = y if self.conditional else None  # unconditional G ignores labels (eval passes them)
        w = self.mapping(z, y)  # [N, w_dim]
        if update_w_avg:
            self.mapping.update_w_avg(w)
        ws = self.broadcast(w)  # [N, num_ws, w_dim]
        if mixing > 0 and torch.rand(()) < mixing:
            crossover = int(torch.randint(1, self.num_ws, ()))
            ws = self.mix(ws, self.broadcast(self.mapping(torch.randn_like(z), y)), crossover)
        ws = self.truncate(ws, psi, cutoff)
        img = self.synthesis(ws, noise_mode or ("random" if self.training else "const"))
        if not self.training:
            img = img.clamp(-1, 1)
        return (img, ws) if return_ws else img


# --- the discriminator ----------------------------------------------------------------------------
class DBlock(nn.Module):
    """Residual D block (StyleGAN2 fig. 7c): conv 3x3, blur + conv 3x3 stride 2; skip: 2x2 average,
    1x1 conv without bias; (main + skip) / sqrt(2) keeps the variance."""

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.conv0 = EqualConv2d(in_ch, in_ch, 3, activate=True)
        self.conv1 = EqualConv2d(in_ch, out_ch, 3, activate=True, down=True)
        self.skip = EqualConv2d(in_ch, out_ch, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        return (self.skip(downsample2x(x)) + self.conv1(self.conv0(x))) / math.sqrt(2.0)


class StyleDiscriminator(nn.Module):
    """D(x, y=None) -> logits [N]."""

    def __init__(
        self,
        channels: int,
        resolution: int,
        width: int = 32,
        max_channels: int = 256,
        mbstd: int = 4,
        num_classes: int = 0,
    ):
        super().__init__()
        plan = channel_plan(resolution, width, max_channels)
        self.num_classes = num_classes
        self.from_rgb = EqualConv2d(channels, plan[resolution], 1, activate=True)
        rs = sorted(plan, reverse=True)  # R, R/2, ..., 4
        self.blocks = nn.Sequential(*[DBlock(plan[r], plan[r // 2]) for r in rs[:-1]])
        c4 = plan[4]
        self.mbstd = MinibatchStdDev(mbstd) if mbstd else None  # one extra channel (StyleGAN2: 1 feature)
        self.conv = EqualConv2d(c4 + (1 if mbstd else 0), c4, 3, activate=True)
        self.fc = EqualLinear(c4 * 16, c4, activate=True)
        # conditional: the output is a c4-dim vector projected onto an embedding of y, scaled by 1/sqrt(c4)
        self.out = EqualLinear(c4, c4 if num_classes else 1)
        self.embed = EqualLinear(num_classes, c4) if num_classes else None

    def forward(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        h = self.blocks(self.from_rgb(x))  # [N, C4, 4, 4]
        if self.mbstd is not None:
            h = self.mbstd(h)  # [N, C4 + 1, 4, 4]
        h = self.fc(self.conv(h).flatten(1))  # [N, C4]
        out = self.out(h)
        if self.embed is None:
            return out.flatten()  # [N]
        if y is None:
            raise ValueError("this StyleGAN discriminator is class-conditional: call D(x, y)")
        e = self.embed(F.one_hot(y.long(), self.num_classes).to(out.dtype))  # [N, C4]
        return (out * e).sum(1) / math.sqrt(out.shape[1])


@dataclass
class StyleGANConfig(MinibatchStdOptions, ModelConfig):
    can_condition: ClassVar[bool] = True
    family: str = "stylegan"
    z_dim: int = 100
    w_dim: int = 128  # size of the intermediate latent w (Karras et al. 2020: 512)
    mapping_layers: int = 8  # depth of the mapping MLP z -> w (Karras et al. 2019: 8)
    mapping_lr_mul: float = 0.01  # learning-rate multiplier of the mapping network (Karras et al. 2019: 0.01)
    g_width: int = 64  # channels at full resolution, doubling per halving up to style_max_channels
    d_width: int = 64
    style_max_channels: int = 128  # cap on channels per resolution (paper: 512)
    style_conditional: bool = (
        False  # class-conditional (label embedding joined to z in the mapping network, projection D)
    )
    mbstd: int = 4  # minibatch-stddev group size in D (StyleGAN2: 4); 0: off

    @property
    def conditional(self) -> bool:
        return self.style_conditional

    def validate(self, cfg) -> None:
        if self.w_dim < 1 or self.mapping_layers < 0 or self.mapping_lr_mul <= 0 or self.style_max_channels < 1:
            raise UserError(
                f"model.w_dim={self.w_dim}, mapping_layers={self.mapping_layers}, "
                f"mapping_lr_mul={self.mapping_lr_mul}, style_max_channels={self.style_max_channels}: "
                "need w_dim >= 1, mapping_layers >= 0, mapping_lr_mul > 0 and style_max_channels >= 1"
            )
        self.check_mbstd()

    @classmethod
    def from_legacy(cls, values: dict) -> dict:
        """Configs saved before this dataclass existed wrote mbstd 0 for the default group of 4."""
        return {**values, "mbstd": values.get("mbstd") or 4}


@register_family("stylegan", StyleGANConfig, StyleGANObjective, truncation="w", styles=True)
def build_stylegan(cfg: StyleGANConfig, shape: tuple[int, ...], num_classes: int = 0) -> dict[str, nn.Module]:
    """StyleGAN2 (Karras et al. 2020): mapping network, modulated convs, noise, skip G, residual D"""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise UserError(f"StyleGAN needs square images [C, H, W], got data of shape {list(shape)}")
    c, res = shape[0], shape[1]
    classes = num_classes if cfg.style_conditional else 0
    if cfg.style_conditional and num_classes < 2:
        raise UserError("model.style_conditional=true needs a labelled data set (at least 2 classes)")
    return {
        "G": StyleGenerator(
            cfg.z_dim,
            cfg.w_dim,
            c,
            res,
            cfg.g_width,
            cfg.style_max_channels,
            cfg.mapping_layers,
            cfg.mapping_lr_mul,
            classes,
        ),
        "D": StyleDiscriminator(c, res, cfg.d_width, cfg.style_max_channels, cfg.mbstd, classes),
    }
