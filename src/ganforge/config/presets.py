"""The library's named presets: `ganforge train NAME`. Each is a nested dict of overrides on the
defaults of the shared sections and of the chosen family's own `model` and `loss` sections.
Presets used only by a benchmark live beside it in benchmarks/."""

from __future__ import annotations

from ganforge.registry import Registry

# --- name -> nested dict of overrides on the defaults (the chosen family's own where it has them) ----
PRESETS: Registry[dict] = Registry("preset")

PRESETS.register(
    "quickstart",
    {
        "data": {"name": "mnist", "split": "test"},  # the 10,000 digits embedded in the package
        "model": {"family": "dcgan", "z_dim": 64, "g_width": 32, "d_width": 32},
        # Adam at 2e-3 (beta1 0.5): 1.5 CPU-minutes gave FID 190 on 2,000 samples, against 229 at 1e-3,
        # 306 at 5e-4 and 423 at DCGAN's 2e-4 (docs/benchmarks/time_to_quality.md); EMA of G as every preset
        "g_optim": {"lr": 2e-3},
        "d_optim": {"lr": 2e-3},
        "train": {
            "steps": 2400,
            "batch_size": 64,
            "sample_every": 800,
            "ckpt_every": 800,
            "log_every": 50,
        },
    },
    doc="DCGAN on the embedded MNIST test split: about 1.5 CPU-minutes, recognisable digits",
)
PRESETS.register(
    "dcgan-mnist",
    {
        "data": {"name": "mnist"},
        "model": {"family": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
        # Adam 2e-3 (beta1 0.5) rather than the paper's 2e-4: after 10 CPU-minutes (one thread) FID 103.9,
        # against 280.1 for the plain 2e-4 recipe (docs/benchmarks/time_to_quality.md) and 127.4 for this
        # preset at 1e-3 (a run of 2026-12-02 whose record was lost); the EMA of G smooths the larger steps
        "g_optim": {"lr": 2e-3},
        "d_optim": {"lr": 2e-3},
        "train": {"steps": 10000},
    },
    doc="DCGAN (Radford et al. 2016) on the MNIST training set, 28x28, Adam at 2e-3",
)
PRESETS.register(
    "dcgan-fashion",
    {
        "data": {"name": "fashion-mnist"},
        "model": {"family": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
        "train": {"steps": 10000},
    },
    doc="DCGAN on Fashion-MNIST, 28x28",
)
PRESETS.register(
    "gan-mnist",
    {
        "data": {"name": "mnist"},
        "model": {"family": "mlp", "z_dim": 100, "hidden": 512, "depth": 3},
        "train": {"steps": 10000},
    },
    doc="Vanilla GAN (MLP G and D, Goodfellow et al. 2014) on flattened MNIST",
)
PRESETS.register(
    "ring8-gan",
    {
        "data": {"name": "ring8"},
        "model": {"family": "mlp", "z_dim": 2, "hidden": 128, "depth": 3},
        "g_optim": {"lr": 1e-3},
        "d_optim": {"lr": 1e-3},
        "train": {"steps": 2000, "batch_size": 256, "ema": None, "sample_every": 500},
    },
    doc="Vanilla GAN on 8 Gaussians on a ring (radius 1, sigma 0.01)",
)
PRESETS.register(
    "grid25-gan",
    {
        "data": {"name": "grid25"},
        "model": {"family": "mlp", "z_dim": 2, "hidden": 128, "depth": 3},
        "g_optim": {"lr": 1e-3},
        "d_optim": {"lr": 1e-3},
        "train": {"steps": 2000, "batch_size": 256, "ema": None, "sample_every": 500},
    },
    doc="Vanilla GAN on 25 Gaussians on the grid {-4,-2,0,2,4}^2 (sigma 0.05)",
)

# --- image-to-image translation: MNIST edges <-> digits at 32x32, and the papers' settings for image folders
_PIX2PIX_EDGES = {
    "data": {"name": "edges2digits"},
    "model": {"family": "pix2pix", "g_width": 32, "d_width": 32, "g_norm": "batch", "d_norm": "batch"},
    "loss": {"name": "nonsaturating", "adv_weight": 1.0, "l1_weight": 100.0},
    "train": {"steps": 600, "batch_size": 32, "ema": None, "log_every": 25, "sample_every": 200, "ckpt_every": 200},
}
PRESETS.register(
    "pix2pix-edges",
    _PIX2PIX_EDGES,
    doc="pix2pix (Isola et al. 2017) on MNIST edges -> digits, 32x32; about 5 CPU-minutes",
)
PRESETS.register(
    "pix2pix-edges-l1",
    {**_PIX2PIX_EDGES, "loss": {"adv_weight": 0.0, "l1_weight": 100.0}},
    doc="The pix2pix U-Net trained with L1 alone (no discriminator): the baseline for pix2pix-edges",
)
PRESETS.register(
    "cyclegan-edges",
    {
        "data": {"name": "edges2digits-unpaired"},
        "model": {
            "family": "cyclegan",
            "g_width": 16,
            "d_width": 16,
            "resnet_blocks": 6,
            "g_norm": "instance",
            "d_norm": "instance",
        },
        # LOSSES["lsgan"] halves the squares (Mao et al.); 2.0 gives Zhu et al.'s E[(D(G(a)) - 1)^2] beside lambda=10
        "loss": {"name": "lsgan", "adv_weight": 2.0, "cycle_weight": 10.0, "identity_weight": 0.5},
        "train": {
            "steps": 400,
            "batch_size": 16,
            "ema": None,
            "pool_size": 50,
            "lr_decay_start": 0.5,
            "log_every": 25,
            "sample_every": 100,
            "ckpt_every": 100,
        },
    },
    doc="CycleGAN (Zhu et al. 2017) on unpaired MNIST edges / digits (disjoint halves), 32x32; about 5 CPU-minutes",
)
PRESETS.register(
    "pix2pix-folder",
    {
        "data": {"name": "paired-folder", "resolution": 256, "load_size": 286, "flip": True},
        "model": {"family": "pix2pix", "g_width": 64, "d_width": 64, "g_norm": "batch", "d_norm": "batch"},
        "loss": {"name": "nonsaturating", "l1_weight": 100.0},
        "train": {"steps": 80000, "batch_size": 1, "ema": None, "sample_every": 2000, "ckpt_every": 2000},
    },
    doc="pix2pix at 256x256 on side-by-side A|B images (data.root=...): the paper's settings (batch 1, jitter 286->256)",
)
PRESETS.register(
    "cyclegan-folder",
    {
        "data": {"name": "unpaired-folder", "resolution": 256, "load_size": 286, "flip": True},
        "model": {
            "family": "cyclegan",
            "g_width": 64,
            "d_width": 64,
            "resnet_blocks": 9,
            "g_norm": "instance",
            "d_norm": "instance",
        },
        "loss": {"name": "lsgan", "adv_weight": 2.0, "cycle_weight": 10.0, "identity_weight": 0.5},
        "train": {
            "steps": 200000,
            "batch_size": 1,
            "ema": None,
            "pool_size": 50,
            "lr_decay_start": 0.5,
            "sample_every": 2000,
            "ckpt_every": 2000,
        },
    },
    doc="CycleGAN at 256x256 on ROOT/trainA + ROOT/trainB (data.root=...): the paper's settings, lr decay over the second half",
)
PRESETS.register(
    "wgan-mnist",
    {
        "data": {"name": "mnist"},
        "model": {"family": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
        "loss": {"name": "wasserstein", "clip": 0.01},
        "g_optim": {"name": "rmsprop", "lr": 5e-5},
        "d_optim": {"name": "rmsprop", "lr": 5e-5},
        "train": {"steps": 10000, "d_steps": 5},
    },
    doc="WGAN (Arjovsky et al. 2017): DCGAN critic, clipping c=0.01, RMSprop 5e-5, n_critic 5",
)
PRESETS.register(
    "wgan-gp-mnist",
    {
        "data": {"name": "mnist"},
        "model": {"family": "dcgan", "z_dim": 100, "g_width": 64, "d_width": 64, "d_norm": "none"},
        "loss": {"name": "wasserstein", "gp": 10.0},
        "g_optim": {"lr": 1e-4, "beta1": 0.0, "beta2": 0.9},
        "d_optim": {"lr": 1e-4, "beta1": 0.0, "beta2": 0.9},
        "train": {"steps": 10000, "d_steps": 5},
    },
    doc="WGAN-GP (Gulrajani et al. 2017): DCGAN critic without BatchNorm, lambda 10, Adam 1e-4 (0, 0.9), n_critic 5",
)
PRESETS.register(
    "sngan-mnist",
    {
        "data": {"name": "mnist", "resolution": 32},
        "model": {"family": "resnet", "z_dim": 128, "g_width": 64, "d_width": 64},
        "loss": {"name": "hinge"},
        "g_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.9},
        "d_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.9},
        "train": {"steps": 10000, "d_steps": 5, "batch_size": 64},
    },
    doc="SNGAN (Miyato et al. 2018): ResNet G/D, spectral norm, hinge loss, n_dis 5, on MNIST at 32x32",
)


# --- class-conditional generation, BigGAN, augmentation for small data -----------------------------
def _cdcgan_mnist(cond_g: str, cond_d: str, **over: dict) -> dict:
    """Class-conditional DCGAN networks (widths 64) on the MNIST training set, y joined as the options say."""
    model = {"family": "cdcgan", "z_dim": 100, "g_width": 64, "d_width": 64, "cond_g": cond_g, "cond_d": cond_d}
    return {"data": {"name": "mnist"}, "model": model, "train": {"steps": 10000}, **over}


PRESETS.register(
    "cgan-mnist",
    _cdcgan_mnist("concat", "concat"),
    doc="Conditional GAN (Mirza & Osindero 2014) on DCGAN networks: label embedding joined to z and to D's input",
)
PRESETS.register(
    "cdcgan-mnist",
    _cdcgan_mnist("cbn", "projection"),
    doc="Conditional DCGAN: class-conditional BatchNorm in G, a projection discriminator (Miyato & Koyama 2018)",
)
PRESETS.register(
    "acgan-mnist",
    _cdcgan_mnist("concat", "acgan", loss={"aux_weight": 1.0}),
    doc="AC-GAN (Odena et al. 2017) on DCGAN networks: D also classifies real and fake images",
)
PRESETS.register(
    "sngan-proj-mnist",
    {
        "data": {"name": "mnist", "resolution": 32},
        "model": {
            "family": "cresnet",
            "z_dim": 128,
            "g_width": 64,
            "d_width": 64,
            "cond_g": "cbn",
            "cond_d": "projection",
        },
        "loss": {"name": "hinge"},
        "g_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.9},
        "d_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.9},
        "train": {"steps": 10000, "d_steps": 5},
    },
    doc="cGAN with a projection discriminator (Miyato & Koyama 2018): SNGAN ResNet, conditional BN in G, hinge",
)
PRESETS.register(
    "biggan-mnist",
    {
        "data": {"name": "mnist", "resolution": 32},
        "model": {"family": "biggan", "z_dim": 120, "g_width": 32, "d_width": 32, "embed_dim": 128, "g_sn": True},
        "loss": {"name": "hinge", "ortho": 1e-4},
        "g_optim": {"lr": 5e-5, "beta1": 0.0, "beta2": 0.999},
        "d_optim": {"lr": 2e-4, "beta1": 0.0, "beta2": 0.999},
        "train": {"steps": 10000, "d_steps": 4, "ema": 0.9999},
    },
    doc="BigGAN (Brock et al. 2019) at 32x32: shared embedding, hierarchical z, attention, SN in G and D, ortho reg",
)
PRESETS.register(
    "cdcgan-fashion-ada",
    {
        "data": {"name": "fashion-mnist", "limit": 6000},
        "model": {"family": "cdcgan", "z_dim": 100, "g_width": 64, "d_width": 64},
        "train": {"steps": 10000, "augment": "ada"},
    },
    doc="Conditional DCGAN on 10% of Fashion-MNIST with adaptive augmentation (ADA, Karras et al. 2020)",
)


# --- StyleGAN2 at 32x32 ---------------------------------------------------------------------------
_STYLEGAN_32 = {
    # widths 16 at 32 px (doubling to 128 at 4x4): about 0.6 CPU-s per step at batch 32 on one core
    "model": {
        "family": "stylegan",
        "z_dim": 128,
        "w_dim": 128,
        "mapping_layers": 8,
        "g_width": 16,
        "d_width": 16,
        "style_max_channels": 128,
    },
    # lazy R1 every 16 D steps; gamma from StyleGAN2-ADA's heuristic 0.0002 * res^2 / batch = 0.0064, rounded up
    "loss": {
        "name": "nonsaturating",
        "r1": 0.01,
        "reg_interval": 16,
        "style_mixing": 0.9,
        "pl_weight": 2.0,
        "pl_interval": 4,
    },
    # Adam as the paper: lr 0.0025, betas (0, 0.99)
    "g_optim": {"lr": 0.0025, "beta1": 0.0, "beta2": 0.99},
    "d_optim": {"lr": 0.0025, "beta1": 0.0, "beta2": 0.99},
    "train": {"steps": 20000, "batch_size": 32},
}
PRESETS.register(
    "stylegan-mnist",
    {**_STYLEGAN_32, "data": {"name": "mnist", "resolution": 32}},
    doc="StyleGAN2 (Karras et al. 2020) on MNIST at 32x32: mapping net, modulated convs, lazy R1, path length",
)
PRESETS.register(
    "stylegan-fashion",
    {**_STYLEGAN_32, "data": {"name": "fashion-mnist", "resolution": 32}},
    doc="StyleGAN2 (Karras et al. 2020) on Fashion-MNIST at 32x32",
)

# --- tables: imputation (GAIN) and synthesis (CTGAN); data.path=FILE.csv names the table ----------------
PRESETS.register(
    "gain",
    {
        "data": {"name": "table"},
        "model": {"family": "gain"},  # hidden = the number of columns, as their code
        "loss": {"alpha": 100.0, "hint_rate": 0.9},  # their code's values
        # their code: TensorFlow's Adam defaults (lr 0.001, betas 0.9 / 0.999), batch 128, 10,000 iterations
        "g_optim": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999},
        "d_optim": {"lr": 1e-3, "beta1": 0.9, "beta2": 0.999},
        "train": {"steps": 10000, "batch_size": 128, "ema": None, "log_every": 500, "sample_every": 0, "ckpt_every": 0},
    },
    doc="GAIN (Yoon et al. 2018): impute the missing cells of data.path=TABLE.csv, trained on its observed cells",
)
PRESETS.register(
    "gain-drop",
    {
        **PRESETS.get("gain"),
        "model": {"family": "gain", "hidden": 64},
        "loss": {"alpha": 100.0, "hint_rate": 0.9, "drop": 0.2},
    },
    doc="GAIN with ganforge's loss.drop=0.2 (observed cells hidden and scored) and 64 hidden units: "
    "lower RMSE than the paper setting in docs/benchmarks/tabular.md",
)
_CTGAN = {
    "data": {"name": "table-modes"},
    "model": {"family": "ctgan", "z_dim": 128, "hidden": 256, "depth": 2, "pack": 10},
    # CTGAN: Adam lr 2e-4, betas (0.5, 0.9), weight decay 1e-6, batches of 500
    "g_optim": {"lr": 2e-4, "beta1": 0.5, "beta2": 0.9, "weight_decay": 1e-6},
    "d_optim": {"lr": 2e-4, "beta1": 0.5, "beta2": 0.9, "weight_decay": 1e-6},
    # fp32: these small MLPs take as many steps per CPU-second in fp32 as under bf16 autocast (4,150-4,270
    # against 4,000-5,000 in 180 CPU-s), and the 3 seeds scored higher (docs/benchmarks/tabular.md)
    "train": {
        "steps": 3000,
        "batch_size": 500,
        "ema": None,
        "precision": "32",
        "log_every": 100,
        "sample_every": 0,
        "ckpt_every": 1000,
    },
}
PRESETS.register(
    "ctgan",
    _CTGAN,
    doc="CTGAN (Xu et al. 2019): synthetic rows like data.path=TABLE.csv (mode-specific normalisation, PacGAN, WGAN-GP)",
)
PRESETS.register(
    "ctgan-adult",
    {**_CTGAN, "data": {"name": "table-modes", "path": "tables/adult.csv", "holdout": 0.2}},
    doc="CTGAN on UCI Adult (tables/adult.csv under data.root or $GANFORGE_DATA), 20% of the rows held out",
)
PRESETS.register(
    "ganomaly-mnist",
    {
        # digit 0 is the anomaly: the detector learns the other nine; choose another with data.exclude_classes=[d]
        "data": {"name": "mnist", "resolution": 32, "exclude_classes": [0]},
        "model": {"family": "ganomaly", "z_dim": 100, "g_width": 64, "d_width": 64},  # the paper's sizes
        "train": {"steps": 5000, "batch_size": 64, "sample_every": 1000, "ckpt_every": 1000},
    },
    doc="GANomaly (Akcay et al. 2018) anomaly detector on MNIST at 32x32 with digit 0 held out; then 'ganforge detect'",
)

# --- super-resolution x4 (Ledig et al. 2017), sized for a CPU: 96 px crops (24 px inputs), batch 16 -----
# G: 32 channels, 8 residual blocks without batch norm (EDSR's finding), 3x3 head and tail, plus the
# bicubic upscaling of its input (it learns the residual): ~0.35 CPU-s a step on one thread. L1 (faster
# to converge than MSE, Lim et al. 2017), Adam beta1 0.9, lr constant for half the run, then linearly to 0.
_SR_MODEL = {
    "family": "srgan",
    "scale": 4,
    "g_width": 32,
    "resnet_blocks": 8,
    "norm": "none",
    "head_kernel": 3,
    "bicubic_skip": True,
}
PRESETS.register(
    "srresnet-photos",
    {
        "data": {
            "name": "photos-sr",
            "resolution": 96,
            "crops": 8192,
        },  # bsd68 + sun-hays80 under $GANFORGE_DATA/photos
        "model": {**_SR_MODEL, "stage": "srresnet"},
        "loss": {"content": "l1"},
        "g_optim": {"lr": 5e-4, "beta1": 0.9, "beta2": 0.999},
        "train": {
            "steps": 10000,
            "batch_size": 16,
            "ema": 0.999,
            "lr_decay_start": 0.5,
            "log_every": 100,
            "sample_every": 1000,
            "ckpt_every": 1000,
        },
    },
    doc="SRResNet x4 (Ledig et al. 2017) on photo crops (bsd68 + sun-hays80): content loss only; ~1 CPU-hour",
)
PRESETS.register(
    "srgan-photos",
    {
        "data": {"name": "photos-sr", "resolution": 96, "crops": 8192},
        # model.init_from=RUN: the srresnet-photos run G starts from (Ledig et al.)
        "model": {**_SR_MODEL, "stage": "srgan", "discriminator": "vgg", "d_width": 32},
        "loss": {
            "name": "nonsaturating",
            "content": "l1",
            "content_weight": 1.0,
            "perceptual_weight": 0.1,
            "adv_weight": 5e-3,
            "feature_net": "vgg19-random",
            "feature_layer": "conv5_4",
            "feature_width": 0.25,
        },
        "g_optim": {"lr": 1e-4, "beta1": 0.9, "beta2": 0.999},
        "d_optim": {"lr": 1e-4, "beta1": 0.9, "beta2": 0.999},
        "train": {
            "steps": 5000,
            "batch_size": 16,
            "ema": 0.999,
            "log_every": 100,
            "sample_every": 500,
            "ckpt_every": 500,
        },
    },
    doc="SRGAN x4 (Ledig et al. 2017): G from an SRResNet run (model.init_from=RUN) + VGG D, content + perceptual + adversarial",
)
PRESETS.register(
    "context-encoder-mnist",
    {
        # MNIST at 32 px as the library's other MNIST-32 presets make it (resized; the padded digits are
        # data.name=mnist32, where the hole covers more of the digit: 76% vs 86% lenet accuracy after 110 CPU-s)
        "data": {"name": "mnist", "resolution": 32},
        # a quarter of the paper's 128 px network: width 32 (0.15 CPU-s a step at batch 64, one thread)
        "model": {"family": "context-encoder", "g_width": 32, "d_width": 32, "bottleneck": "channel-fc"},
        "loss": {"mask": "center", "hole": 0.5},  # L2 0.999 + adversarial 0.001: the paper's (the family's defaults)
        "train": {"steps": 6000, "batch_size": 64, "ema": None, "sample_every": 1000, "ckpt_every": 1000},
    },
    doc="Context encoder (Pathak et al. 2016) filling a centre 16x16 hole in 32 px MNIST digits; about 15 CPU-minutes",
)
PRESETS.register(
    "inpaint-photos",
    {
        "data": {"name": "photo-crops"},  # 64 px crops of photos/bsd68 + sun-hays80 under data.root or $GANFORGE_DATA
        "model": {"family": "inpaint-gan", "g_width": 16, "d_width": 32, "d_layers": 4, "gated": True},
        "loss": {"name": "hinge", "mask": "box", "coverage": 0.25, "rec": "l1", "adv_weight": 0.01},
        # DeepFill v2's Adam betas (0.5, 0.999) at 5x its lr 1e-4: after 220 steps (110 CPU-s) hole PSNR on
        # held-out set14 crops was 15.7 dB at 5e-4 against 14.0 dB at 1e-4; a CPU budget buys few steps
        "g_optim": {"lr": 5e-4, "beta1": 0.5, "beta2": 0.999},
        "d_optim": {"lr": 5e-4, "beta1": 0.5, "beta2": 0.999},
        "train": {"steps": 7000, "batch_size": 16, "sample_every": 1000, "ckpt_every": 1000},
    },
    doc="Masked-image GAN (gated convs, SN-PatchGAN; Yu et al. 2019) on 64 px photo crops, random boxes of 25%; about 60 CPU-minutes",
)
# --- text-to-image and attribute editing (StackGAN, Age-cGAN) ---------------------------------------
PRESETS.register(
    "stackgan-mnist",
    {
        "data": {"name": "mnist-captions", "resolution": 32},
        "model": {"family": "stackgan", "stage": 1, "z_dim": 64, "c_dim": 32, "g_width": 32, "d_width": 32},
        "train": {"steps": 3000, "batch_size": 64, "sample_every": 500, "ckpt_every": 500},
    },
    # stage II (32x32) on this run: ganforge train stackgan-mnist model.stage=2 model.init_from=RUN --out RUN2
    doc="StackGAN (Zhang et al. 2017) stage I on captioned MNIST ('a thick, slanted seven'), 16x16; stage II: model.stage=2",
)
PRESETS.register(
    "agecgan-mnist",
    {
        "data": {"name": "mnist-thickness"},
        "model": {"family": "agecgan", "z_dim": 32, "g_width": 32, "d_width": 32, "e_width": 32},
        "train": {"steps": 3000, "batch_size": 64, "sample_every": 500, "ckpt_every": 500},
    },
    doc="Age-cGAN (Antipov et al. 2017) on MNIST with the stroke-thickness bucket as the 'age'; then 'ganforge age'",
)
