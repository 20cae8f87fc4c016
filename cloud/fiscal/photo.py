"""A photo of a receipt's QR code, decoded on the server: Pillow reads the image,
zxing-cpp finds the QR code (both are wheels, no system library). CPU work, so it runs
in a worker thread; the image is bounded in bytes and pixels before it is decoded."""

from __future__ import annotations

import asyncio
import io

import zxingcpp
from PIL import Image, UnidentifiedImageError

from cloud.errors import BadRequest

MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 50_000_000
"""A phone's photo is 12–50 megapixels; more is an image built to exhaust memory."""
WORK_SIDE = 2400
"""Larger photos are scaled down first: a receipt's QR code stays readable, and the
decoder's time falls with the pixels."""

_QR = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def unreadable() -> BadRequest:
    return BadRequest(
        "fiscal_qr_photo_unreadable",
        "На фото не найден QR-код чека: снимите его крупнее, ровно и без бликов",
    )


def _decode(data: bytes) -> str:
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise BadRequest("fiscal_qr_photo_too_large", "Фото слишком большое")
            image.draft("L", (WORK_SIDE, WORK_SIDE))  # JPEG: decode at a reduced size
            gray = image.convert("L")
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
        raise BadRequest(
            "fiscal_qr_photo_invalid", "Это не фото: пришлите снимок в JPEG или PNG"
        ) from exc
    gray.thumbnail((WORK_SIDE, WORK_SIDE))
    for found in zxingcpp.read_barcodes(gray, formats=_QR):
        if found.valid and found.text:
            return str(found.text)
    raise unreadable()


async def decode_qr(data: bytes) -> str:
    """The text of the QR code in the photo, or a 400 with a Russian message."""
    if not data:
        raise BadRequest("fiscal_qr_photo_invalid", "Файл фото пустой")
    if len(data) > MAX_PHOTO_BYTES:
        raise BadRequest("fiscal_qr_photo_too_large", "Фото больше 10 МБ")
    return await asyncio.to_thread(_decode, data)
