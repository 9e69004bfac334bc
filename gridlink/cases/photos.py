"""Case photos: check one uploaded image, strip its metadata, store it under a random name.

Case reports and handling results carry photos taken by residents and grid workers. An upload
is untrusted input, so `photo_store` checks it in this order and refuses with `PhotoRejected`
(a `DomainError` naming the form field) at the first failure:

1. **Size** (`too_large`, status 413): at most `GRIDLINK_PHOTO_MAX_BYTES` bytes. We read at
   most one byte more than the limit, so a huge or endless stream never lands in memory.
2. **Content** (`not_an_image`, `unsupported_format`): Pillow identifies the format from the
   bytes themselves; the file name and the browser's declared content type are ignored, so a
   text file renamed ``x.jpg`` is refused. Only JPEG, PNG and WebP are accepted (an MPO, the
   multi-picture JPEG some phone cameras write, counts as JPEG; its first picture is kept).
3. **Pixel count** (`too_many_pixels`): `Image.open` reads only the header, so width × height
   is checked *before* any pixel is decoded: at most `GRIDLINK_PHOTO_MAX_PIXELS` (24 MP) for
   PNG and WebP, `GRIDLINK_PHOTO_MAX_PIXELS_JPEG` (50 MP) for JPEG. Phone cameras write 12 MP
   (4032 × 3024) by default and 48–50 MP in their full-resolution modes, always as JPEG (or
   HEIC, which we do not take); a PNG from a phone is a screenshot of a few megapixels. A
   "decompression bomb" – 105 KB of PNG that decode to 6000 × 6000 pixels, or a few kilobytes
   that decode to gigabytes – is refused in milliseconds without being inflated. Pillow's own
   bomb guard (`DecompressionBombError`, and the warning it gives below that, turned into an
   error here) gives the same refusal.
4. **Integrity** (`not_an_image`): `verify()` on one open, then a fresh open and a full
   `load()`, so truncated or corrupt files are refused before anything is stored.

Decoding is bounded in cost and memory: a JPEG is decoded at the smallest DCT scale (½, ¼
or ⅛, Pillow's `draft`) that still covers the stored size (`GRIDLINK_PHOTO_MAX_SIDE`, 4032:
a 12 MP phone photo's longer side), so a 50 MP photo (8160 × 6120, decoded at 4080 × 3060,
stored at 4032 × 3024) costs about what a 12 MP one does; PNG and WebP decode in full,
within their 24 MP cap (at most ~100 MB of pixels). At most `GRIDLINK_PHOTO_DECODE_SLOTS`
photos are decoded at once in one process (threads wait up to
`GRIDLINK_PHOTO_DECODE_WAIT_SECONDS` for a turn, then get a 503 with `Retry-After`), and the
callers count each upload against the client's rate limit (`photo.upload` in
`gridlink.core.ratelimit`).

The stored image is always re-encoded from its pixels, never copied: EXIF (whose GPS tags would
give away where a reporter lives – photos are often taken from home), XMP, ICC profiles and
comments are all dropped. The EXIF orientation is applied to the pixels first so the photo still
shows the right way up, and the longer side is scaled down to `GRIDLINK_PHOTO_MAX_SIDE`.

Files go to `default_storage` as ``case-photos/YYYY/MM/<32 random hex>.<ext>``: the extension
comes from the detected format, and nothing of the upload's file name is kept, so names
can neither be guessed from one another nor carry a path, a script extension or a person's name.

Settings are read at call time, so tests can change them with the `settings` fixture.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import secrets
import struct
import threading
import warnings
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.translation import gettext
from PIL import Image, ImageOps, UnidentifiedImageError

from gridlink.core.errors import DomainError

PHOTO_DIR: Final = "case-photos"
_CHUNK_BYTES: Final = 64 * 1024

# Pillow format name → (stored format, content type, file extension).
_ACCEPTED: Final[dict[str, tuple[str, str, str]]] = {
    "JPEG": ("JPEG", "image/jpeg", "jpg"),
    "MPO": ("JPEG", "image/jpeg", "jpg"),
    "PNG": ("PNG", "image/png", "png"),
    "WEBP": ("WEBP", "image/webp", "webp"),
}
_NAME_PATTERN: Final = re.compile(r"case-photos/\d{4}/\d{2}/[0-9a-f]{32}\.(?:jpg|png|webp)")

# What Pillow raises on bytes it cannot identify or decode. `UnidentifiedImageError` is an
# `OSError`; `verify()` reports broken PNG chunks as `SyntaxError`; the others come from the
# format plugins reading short or malformed headers.
_UNREADABLE: Final = (OSError, SyntaxError, ValueError, EOFError, struct.error, zlib.error)


class PhotoRejected(DomainError):
    """The upload is not a photo we store; `code` says which check failed."""


class PhotoTooLarge(PhotoRejected):
    status = 413


class PhotoBusy(DomainError):
    """Every decoding slot of this process stayed busy; the client may retry shortly."""

    status = 503
    retry_after = 5

    def __init__(self, *, field: str) -> None:
        super().__init__(
            gettext("Too many photos are being processed right now; try again in a few seconds."),
            code="busy",
            field=field,
        )


class PhotoNotFound(DomainError):
    status = 404

    def __init__(self, message: str, *, code: str = "not_found", field: str | None = None):
        super().__init__(message, code=code, field=field)


@dataclass(frozen=True)
class StoredPhoto:
    name: str  # storage-relative, e.g. "case-photos/2026/11/3f9c…e1.jpg"
    content_type: str  # "image/jpeg" | "image/png" | "image/webp"
    width: int
    height: int
    size: int  # bytes stored
    sha256: str  # of the stored bytes


def photo_store(*, upload: File[bytes] | bytes, field: str = "photos") -> StoredPhoto:
    """Check `upload`, re-encode it without metadata and save it; see the module docstring."""
    data = _read_bounded(upload=upload, field=field)
    pillow_format = _checked_format(data=data, field=field)
    stored_format, content_type, extension = _ACCEPTED[pillow_format]
    with decode_slot(field=field):
        image = _decoded(data=data, field=field, jpeg=stored_format == "JPEG")
        encoded, width, height = _reencoded(image=image, stored_format=stored_format)

    month = timezone.localdate()
    name = f"{PHOTO_DIR}/{month:%Y}/{month:%m}/{secrets.token_hex(16)}.{extension}"
    saved_name = default_storage.save(name, ContentFile(encoded))
    return StoredPhoto(
        name=saved_name,
        content_type=content_type,
        width=width,
        height=height,
        size=len(encoded),
        sha256=hashlib.sha256(encoded).hexdigest(),
    )


_slots_lock = threading.Lock()
_slots: tuple[int, threading.BoundedSemaphore] | None = None


def _decode_slots() -> threading.BoundedSemaphore:
    """This process's decoding slots (made on first use: settings are read at call time)."""
    global _slots
    size = max(1, int(settings.GRIDLINK_PHOTO_DECODE_SLOTS))
    with _slots_lock:
        if _slots is None or _slots[0] != size:
            _slots = (size, threading.BoundedSemaphore(size))
        return _slots[1]


@contextmanager
def decode_slot(*, field: str) -> Iterator[None]:
    """Hold one of the process's decoding slots; `PhotoBusy` if none frees up in time."""
    slots = _decode_slots()
    if not slots.acquire(timeout=settings.GRIDLINK_PHOTO_DECODE_WAIT_SECONDS):
        raise PhotoBusy(field=field)
    try:
        yield
    finally:
        slots.release()


def photo_open(*, name: str) -> File[Any]:
    """Open a stored photo for reading (e.g. for a `FileResponse`); the caller closes it."""
    _check_name(name=name)
    try:
        return default_storage.open(name, "rb")
    except FileNotFoundError as exc:
        raise PhotoNotFound(gettext("Photo not found.")) from exc


def photo_delete(*, name: str) -> None:
    """Delete a stored photo; deleting one already gone is not an error."""
    _check_name(name=name)
    default_storage.delete(name)


def _check_name(*, name: str) -> None:
    # Only names `photo_store` can produce: no other media file can be opened or deleted here.
    if not _NAME_PATTERN.fullmatch(name):
        raise PhotoNotFound(gettext("Photo not found."))


def _read_bounded(*, upload: File[bytes] | bytes, field: str) -> bytes:
    max_bytes: int = settings.GRIDLINK_PHOTO_MAX_BYTES
    if isinstance(upload, bytes):
        data = upload
    else:
        if upload.seekable():
            upload.seek(0)
        parts: list[bytes] = []
        total = 0
        while total <= max_bytes:
            part = upload.read(min(_CHUNK_BYTES, max_bytes + 1 - total))
            if not part:
                break
            if not isinstance(part, bytes):  # a file opened in text mode
                raise PhotoRejected(
                    gettext("The file is not an image."), code="not_an_image", field=field
                )
            parts.append(part)
            total += len(part)
        data = b"".join(parts)
    if len(data) > max_bytes:
        raise PhotoTooLarge(
            gettext("The photo is larger than %(limit)s.") % {"limit": filesizeformat(max_bytes)},
            code="too_large",
            field=field,
        )
    return data


def _max_pixels(pillow_format: str | None) -> int:
    if pillow_format in ("JPEG", "MPO"):
        return int(settings.GRIDLINK_PHOTO_MAX_PIXELS_JPEG)
    return int(settings.GRIDLINK_PHOTO_MAX_PIXELS)


def _too_many_pixels(*, field: str, pillow_format: str | None = None) -> PhotoRejected:
    max_pixels = _max_pixels(pillow_format)
    return PhotoRejected(
        gettext("The photo has too many pixels; the limit is %(limit)s megapixels.")
        % {"limit": f"{max_pixels / 1_000_000:g}"},
        code="too_many_pixels",
        field=field,
    )


def _checked_format(*, data: bytes, field: str) -> str:
    """Identify the format and check the pixel count from the header alone."""
    # `catch_warnings` swaps the process-wide warning filters; it is the only way to make
    # Pillow's bomb warning an error, and it only ever matters for images we refuse anyway.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                pillow_format = image.format
                width, height = image.size
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(field=field) from exc
        except _UNREADABLE as exc:
            raise PhotoRejected(
                gettext("The file is not an image."), code="not_an_image", field=field
            ) from exc
    if pillow_format not in _ACCEPTED:
        raise PhotoRejected(
            gettext("Only JPEG, PNG and WebP photos are accepted."),
            code="unsupported_format",
            field=field,
        )
    if width * height > _max_pixels(pillow_format):
        raise _too_many_pixels(field=field, pillow_format=pillow_format)
    return pillow_format


def _decoded(*, data: bytes, field: str, jpeg: bool) -> Image.Image:
    """Verify the file's structure, then decode its pixels (a JPEG at the smallest scale
    that still covers the stored size)."""
    damaged = gettext("The image file is damaged or incomplete.")
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.verify()
            # `verify()` leaves the image unusable; decoding needs a fresh open.
            with Image.open(io.BytesIO(data)) as image:
                if jpeg:
                    image.draft("RGB", _draft_size(image.size))
                image.load()
                return ImageOps.exif_transpose(image)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise _too_many_pixels(field=field) from exc
        except (*_UNREADABLE, UnidentifiedImageError) as exc:
            raise PhotoRejected(damaged, code="not_an_image", field=field) from exc


def _draft_size(size: tuple[int, int]) -> tuple[int, int]:
    """The smallest decoded size we accept from a JPEG: the size it is stored at (longer
    side `GRIDLINK_PHOTO_MAX_SIDE`); Pillow's `draft` picks the smallest DCT scale at or
    above it."""
    width, height = size
    floor = settings.GRIDLINK_PHOTO_MAX_SIDE
    ratio = min(1.0, floor / max(width, height, 1))
    return max(1, math.ceil(width * ratio)), max(1, math.ceil(height * ratio))


def _reencoded(*, image: Image.Image, stored_format: str) -> tuple[bytes, int, int]:
    """Encode the pixels alone – no EXIF, XMP, ICC or comment – within the size limit."""
    has_alpha = image.has_transparency_data
    if stored_format == "JPEG" or not has_alpha:
        image = image.convert("RGB")
    else:
        image = image.convert("RGBA")

    max_side: int = settings.GRIDLINK_PHOTO_MAX_SIDE
    if max(image.size) > max_side:
        # `reducing_gap`: first shrink by whole factors (cheap), then resample the rest.
        image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS, reducing_gap=3.0)

    # Some encoders fall back on `info` for what is not passed (the JPEG comment, the PNG ICC
    # profile, …); with it emptied, only the options below reach the file.
    image.info = {}
    buffer = io.BytesIO()
    if stored_format == "JPEG":
        image.save(buffer, format="JPEG", quality=85, optimize=True)
    elif stored_format == "PNG":
        image.save(buffer, format="PNG", compress_level=6)  # `optimize` costs seconds
    else:
        image.save(buffer, format="WEBP", quality=85)
    return buffer.getvalue(), image.width, image.height
