"""Uploaded images, decoded only once they are known to be small: the byte count is capped before
anything is parsed, the pixel count is read from the file's header and refused before a pixel is
allocated (a 20,000 x 20,000 PNG is a few hundred bytes of header and 1.2 GB decoded), and only
formats photos and drawings come in are accepted.

    check_image(data)                 -> (width, height, format), or an UploadRefused (4xx)
    image_tensor(data, size, channels) -> [1, C, size, size] in [-1, 1], centre-cropped, resized
"""

from __future__ import annotations

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


__all__ = ["FORMATS", "MAX_PIXELS", "MAX_UPLOAD_BYTES", "UploadRefused", "check_image", "image_tensor"]
