"""data/captions.py: the attribute measures on hand-drawn arrays (moments checked against
scikit-image), captions and their words, the tokeniser, the (image, caption) loader for CSV and
JSON-lines, the ordered groups (MNIST thickness buckets, UTKFace names)."""

import json
import warnings

import numpy as np
import pytest
import torch
from skimage.measure import moments_central

from ganforge.config import DataConfig
from ganforge.data import build_dataset
from ganforge.data.captions import (
    Tokenizer,
    age_groups,
    attribute_agreement,
    brightness,
    caption_texts,
    claims,
    load_captions,
    load_utkface,
    make_captions,
    measure,
    moments,
    named_class,
    parse_utkface,
    quantile_buckets,
    size,
    slant,
    stroke_thickness,
    tercile_edges,
)
from ganforge.errors import UserError

from tests_helpers import write_png


def bar(width: int, length: int = 20, h: int = 28) -> np.ndarray:
    """A vertical stroke `width` wide and `length` tall, centred: [1, h, h] in [0, 1]."""
    a = np.zeros((1, h, h))
    top, left = (h - length) // 2, (h - width) // 2
    a[0, top : top + length, left : left + width] = 1.0
    return a


def sheared(shift_per_row: float) -> np.ndarray:
    """A 2-px stroke whose column moves right by `shift_per_row` for each row upwards."""
    a = np.zeros((1, 28, 28))
    for r in range(4, 24):
        c = int(round(12 + (24 - r) * shift_per_row)) - 4
        a[0, r, c : c + 2] = 1.0
    return a


# --- measures ----------------------------------------------------------------------------------------
def test_thickness_reads_the_stroke_width_of_hand_drawn_bars():
    widths = [1, 2, 3, 5]
    t = np.concatenate([stroke_thickness(bar(w)) for w in widths])
    assert np.all(np.diff(t) > 0), t  # monotonic in the true width
    for w, got in zip(widths, t):
        assert abs(got - w) <= 0.25 * w + 0.2, (w, got)  # the skeleton is a little shorter than the bar
    assert stroke_thickness(np.zeros((1, 28, 28)))[0] == 0


def test_slant_is_the_shear_angle_and_upright_is_zero():
    assert slant(bar(3))[0] == pytest.approx(0.0, abs=1e-9)
    for shift in (0.25, 0.5):
        assert slant(sheared(shift))[0] == pytest.approx(np.degrees(np.arctan(shift)), abs=1.5)
    assert slant(sheared(-0.5))[0] == pytest.approx(-np.degrees(np.arctan(0.5)), abs=1.5)  # leaning left


def test_second_moments_agree_with_scikit_image():
    img = sheared(0.4) * 0.7 + bar(2) * 0.3
    m = moments(img)
    ref = moments_central(img[0])  # ref[i, j] = sum (row - rc)^i (col - cc)^j I
    assert m["mu11"][0] == pytest.approx(ref[1, 1] / ref[0, 0], rel=1e-9)
    assert m["mu02"][0] == pytest.approx(ref[2, 0] / ref[0, 0], rel=1e-9)  # rows: y
    assert m["mu20"][0] == pytest.approx(ref[0, 2] / ref[0, 0], rel=1e-9)


def test_size_brightness_and_position_on_hand_drawn_arrays():
    a = np.zeros((2, 28, 28))
    a[0, 4:20, 6:15] = 1.0  # a 16 x 9 box of full ink
    a[1, 10:14, 20:24] = 0.6  # a dim 4 x 4 square, to the right
    assert size(a)[0] == pytest.approx(np.sqrt(16 * 9))
    assert size(a)[1] == pytest.approx(4.0)
    assert brightness(a).tolist() == pytest.approx([1.0, 0.6])
    m = measure(a)
    assert m["x"].tolist() == pytest.approx([10.0, 21.5]) and m["y"].tolist() == pytest.approx([11.5, 11.5])
    # tensors in [-1, 1] (the data sets' form) read the same as [0, 1] arrays
    t = torch.from_numpy(a[:, None] * 2 - 1).float()
    assert measure(t)["thickness"] == pytest.approx(m["thickness"])


# --- captions ----------------------------------------------------------------------------------------
def test_captions_name_only_attributes_outside_the_middle_tercile():
    labels = np.array([7, 7, 7, 1])
    values = {"thickness": np.array([1.0, 2.0, 3.0, 9.0]), "slant": np.array([0.0, 0.0, 30.0, 0.0])}
    edges = {"thickness": [[1.5, 2.0, 2.5]] * 10, "slant": [[5.0, 10.0, 15.0]] * 10}
    nouns = tuple(f"n{i}" for i in range(10))
    caps = make_captions(labels, values, edges, nouns, k=3, seed=0)
    assert caps[0][0] == "a thin, upright n7"  # the first caption names everything that holds clearly
    assert caps[1][0] == "an upright n7"  # thickness in the middle tercile: not named
    assert caps[2][0] == "a thick, slanted n7"
    assert all(named_class(c, nouns) == 7 for c in caps[2]) and len(caps[2]) == 3
    assert claims("this seven is thick and slanted") == {"thickness": "high", "slant": "high"}
    assert claims("a small dark ankle boot") == {"size": "low", "brightness": "low"}


def test_tercile_edges_are_per_class():
    v = np.array([1.0, 2, 3, 4, 10, 20, 30, 40])
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    e = tercile_edges(v, y, 2)
    assert e[0][1] == pytest.approx(2.5) and e[1][1] == pytest.approx(25.0)


def test_attribute_agreement_scores_against_the_named_classs_median():
    meta = {"nouns": ["zero", "one"], "edges": {"thickness": [[1.5, 2.0, 2.5], [1.5, 2.0, 2.5]]}}
    images = torch.from_numpy(np.concatenate([bar(1), bar(4), bar(4)])[:, None] * 2 - 1).float()
    texts = ["a thin one", "a thick zero", "a thin zero"]  # right, right, wrong
    assert attribute_agreement(images, texts, meta) == {"thickness": [2, 3]}


# --- tokeniser ---------------------------------------------------------------------------------------
def test_tokeniser_unknown_words_empty_and_overlong_text():
    tok = Tokenizer.build([["a thick seven", "A thin, slanted seven!"]])
    assert tok.vocab[:2] == ["<pad>", "<unk>"] and "slanted" in tok.vocab
    ids = tok.encode("a purple seven")
    assert ids.tolist()[:3] == [tok.index["a"], 1, tok.index["seven"]] and ids.shape == (tok.max_len,)
    assert tok.decode(tok.encode("thick seven")) == "thick seven"
    with pytest.raises(UserError, match="has no words"):
        tok.encode("  ,.! ")
    with pytest.raises(UserError, match="at most 4"):
        tok.encode("a thick thin slanted seven")
    assert Tokenizer.from_meta(tok.meta()).vocab == tok.vocab
    with pytest.raises(UserError, match="not trained on captions"):
        Tokenizer.from_meta({})


# --- the (image, caption) loader -----------------------------------------------------------------------
@pytest.fixture
def caption_folder(tmp_path):
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png", "sub/c.png"):
        write_png(tmp_path / "imgs" / name, rng.integers(0, 256, (20, 20)))
    return tmp_path


def test_csv_and_jsonl_give_the_same_pairs(caption_folder):
    (caption_folder / "caps.csv").write_text(
        'image,caption\nimgs/a.png,a red square\nimgs/b.png,"a blue, round thing"\nimgs/a.png,red again\n'
        "imgs/sub/c.png,a green one\n"
    )
    lines = [
        {"image": "imgs/a.png", "captions": ["a red square", "red again"]},
        {"image": "imgs/b.png", "caption": "a blue, round thing"},
        {"image": "imgs/sub/c.png", "caption": "a green one"},
    ]
    (caption_folder / "caps.jsonl").write_text("\n".join(json.dumps(r) for r in lines) + "\n\n")
    a = load_captions(caption_folder / "caps.csv", None, 16, None)
    b = load_captions(caption_folder / "caps.jsonl", None, 16, None)
    assert a.x.shape == (3, 1, 16, 16) and a.extra["tokens"].shape[:2] == (3, 2)  # 2 captions for a.png
    torch.testing.assert_close(a.x, b.x)
    assert a.meta["vocab"] == b.meta["vocab"]
    assert caption_texts(a, 0) == ["a red square", "a blue round thing", "a green one"]
    assert caption_texts(a, 1) == ["red again", "a blue round thing", "a green one"]  # fewer captions repeat
    # through the registry: data.path relative to data.root
    data = build_dataset(DataConfig(name="captions", path="caps.csv", root=str(caption_folder), resolution=16))
    assert data.extra["tokens"].shape[0] == 3


@pytest.mark.parametrize(
    "content, message",
    [
        (
            "image,caption\nimgs/a.png,fine\nimgs/missing.png,a ghost\n",
            "line 3 names .*missing.png, which does not exist",
        ),
        ("image,caption\nimgs/a.png,\n", "line 2: the caption of imgs/a.png is empty"),
        ("img,text\nimgs/a.png,x\n", "must name the columns 'image' and 'caption'"),
        ("image,caption\nimgs/a.png," + "word " * 40 + "\n", "a caption of 40 words"),
    ],
)
def test_bad_caption_files_are_one_line_errors(caption_folder, content, message):
    path = caption_folder / "bad.csv"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        load_captions(path, None, 16, None)


def test_bad_jsonl_line_names_its_line(caption_folder):
    path = caption_folder / "bad.jsonl"
    path.write_text('{"image": "imgs/a.png", "caption": "ok"}\n{"image": "imgs/b.png"\n')
    with pytest.raises(UserError, match="line 2: not JSON"):
        load_captions(path, None, 16, None)


# --- ordered groups ----------------------------------------------------------------------------------
def test_quantile_buckets():
    edges = np.array([1.0, 2.0, 3.0])
    assert quantile_buckets(np.array([0.5, 1.0, 1.5, 2.5, 3.0, 9.0]), edges).tolist() == [0, 1, 1, 2, 3, 3]


def test_utkface_names_good_and_malformed():
    f = parse_utkface("26_1_2_20170116174525125.jpg.chip.jpg")
    assert (f.age, f.gender, f.race) == (26, 1, 2)
    assert parse_utkface("1_0_0_20161219140623097.jpg").age == 1
    for bad in (
        "26_1_2.jpg",
        "26_2_2_20170116174525125.jpg",
        "26_1_7_20170116174525125.jpg",
        "x_1_2_201701161745.jpg",
        "130_0_0_20170116174525125.jpg",
        "26_1_2_20170116174525125.png",
    ):
        with pytest.raises(ValueError):
            parse_utkface(bad)
    assert age_groups([19, 30, 40, 50, 60]) == ("0-18", "19-29", "30-39", "40-49", "50-59", "60+")


def test_utkface_folder_skips_malformed_names_with_a_count(tmp_path):
    rng = np.random.default_rng(0)
    for name in (
        "5_0_0_20170101000000000.jpg",
        "35_1_2_20170101000000001.jpg",
        "70_0_4_20170101000000002.jpg",
        "holiday.jpg",
        "40_x_1_2017.jpg",
    ):
        write_png(tmp_path / name, rng.integers(0, 256, (24, 24, 3)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        data = load_utkface(tmp_path, [19, 30, 40, 50, 60], 16, None)
    assert any("skipped 2 file(s)" in str(w.message) for w in caught)
    order = data.extra["age"].tolist()
    assert sorted(order) == [5, 35, 70] and data.x.shape == (3, 3, 16, 16)
    assert data.y.tolist() == [{5: 0, 35: 2, 70: 5}[a] for a in order]
    assert data.classes[2] == "30-39"
    with pytest.raises(UserError, match="increasing whole ages"):
        load_utkface(tmp_path, [30, 19], 16, None)
    empty = tmp_path / "none"
    write_png(empty / "holiday.jpg", rng.integers(0, 256, (8, 8)))
    with pytest.raises(UserError, match="no file is named"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        load_utkface(empty, None, 16, None)


# --- the built-in sets on the real digits --------------------------------------------------------------
def test_mnist_captions_and_thickness_buckets(shared_data):
    cfg = DataConfig(name="mnist-captions", split="test", root=str(shared_data / "mnist"))
    data = build_dataset(cfg)
    assert data.extra["tokens"].shape[:2] == (10_000, 4) and data.extra["attrs"].shape == (10_000, 6)
    texts = caption_texts(data)
    nouns = tuple(data.meta["nouns"])
    assert all(named_class(t, nouns) == int(y) for t, y in zip(texts[:500], data.y[:500]))
    # the words hold on the images they describe, as the scoring reads them (the originals: all agree)
    scores = attribute_agreement(data.x[:500], texts[:500], data.meta)
    for attr, (agree, named) in scores.items():
        assert named > 50 and agree / named > 0.95, (attr, agree, named)
    age = build_dataset(DataConfig(name="mnist-thickness", split="test", root=str(shared_data / "mnist")))
    counts = torch.bincount(age.y, minlength=5)
    assert len(counts) == 5 and counts.min() > 1500  # quintiles of the training split: about 2,000 each
    t = age.extra["thickness"]
    assert all(t[age.y == k].mean() < t[age.y == k + 1].mean() for k in range(4))
