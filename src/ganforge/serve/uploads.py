"""Uploaded images, decoded only once they are known to be small: the byte count is capped before
anything is parsed, the pixel count is read from the file's header and refused before a pixel is
allocated (a 20,000 x 20,000 PNG is a few hundred bytes of header and 1.2 GB decoded), and only
formats photos and drawings come in are accepted.

    check_image(data)                 -> (width, height, format), or an UploadRefused (4xx)
    image_tensor(data, size, channels) -> [1, C, size, size] in [-1, 1], centre-cropped, resized
    check_csv(data)                   -> the row count of an uploaded CSV table, counted before any
                                         parsing and stopped at MAX_CSV_ROWS + 1, or an UploadRefused

A CSV's bytes are capped like an image's, and its rows too: a million short rows fit in a few MB
but would cost pandas and the model far more; the count stops at the cap, so a huge table is
refused after reading the cap's worth of lines, never parsed whole.
"""

from __future__ import annotations

import csv
import io
import warnings

import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

from ganforge.data.folders import read_image
from ganforge.errors import UserError

MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # an upload's bytes
MAX_PIXELS = 4096 * 4096  # an upload's width x height (16.8 megapixels: a phone photo fits)
FORMATS = ("PNG", "JPEG", "BMP", "GIF", "WEBP", "TIFF", "PPM")  # what the page accepts
MAX_CSV_ROWS = 100_000  # an uploaded table's rows (the header not counted)


class UploadRefused(Exception):
    """An upload the server will not decode; `status` is the HTTP status (413 too large, 415 not an image)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def check_image(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_pixels: int = MAX_PIXELS) -> tuple[int, int, str]:
    """(width, height, format) from the header alone; refuses large, empty and non-image uploads."""
    if len(data) > max_bytes:
        raise UploadRefused(f"the upload is {len(data) / 2**20:.1f} MB; at most {max_bytes / 2**20:.0f} MB", 413)
    if not data:
        raise UploadRefused("the upload is empty; choose an image file", 400)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # Pillow's own bomb check: refuse
            with Image.open(io.BytesIO(data), formats=FORMATS) as img:  # reads the header, decodes nothing
                width, height, fmt = img.size[0], img.size[1], img.format
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRefused(
            f"the image has too many pixels; at most {max_pixels:,} (a decompression bomb?)", 413
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise UploadRefused(f"the upload is not an image ({', '.join(FORMATS)})", 415) from None
    if width * height > max_pixels:
        raise UploadRefused(
            f"the image is {width:,} x {height:,} pixels; at most {max_pixels:,} pixels (e.g. 4096 x 4096)", 413
        )
    return width, height, fmt


def image_tensor(data: bytes, size: int, channels: int) -> Tensor:
    """An upload as a model input [1, C, size, size] in [-1, 1]: header checked first (`check_image`),
    then decoded, centre-cropped to a square, resized, grey or RGB (the data loader's `read_image`)."""
    check_image(data)
    try:
        arr = read_image(io.BytesIO(data), size, channels)  # uint8 [H, W, C]
    except UserError:  # a truncated or corrupt file passes the header check and fails here
        raise UploadRefused("the image could not be decoded; the file may be damaged", 415) from None
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].float().div(127.5).sub(1)


def check_csv(data: bytes, max_bytes: int = MAX_UPLOAD_BYTES, max_rows: int = MAX_CSV_ROWS) -> int:
    """The number of rows (blank lines not counted, the header neither) of a CSV upload; refuses an
    empty, oversized, non-UTF-8 or unreadable file, and one with more than `max_rows` rows (counting
    stops there: 413 without reading on)."""
    if len(data) > max_bytes:
        raise UploadRefused(f"the table is {len(data) / 2**20:.1f} MB; at most {max_bytes / 2**20:.0f} MB", 413)
    if not data.strip():
        raise UploadRefused("the upload is empty; choose a CSV table with a header row", 400)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UploadRefused(
            f"the upload is not UTF-8 text ({e.reason} at byte {e.start}); upload a CSV table saved as UTF-8", 415
        ) from None
    rows = -1  # the header is not a row
    try:
        for row in csv.reader(io.StringIO(text)):
            if row:
                rows += 1
                if rows > max_rows:
                    raise UploadRefused(
                        f"the table has more than {max_rows:,} rows; at most {max_rows:,} per upload "
                        "(split it, or use 'ganforge impute' / 'ganforge synth' on the command line)",
                        413,
                    )
    except csv.Error as e:
        raise UploadRefused(f"the upload is not a readable CSV table ({e})", 400) from None
    return max(rows, 0)


__all__ = [
    "FORMATS",
    "MAX_CSV_ROWS",
    "MAX_PIXELS",
    "MAX_UPLOAD_BYTES",
    "UploadRefused",
    "check_csv",
    "check_image",
    "image_tensor",
]
