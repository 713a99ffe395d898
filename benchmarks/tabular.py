"""Tables: GAIN imputation against scikit-learn's imputers, and the CTGAN-style synthesiser against the
`ctgan` package (PyPI, a benchmark-only dependency: `pip install ganforge[bench]`), on one thread,
CPU budgets in process CPU-seconds (`time.process_time`, all threads).

    impute   letter (20,000 x 16), spam (4,601 x 57), breast cancer (scikit-learn's WDBC, 569 x 30):
             20% MCAR masks, seeds 0..4, every method on the same masked table (transductive, as the GAIN
             paper's code: each method fills the table it is given). RMSE over the missing cells only, on
             values min-max normalised by the complete table's columns (GAIN's rmse_loss).
             Peers: column mean; IterativeImputer (MICE, BayesianRidge, 10 rounds); a MissForest-style
             IterativeImputer with a random forest; KNNImputer (k = 5).
    synth    UCI Adult (30,162 rows, 14 columns + income): one seeded 80/20 train/test split; ganforge's
             ctgan family and the ctgan package each trained on the train rows for the same CPU budget
             (data transforms included), then as many synthetic rows as the train split has. Machine-
             learning efficacy (logistic regression, decision tree, random forest, MLP trained on the
             synthetic rows, tested on the real test rows: accuracy, F1 of >50K), column shapes (1 - KS
             statistic for numeric columns, 1 - total variation distance for categorical ones, averaged)
             and the mean absolute difference of the numeric columns' pairwise Pearson correlations.
    report   -> docs/benchmarks/tabular.md

    export GANFORGE_DATA=../shared/data OMP_NUM_THREADS=1
    python benchmarks/tabular.py impute [--data letter spam breast] [--seeds 5] [--gain key=value ...] [--tag NAME]
    python benchmarks/tabular.py synth [--seeds 3] [--budget 180] [--tag NAME]
    python benchmarks/tabular.py report
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).parent))
from _machine import QUIET_RUN, describe  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results" / "tabular.jsonl"
OUT_MD = REPO / "docs" / "benchmarks" / "tabular.md"
DATA = Path(os.environ.get("GANFORGE_DATA", REPO.parent / "shared" / "data")) / "tables"

# GAIN, Yoon et al. 2018, Table 2 (20% MCAR; mean +- std) -- their figures, not ours
PAPER_GAIN = {"letter": (0.1198, 0.0005), "spam": (0.0513, 0.0016), "breast": (0.0546, 0.0006)}
GAIN_RUN = [*QUIET_RUN, "train.log_every=1000"]


def log(record: dict) -> None:
    record["load1"] = round(os.getloadavg()[0], 2)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with open(RESULTS, "a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record), flush=True)


# --- imputation ---------------------------------------------------------------------------------------
def load_complete(name: str) -> pd.DataFrame:
    if name == "breast":
        from sklearn.datasets import load_breast_cancer

        return load_breast_cancer(as_frame=True).data
    return pd.read_csv(DATA / f"{name}.csv")


def mask(shape: tuple[int, int], rate: float, seed: int, kind: str = "mcar", x: np.ndarray | None = None) -> np.ndarray:
    """True where a cell is removed. mcar: each cell with probability `rate`. mar: the first column stays
    whole; a cell of another column goes missing with a probability rising with the first column's
    value (logistic, mean `rate`). mnar: a cell goes missing with a probability rising with its own value."""
    rng = np.random.default_rng(seed)
    if kind == "mcar":
        return rng.random(shape) < rate
    z = (x - x.mean(0)) / (x.std(0) + 1e-9)
    if kind == "mar":
        logit = np.repeat(z[:, :1], shape[1], 1)
    elif kind == "mnar":
        logit = z
    else:
        raise ValueError(kind)
    shift = np.log(rate / (1 - rate))
    p = 1 / (1 + np.exp(-(2 * logit + shift)))
    p *= rate / p.mean()
    m = rng.random(shape) < p
    if kind == "mar":
        m[:, 0] = False
    return m


def rmse(true: np.ndarray, imputed: np.ndarray, missing: np.ndarray) -> float:
    """GAIN's rmse_loss: min-max normalise both by the complete table, RMSE over the missing cells."""
    lo, hi = true.min(0), true.max(0)
    scale = hi - lo + 1e-6
    t, i = (true - lo) / scale, (imputed - lo) / scale
    return float(np.sqrt(((t - i) ** 2 * missing).sum() / missing.sum()))


def gain_impute(frame: pd.DataFrame, seed: int, overrides: list[str]) -> tuple[np.ndarray, dict]:
    from ganforge.training.tables import train_table

    with tempfile.TemporaryDirectory() as tmp:
        model = train_table(frame, "gain", Path(tmp) / "run", [*GAIN_RUN, f"train.seed={seed}", *overrides])
        filled = model.impute(frame, seed=seed)
    return filled.to_numpy(dtype=np.float64), {"steps": model.step}


def peers(seed: int, rows: int):
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.experimental import enable_iterative_imputer  # noqa: F401
    from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
    from sklearn.linear_model import BayesianRidge

    return {
        "mean": SimpleImputer(strategy="mean"),
        "mice": IterativeImputer(estimator=BayesianRidge(), max_iter=10, random_state=seed),
        "missforest": IterativeImputer(
            estimator=RandomForestRegressor(
                n_estimators=20, max_features="sqrt", min_samples_leaf=1, n_jobs=1, random_state=seed
            ),
            max_iter=5,
            random_state=seed,
        ),
        "knn": KNNImputer(n_neighbors=5),
    }


def run_impute(args) -> None:
    from sklearn.preprocessing import MinMaxScaler

    torch.set_num_threads(1)
    overrides = list(args.gain or [])
    for name in args.data:
        full = load_complete(name)
        for seed in range(args.seeds):
            x = full.to_numpy(dtype=np.float64)
            miss = mask(x.shape, args.rate, seed, args.mask, x)
            frame = full.mask(miss)  # NaN where removed
            base = {"kind": "impute", "data": name, "seed": seed, "mask": args.mask, "rate": args.rate, "tag": args.tag}
            methods = args.methods
            for method in methods:
                t0 = time.process_time()
                info: dict = {}
                sub_rows = None
                if method == "gain":
                    imputed, info = gain_impute(frame, seed, overrides)
                    truth, m = x, miss
                else:
                    est = peers(seed, len(x))[method]
                    truth, m, inp = x, miss, frame.to_numpy(dtype=np.float64)
                    if method == "missforest" and len(x) > args.forest_rows:  # as the author: a subset
                        sub_rows = args.forest_rows
                        truth, m, inp = x[:sub_rows], miss[:sub_rows], inp[:sub_rows]
                    scaler = MinMaxScaler()  # every peer sees columns in [0, 1] (KNN's distances need it)
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        imputed = scaler.inverse_transform(est.fit_transform(scaler.fit_transform(inp)))
                cpu = time.process_time() - t0
                record = {**base, "method": method, "rmse": rmse(truth, imputed, m), "cpu_s": round(cpu, 1), **info}
                if method == "gain":
                    record["gain_overrides"] = overrides
                if sub_rows:
                    record["rows"] = sub_rows
                log(record)


# --- synthesis ----------------------------------------------------------------------------------------
TARGET = "income"
POSITIVE = ">50K"


def adult_split(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    from ganforge.data.tables import split_rows

    frame = pd.read_csv(DATA / "adult.csv", dtype=str, keep_default_na=False)
    for c in ("age", "fnlwgt", "education_num", "capital_gain", "capital_loss", "hr_per_week"):
        frame[c] = frame[c].astype(np.int64)
    train, test = split_rows(len(frame), 0.2, seed)
    return frame.iloc[train].reset_index(drop=True), frame.iloc[test].reset_index(drop=True)


def numeric_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c != TARGET and pd.api.types.is_numeric_dtype(frame[c])]


def efficacy(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> dict[str, dict[str, float]]:
    """Accuracy and F1 of >50K on the real test rows of four classifiers trained on `train`."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    num = numeric_columns(test)
    cat = [c for c in test.columns if c not in num and c != TARGET]
    models = {
        "logreg": LogisticRegression(max_iter=1000),
        "tree": DecisionTreeClassifier(max_depth=None, random_state=seed),
        "forest": RandomForestClassifier(n_estimators=100, n_jobs=1, random_state=seed),
        "mlp": MLPClassifier(hidden_layer_sizes=(100,), max_iter=200, early_stopping=True, random_state=seed),
    }
    y_train = (train[TARGET].astype(str) == POSITIVE).to_numpy()
    y_test = (test[TARGET].astype(str) == POSITIVE).to_numpy()
    out = {}
    for name, clf in models.items():
        prep = ColumnTransformer([("num", StandardScaler(), num), ("cat", OneHotEncoder(handle_unknown="ignore"), cat)])
        pipe = make_pipeline(prep, clf)
        if len(set(y_train)) < 2:  # synthetic rows of one class: every classifier says that class
            pred = np.full(len(y_test), y_train[0])
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pipe.fit(train.drop(columns=[TARGET]), y_train)
            pred = pipe.predict(test.drop(columns=[TARGET]))
        out[name] = {
            "acc": float(accuracy_score(y_test, pred)),
            "f1": float(f1_score(y_test, pred)),
            "predicted_positive": float(np.mean(pred)),  # the share of test rows it calls >50K
        }
    return out


def shapes_and_correlations(real: pd.DataFrame, synth: pd.DataFrame) -> dict[str, float]:
    from scipy.stats import ks_2samp

    scores = {}
    for c in real.columns:
        if c in numeric_columns(real) and c != TARGET:
            scores[c] = 1 - ks_2samp(real[c].astype(float), synth[c].astype(float)).statistic
        else:
            p = real[c].astype(str).value_counts(normalize=True)
            q = synth[c].astype(str).value_counts(normalize=True)
            keys = p.index.union(q.index)
            scores[c] = 1 - 0.5 * float(np.abs(p.reindex(keys, fill_value=0) - q.reindex(keys, fill_value=0)).sum())
    num = numeric_columns(real)
    cr = real[num].astype(float).corr().to_numpy()
    cs = synth[num].astype(float).corr().fillna(0).to_numpy()
    iu = np.triu_indices(len(num), 1)
    return {"shape": float(np.mean(list(scores.values()))), "corr_diff": float(np.abs(cr - cs)[iu].mean())}


class BudgetTrainer:
    """ganforge's Trainer, stopped at the first step boundary after `budget` CPU-seconds since `t0`."""

    @staticmethod
    def make(cfg, run_dir, data, t0: float, budget: float):
        from ganforge.training.loop import Trainer

        class _T(Trainer):
            def train_step(self):
                logs = super().train_step()
                if time.process_time() - t0 >= budget:
                    self.cfg.train.steps = self.step  # fit() ends here, with a checkpoint
                return logs

        return _T(cfg, run_dir, data=data)


def ours(
    train: pd.DataFrame, budget: float, seed: int, overrides: list[str], conditions: str = "data"
) -> tuple[pd.DataFrame, dict]:
    from ganforge.api import load
    from ganforge.config import load_config
    from ganforge.data.tables import table_data

    t0 = time.process_time()
    cfg = load_config(
        "ctgan", [*QUIET_RUN, "train.log_every=100", "train.steps=100000000", f"train.seed={seed}", *overrides]
    )
    data = table_data(train, cfg.data, "modes")
    with tempfile.TemporaryDirectory() as tmp:
        trainer = BudgetTrainer.make(cfg, Path(tmp) / "run", data, t0, budget)
        trainer.fit()
        cpu = time.process_time() - t0
        model = load(Path(tmp) / "run")
        synth = model.sample_table(len(train), seed=seed, conditions=conditions)
    return synth, {"cpu_s": round(cpu, 1), "steps": model.step, "conditions": conditions}


_EPOCH_COST: dict[str, float] = {}


def package_costs(train: pd.DataFrame, discrete: list[str]) -> dict[str, float]:
    """CPU-seconds of the ctgan package's transformer fit (T) and of one epoch (E), from a 1-epoch and a
    3-epoch fit: t1 = T + E, t3 = T + 3E. Measured once per process, outside every budget."""
    from ctgan import CTGAN

    if not _EPOCH_COST:
        times = []
        for epochs in (1, 3):
            t0 = time.process_time()
            CTGAN(epochs=epochs).fit(train, discrete)
            times.append(time.process_time() - t0)
        epoch = max((times[1] - times[0]) / 2, 1e-3)
        _EPOCH_COST.update(transform=max(times[0] - epoch, 0.0), epoch=epoch)
    return dict(_EPOCH_COST)


def package(train: pd.DataFrame, budget: float, seed: int, epochs: int | None = None) -> tuple[pd.DataFrame, dict]:
    """The ctgan package with its defaults (batch 500, pac 10, lr 2e-4, log-frequency sampling) for as many
    epochs as fit the budget after its transformer fit; its fit's own CPU time is reported."""
    from ctgan import CTGAN

    discrete = [c for c in train.columns if not pd.api.types.is_numeric_dtype(train[c])]
    if epochs is None:  # else given: the probe's estimate varies from process to process
        cost = package_costs(train, discrete)
        epochs = max(1, int((budget - cost["transform"]) / cost["epoch"]))
    else:
        cost = {"epoch": float("nan")}
    torch.manual_seed(seed)
    np.random.seed(seed)
    t0 = time.process_time()
    model = CTGAN(epochs=epochs)
    model.set_random_state(seed)
    model.fit(train, discrete)
    cpu_fit = time.process_time() - t0
    synth = model.sample(len(train))
    return synth, {"cpu_s": round(cpu_fit, 1), "epochs": epochs, "epoch_cpu_s": round(cost["epoch"], 2)}


def run_synth(args) -> None:
    torch.set_num_threads(1)
    train, test = adult_split(0)
    if args.identity:
        log(
            {
                "kind": "synth",
                "method": "identity",
                "seed": 0,
                "tag": args.tag,
                **{"clf": efficacy(train, test, 0)},
                **shapes_and_correlations(test, train),  # the real train rows against the real test rows
            }
        )
    for seed in args.seed_list if args.seed_list is not None else range(args.seeds):
        for method in args.methods:
            if method == "ours":
                synth, info = ours(train, args.budget, seed, list(args.ctgan or []), args.conditions)
            else:
                synth, info = package(train, args.budget, seed, args.epochs)
            synth = synth[train.columns]
            log(
                {
                    "kind": "synth",
                    "method": method,
                    "seed": seed,
                    "budget_s": args.budget,
                    "tag": args.tag,
                    "overrides": list(args.ctgan or []) if method == "ours" else [],
                    **info,
                    "clf": efficacy(synth, test, seed),
                    "positive_share": float((synth[TARGET].astype(str) == POSITIVE).mean()),  # >50K rows made
                    **shapes_and_correlations(test, synth),
                }
            )


# --- report ------------------------------------------------------------------------------------------
def ms(values) -> str:
    values = np.asarray(values, dtype=float)
    return f"{values.mean():.4f} +- {values.std():.4f}" if len(values) > 1 else f"{values.mean():.4f}"


NAMES = {
    "mean": "column mean (SimpleImputer)",
    "mice": "MICE (IterativeImputer, BayesianRidge, 10 rounds)",
    "missforest": "MissForest-style (IterativeImputer, random forest of 20 trees, 5 rounds)",
    "knn": "KNNImputer (k = 5)",
    "gain": "GAIN, ganforge (`gain` preset: the paper's code's settings, batch 128, hint 0.9, alpha 100, 10,000 steps)",
    "gain-drop": "GAIN, ganforge `gain-drop` preset (`gain` + loss.drop=0.2, model.hidden=64; not the paper's)",
}


def _group(records, key) -> dict:
    out: dict = {}
    for r in records:
        out.setdefault(key(r), []).append(r)
    return out


def impute_section(records: list[dict], main_tag: str) -> list[str]:
    data = ["letter", "spam", "breast"]
    main = [r for r in records if r["kind"] == "impute" and r["tag"] == main_tag and r["mask"] == "mcar"]
    by = _group(main, lambda r: (r["method"], r["data"]))
    lines = [
        "## Imputation: RMSE over the missing cells, 20% MCAR",
        "",
        "Min-max normalised values (by the complete table's columns), mean +- std over the seeds; every method",
        "fills the same masked table (seed s: the same mask for every method). CPU: mean process CPU-seconds per fill.",
        "",
        "| method | letter | spam | breast cancer | seeds | CPU s (letter / spam / breast) |",
        "|---|---|---|---|---|---|",
    ]
    drop = _group(
        [r for r in records if r["kind"] == "impute" and r["tag"] == "drop" and r["mask"] == "mcar"],
        lambda r: ("gain-drop", r["data"]),
    )
    for method in ["mean", "mice", "missforest", "knn", "gain", "gain-drop"]:
        cells, cpus, seeds = [], [], set()
        for d in data:
            rs = by.get((method, d), []) or drop.get((method, d), [])
            seeds.add(len(rs))
            note = f" (first {rs[0]['rows']:,} rows)" if rs and rs[0].get("rows") else ""
            cells.append(ms([r["rmse"] for r in rs]) + note if rs else "-")
            cpus.append(f"{np.mean([r['cpu_s'] for r in rs]):.1f}" if rs else "-")
        lines.append(
            f"| {NAMES[method]} | {' | '.join(cells)} | {'/'.join(map(str, sorted(seeds)))} | {' / '.join(cpus)} |"
        )
    paper = [f"{PAPER_GAIN[d][0]:.4f} +- {PAPER_GAIN[d][1]:.4f}" for d in data]
    lines.append(
        f"| *GAIN as reported by Yoon et al. 2018, Table 2 (theirs, not run here)* | {' | '.join(paper)} | - | - |"
    )
    return lines


def gain_runs_section(records: list[dict]) -> list[str]:
    runs = [r for r in records if r["kind"] == "impute" and r["method"] == "gain"]
    by = _group(runs, lambda r: (r["tag"], r["mask"], " ".join(r.get("gain_overrides", [])), r["data"]))
    lines = [
        "## Every GAIN configuration measured",
        "",
        "| tag | mask | overrides of the `gain` preset | data | seeds | RMSE | CPU s per fill |",
        "|---|---|---|---|---|---|---|",
    ]
    for (tag, mask_, over, d), rs in by.items():
        lines.append(
            f"| {tag or '-'} | {mask_} | {over or '(none: the paper setting)'} | {d} | {len(rs)} | "
            f"{ms([r['rmse'] for r in rs])} | {np.mean([r['cpu_s'] for r in rs]):.1f} |"
        )
    return lines


def compared(r: dict, tags: dict[str, str]) -> bool:
    """A synthesis run of the comparison: its method's tag, and within 10% of its CPU budget."""
    return r["tag"] in tags.get(r["method"], "").split(",") and r["cpu_s"] <= 1.1 * r["budget_s"]


def synth_section(records: list[dict], tags: dict[str, str]) -> list[str]:
    """`tags`: method -> the tag of its runs shown (the identity row: its latest record, whatever its tag)."""
    runs = [r for r in records if r["kind"] == "synth" and (r["method"] == "identity" or compared(r, tags))]
    lines = [
        "## Synthesis on UCI Adult: machine-learning efficacy, column shapes, correlations",
        "",
        "Classifiers trained on the rows named, tested on the real test split (6,032 rows). F1 of the >50K class;",
        "shape = mean over the columns of 1 - KS (numeric) or 1 - total variation (categorical), synthetic vs the",
        "real test rows; corr diff = mean |Pearson difference| over the numeric column pairs (lower is better).",
        "",
        "| rows | seeds | CPU s (budget) | F1 logreg | F1 tree | F1 forest | F1 MLP | mean F1 | mean accuracy | shape | corr diff |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    label = {
        "identity": "real train split (identity)",
        "ours": "ganforge ctgan (`ctgan` preset)",
        "package": "`ctgan` package (PyPI, defaults)",
    }
    for method, rs in _group(runs, lambda r: r["method"]).items():
        if method == "identity":
            rs = rs[-1:]  # the latest identity record
        f1 = {c: [r["clf"][c]["f1"] for r in rs] for c in ("logreg", "tree", "forest", "mlp")}
        mean_f1 = [np.mean([r["clf"][c]["f1"] for c in f1]) for r in rs]
        mean_acc = [np.mean([r["clf"][c]["acc"] for c in f1]) for r in rs]
        cpu = "-" if method == "identity" else f"{np.mean([r['cpu_s'] for r in rs]):.0f} ({rs[0]['budget_s']:.0f})"
        lines.append(
            f"| {label[method]} | {len(rs)} | {cpu} | "
            + " | ".join(ms(v) for v in f1.values())
            + f" | {ms(mean_f1)} | {ms(mean_acc)} | {ms([r['shape'] for r in rs])} | {ms([r['corr_diff'] for r in rs])} |"
        )
    return lines


def synth_runs_section(records: list[dict]) -> list[str]:
    lines = [
        "## Every synthesis run",
        "",
        "| method | tag | seed | CPU s (budget) | steps / epochs | mean F1 | mean accuracy | shape | corr diff |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in records:
        if r["kind"] != "synth" or r["method"] == "identity":
            continue
        clf = r["clf"].values()
        work = f"{r['steps']} steps" if "steps" in r else f"{r['epochs']} epochs"
        lines.append(
            f"| {r['method']} | {r['tag']} | {r['seed']} | {r['cpu_s']} ({r['budget_s']:.0f}) | {work} | "
            f"{np.mean([c['f1'] for c in clf]):.4f} | {np.mean([c['acc'] for c in clf]):.4f} | "
            f"{r['shape']:.4f} | {r['corr_diff']:.4f} |"
        )
    return lines


def targets_section(records: list[dict], tags: dict[str, str]) -> list[str]:
    def rmse_of(data, tag):
        rs = [r["rmse"] for r in records if r["kind"] == "impute" and r["tag"] == tag and r["data"] == data]
        rs_m = [r for r in records if r["kind"] == "impute" and r["data"] == data and r["tag"] == "main"]
        return rs, rs_m

    lines = ["## Targets", "", "| target | measured | holds? |", "|---|---|---|"]
    for tag, what in (("main", "GAIN, paper setting"), ("drop", "GAIN, `gain-drop` (loss.drop=0.2, hidden 64)")):
        for d in ("letter", "spam", "breast"):
            ours, peers_ = rmse_of(d, tag)
            ours_g = [
                r["rmse"]
                for r in records
                if r["kind"] == "impute" and r["tag"] == tag and r["data"] == d and r["method"] == "gain"
            ]
            mean_ = np.mean([r["rmse"] for r in peers_ if r["method"] == "mean"])
            mice = np.mean([r["rmse"] for r in peers_ if r["method"] == "mice"])
            g = np.mean(ours_g)
            lines.append(
                f"| {what}, {d}: below the column mean ({mean_:.4f}) | {g:.4f} | {'yes' if g < mean_ else 'NO'} |"
            )
            if d in ("letter", "spam"):
                bound = 1.05 * PAPER_GAIN[d][0]
                lines.append(
                    f"| {what}, {d}: <= 1.05 x paper ({bound:.4f}) | {g:.4f} | {'yes' if g <= bound else 'NO'} |"
                )
                lines.append(
                    f"| *stretch* {what}, {d}: below MICE ({mice:.4f}) | {g:.4f} | {'yes' if g < mice else 'no'} |"
                )
    runs = [r for r in records if r["kind"] == "synth" and r["method"] != "identity" and compared(r, tags)]
    f1 = {
        m: np.mean([np.mean([c["f1"] for c in r["clf"].values()]) for r in runs if r["method"] == m])
        for m in ("ours", "package")
    }
    sh = {m: np.mean([r["shape"] for r in runs if r["method"] == m]) for m in ("ours", "package")}
    ident = [r for r in records if r["kind"] == "synth" and r["method"] == "identity"][-1]
    f1_id = np.mean([c["f1"] for c in ident["clf"].values()])
    lines.append(
        f"| ctgan on Adult: mean F1 >= the package's ({f1['package']:.4f}) | {f1['ours']:.4f} | {'yes' if f1['ours'] >= f1['package'] else 'NO'} |"
    )
    lines.append(
        f"| ctgan on Adult: shape >= the package's ({sh['package']:.4f}) | {sh['ours']:.4f} | {'yes' if sh['ours'] >= sh['package'] else 'NO'} |"
    )
    lines.append(
        f"| *stretch* ctgan: within 0.05 F1 of the identity row ({f1_id:.4f}) | {f1['ours']:.4f} | {'yes' if f1_id - f1['ours'] <= 0.05 else 'no'} |"
    )
    return lines


def report(args) -> None:
    records = [json.loads(line) for line in open(RESULTS)]
    shown = {args.impute_tag, "drop", *(item.split(":")[1] for item in args.synth_tags)}
    loads = [r["load1"] for r in records if "load1" in r and r["tag"] in shown]
    lines = [
        "# Tables: GAIN imputation and CTGAN-style synthesis",
        "",
        f"Written by `python benchmarks/tabular.py report` on {describe()}.",
        "One process, one torch thread, scikit-learn n_jobs=1; the 1-minute load average while the measured runs",
        f"ran: {min(loads):.1f} to {max(loads):.1f} (a shared 2-core machine: other jobs ran beside these)."
        if loads
        else "",
        "",
    ]
    body = args.body.read_text() if args.body else ""
    tags = dict(item.split(":") for item in args.synth_tags)
    sections = [
        targets_section(records, tags),
        impute_section(records, args.impute_tag),
        synth_section(records, tags),
        gain_runs_section(records),
        synth_runs_section(records),
    ]
    text = "\n".join(lines) + "\n" + body + "\n" + "\n\n".join("\n".join(s) for s in sections) + "\n"
    OUT_MD.parent.mkdir(parents=True, exist_ok=True)
    OUT_MD.write_text(text)
    print(text)


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    a = sub.add_parser("impute")
    a.add_argument("--data", nargs="+", default=["letter", "spam", "breast"])
    a.add_argument("--methods", nargs="+", default=["mean", "mice", "missforest", "knn", "gain"])
    a.add_argument("--seeds", type=int, default=5)
    a.add_argument("--rate", type=float, default=0.2)
    a.add_argument("--mask", default="mcar", choices=["mcar", "mar", "mnar"])
    a.add_argument("--forest-rows", type=int, default=5000)
    a.add_argument("--gain", nargs="*", help="overrides of the gain preset, key=value")
    a.add_argument("--tag", default="")
    s = sub.add_parser("synth")
    s.add_argument("--methods", nargs="+", default=["ours", "package"])
    s.add_argument("--seeds", type=int, default=3)
    s.add_argument("--seed-list", type=int, nargs="+", default=None, help="these seeds instead of 0..seeds-1")
    s.add_argument("--budget", type=float, default=180.0)
    s.add_argument("--identity", action="store_true")
    s.add_argument("--epochs", type=int, default=None, help="the ctgan package's epochs (default: from a timed probe)")
    s.add_argument("--ctgan", nargs="*", help="overrides of the ctgan preset, key=value")
    s.add_argument(
        "--conditions", choices=["data", "log"], default="data", help="ours: how synthesis draws G's conditions"
    )
    s.add_argument("--tag", default="")
    r = sub.add_parser("report")
    r.add_argument("--body", type=Path, default=None, help="text (commands, findings) placed before the tables")
    r.add_argument("--impute-tag", default="main")
    r.add_argument(
        "--synth-tags", nargs="+", default=["ours:main", "package:main"], help="method:tag of the runs shown"
    )
    args = p.parse_args()
    {"impute": run_impute, "synth": run_synth, "report": report}[args.cmd](args)


if __name__ == "__main__":
    main()
