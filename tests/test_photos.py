"""Case photos: content, size and pixel checks, metadata stripping, random names."""

from __future__ import annotations

import hashlib
import io
import random
import re
import struct
import threading
import time
import zlib
from pathlib import Path

import pytest
import time_machine
from django.core.files.base import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation
from PIL import ExifTags, Image, ImageCms, PngImagePlugin

from gridlink.cases.photos import (
    PhotoBusy,
    PhotoNotFound,
    PhotoRejected,
    PhotoTooLarge,
    StoredPhoto,
    decode_slot,
    photo_delete,
    photo_open,
    photo_store,
)

NAME = re.compile(r"case-photos/\d{4}/\d{2}/([0-9a-f]{32})\.(jpg|png|webp)")


@pytest.fixture(autouse=True)
def media(settings, tmp_path: Path) -> Path:
    root = tmp_path / "media"
    settings.MEDIA_ROOT = root
    return root


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def noise(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Random pixels, so encoders cannot compress them away (truncation tests need bulk)."""
    channels = len(mode) if mode in ("RGB", "RGBA", "LA") else 1
    rng = random.Random(size[0] * 7919 + size[1])
    return Image.frombytes(mode, size, rng.randbytes(size[0] * size[1] * channels))


def encode(image: Image.Image, image_format: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims any size at all while holding (almost) no pixel data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def rejected(upload, *, field: str = "photos") -> PhotoRejected:
    with pytest.raises(PhotoRejected) as caught, translation.override("en"):
        photo_store(upload=upload, field=field)
    return caught.value


def read_stored(photo: StoredPhoto) -> bytes:
    with photo_open(name=photo.name) as opened:
        data: bytes = opened.read()
    return data


# --- accepted images ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image_format", "content_type", "extension"),
    [("JPEG", "image/jpeg", "jpg"), ("PNG", "image/png", "png"), ("WEBP", "image/webp", "webp")],
)
def test_valid_image_is_stored(media, image_format, content_type, extension):
    upload = encode(noise((120, 80)), image_format)

    photo = photo_store(upload=upload)

    match = NAME.fullmatch(photo.name)
    assert match is not None
    assert match.group(2) == extension
    assert (photo.content_type, photo.width, photo.height) == (content_type, 120, 80)
    data = read_stored(photo)
    assert photo.size == len(data)
    assert photo.sha256 == hashlib.sha256(data).hexdigest()
    assert stored_files(media) == [media / photo.name]
    with Image.open(io.BytesIO(data)) as reopened:
        assert reopened.format == image_format
        assert reopened.size == (120, 80)


def test_name_is_random_and_extension_comes_from_content():
    png = encode(noise((20, 10)), "PNG")
    upload = SimpleUploadedFile("../../evil name.jpg", png, content_type="image/jpeg")

    photo = photo_store(upload=upload)

    assert photo.name.endswith(".png")
    assert photo.content_type == "image/png"
    assert "evil" not in photo.name


def test_same_bytes_twice_get_different_names(media):
    upload = encode(noise((20, 10)), "JPEG")

    first = photo_store(upload=upload)
    second = photo_store(upload=upload)

    assert first.name != second.name
    assert first.sha256 == second.sha256
    assert len(stored_files(media)) == 2


def test_name_is_filed_under_year_and_month():
    with time_machine.travel("2026-11-15 12:00 +08:00", tick=False):
        photo = photo_store(upload=encode(noise((8, 8)), "PNG"))

    assert photo.name.startswith("case-photos/2026/11/")


def test_django_file_is_read_from_the_start():
    stream = io.BytesIO(encode(noise((30, 20)), "PNG"))
    stream.seek(5)

    photo = photo_store(upload=File(stream))

    assert (photo.width, photo.height) == (30, 20)


def test_multi_picture_jpeg_from_a_phone_is_stored_as_jpeg():
    buffer = io.BytesIO()
    noise((40, 30)).save(
        buffer, format="MPO", save_all=True, append_images=[noise((40, 30), "RGB")]
    )
    assert Image.open(io.BytesIO(buffer.getvalue())).format == "MPO"

    photo = photo_store(upload=buffer.getvalue())

    assert photo.name.endswith(".jpg")
    assert photo.content_type == "image/jpeg"
    with Image.open(io.BytesIO(read_stored(photo))) as reopened:
        assert reopened.format == "JPEG"


@pytest.mark.parametrize(
    ("mode", "image_format", "stored_mode"),
    [
        ("RGBA", "PNG", "RGBA"),
        ("LA", "PNG", "RGBA"),
        ("L", "PNG", "RGB"),
        ("I;16", "PNG", "RGB"),
        ("RGBA", "WEBP", "RGBA"),
        ("L", "JPEG", "RGB"),
        ("CMYK", "JPEG", "RGB"),
    ],
)
def test_modes_are_converted(mode, image_format, stored_mode):
    photo = photo_store(upload=encode(Image.new(mode, (16, 16)), image_format))

    with Image.open(io.BytesIO(read_stored(photo))) as reopened:
        assert reopened.mode == stored_mode


def test_palette_png_with_transparency_keeps_it():
    image = Image.new("P", (16, 16), 0)
    image.putpalette([255, 0, 0, 0, 0, 255])
    image.putpixel((0, 0), 1)

    photo = photo_store(upload=encode(image, "PNG", transparency=0))

    with Image.open(io.BytesIO(read_stored(photo))) as reopened:
        assert reopened.mode == "RGBA"
        assert reopened.getpixel((5, 5)) == (255, 0, 0, 0)
        assert reopened.getpixel((0, 0)) == (0, 0, 255, 255)


# --- content checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "upload",
    [
        b"hello world",
        SimpleUploadedFile("x.jpg", b"hello world", content_type="image/jpeg"),
        b"",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n",
    ],
    ids=["bytes", "uploaded-file", "empty", "pdf"],
)
def test_non_image_is_refused_and_nothing_stored(media, upload):
    error = rejected(upload)

    assert error.code == "not_an_image"
    assert error.message == "The file is not an image."
    assert error.status == 400
    assert stored_files(media) == []


@pytest.mark.parametrize("image_format", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_refused(media, image_format):
    error = rejected(encode(noise((16, 16)), image_format))

    assert error.code == "unsupported_format"
    assert error.message == "Only JPEG, PNG and WebP photos are accepted."
    assert stored_files(media) == []


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_truncated_image_is_refused(media, image_format):
    whole = encode(noise((200, 200)), image_format)

    error = rejected(whole[: len(whole) // 2])

    assert error.code == "not_an_image"
    assert stored_files(media) == []


def test_png_with_a_broken_checksum_is_refused(media):
    whole = bytearray(encode(noise((64, 64)), "PNG"))
    idat = whole.index(b"IDAT")
    whole[idat + 40] ^= 0xFF  # inside the pixel data, so the chunk's CRC no longer matches

    error = rejected(bytes(whole))

    assert error.code == "not_an_image"
    assert error.message == "The image file is damaged or incomplete."
    assert stored_files(media) == []


# --- pixel count ----------------------------------------------------------------------------


def test_fifty_megapixels_are_refused_before_decoding(media):
    upload = encode(Image.new("1", (10_000, 5_000)), "PNG")
    assert len(upload) < 100_000  # tiny on the wire: a decompression bomb in miniature

    error = rejected(upload)

    assert error.code == "too_many_pixels"
    assert error.message == "The photo has too many pixels; the limit is 24 megapixels."
    assert stored_files(media) == []


def test_pixel_limit_comes_from_settings(settings):
    settings.GRIDLINK_PHOTO_MAX_PIXELS = 100
    assert rejected(encode(noise((11, 10)), "PNG")).code == "too_many_pixels"

    photo = photo_store(upload=encode(noise((10, 10)), "PNG"))
    assert (photo.width, photo.height) == (10, 10)


@pytest.mark.parametrize(
    "size",
    [(10_000, 10_000), (20_000, 10_000)],
    ids=["pillow-warns", "pillow-refuses"],
)
def test_pillows_own_bomb_guard_gives_the_same_refusal(settings, media, size):
    # Our limit set above Pillow's (89 Mpx warning, twice that an error), so Pillow speaks first.
    settings.GRIDLINK_PHOTO_MAX_PIXELS = 10**10

    error = rejected(png_header_only(*size))

    assert error.code == "too_many_pixels"
    assert stored_files(media) == []


# --- size -----------------------------------------------------------------------------------


def test_over_max_bytes_is_refused(settings, media):
    upload = encode(noise((64, 64)), "PNG")
    settings.GRIDLINK_PHOTO_MAX_BYTES = len(upload) - 1

    error = rejected(SimpleUploadedFile("x.png", upload))

    assert error.code == "too_large"
    assert isinstance(error, PhotoTooLarge)
    assert error.status == 413
    assert error.message.startswith("The photo is larger than ")
    assert stored_files(media) == []


def test_exactly_max_bytes_is_accepted(settings):
    upload = encode(noise((64, 64)), "PNG")
    settings.GRIDLINK_PHOTO_MAX_BYTES = len(upload)

    assert photo_store(upload=upload).width == 64
    assert photo_store(upload=File(io.BytesIO(upload))).width == 64


def test_large_stream_is_read_only_up_to_the_limit(settings):
    settings.GRIDLINK_PHOTO_MAX_BYTES = 1000
    stream = io.BytesIO(b"\0" * 10_000_000)

    assert rejected(File(stream)).code == "too_large"
    assert stream.tell() == 1001


# --- metadata -------------------------------------------------------------------------------


def exif_with_gps(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "SpyCam"
    if orientation is not None:
        exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (36.0, 4.0, 1.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (120.0, 22.0, 3.25)
    return exif


@pytest.mark.parametrize("image_format", ["JPEG", "PNG", "WEBP"])
def test_exif_gps_and_other_metadata_are_stripped(image_format):
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    options: dict[str, object] = {"exif": exif_with_gps(), "icc_profile": icc}
    if image_format == "JPEG":
        options["comment"] = b"home: 1 Example Road"
    if image_format == "PNG":
        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "home: 1 Example Road")
        options["pnginfo"] = text
    upload = encode(noise((40, 30)), image_format, **options)
    with Image.open(io.BytesIO(upload)) as original:  # the test image does carry GPS
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert original.info.get("icc_profile")

    data = read_stored(photo_store(upload=upload))

    assert b"Exif" not in data
    assert b"SpyCam" not in data
    assert b"Example Road" not in data
    with Image.open(io.BytesIO(data)) as stored:
        assert not stored.getexif()
        assert not stored.getexif().get_ifd(ExifTags.IFD.GPSInfo)
        assert "icc_profile" not in stored.info
        assert "comment" not in stored.info
        assert "Comment" not in stored.info


def test_orientation_is_applied_to_the_pixels():
    image = Image.new("RGB", (100, 50), "white")
    image.paste((255, 0, 0), (0, 0, 20, 20))  # red in the stored top-left corner
    # Orientation 6: the camera was turned, so viewers rotate the picture 90° clockwise.
    upload = encode(image, "JPEG", exif=exif_with_gps(orientation=6), quality=95)

    photo = photo_store(upload=upload)

    assert (photo.width, photo.height) == (50, 100)
    with Image.open(io.BytesIO(read_stored(photo))) as stored:
        assert not stored.getexif()  # no orientation tag left to rotate it a second time
        corner = stored.getpixel((45, 5))  # now the top-right corner
        assert isinstance(corner, tuple)
        assert corner[0] > 200 and corner[1] < 60


def test_long_side_is_scaled_down(settings):
    settings.GRIDLINK_PHOTO_MAX_SIDE = 64

    wide = photo_store(upload=encode(noise((200, 100)), "PNG"))
    tall = photo_store(upload=encode(noise((100, 200)), "JPEG"))
    small = photo_store(upload=encode(noise((64, 10)), "WEBP"))

    assert (wide.width, wide.height) == (64, 32)
    assert (tall.width, tall.height) == (32, 64)
    assert (small.width, small.height) == (64, 10)
    with Image.open(io.BytesIO(read_stored(wide))) as stored:
        assert stored.size == (64, 32)


# --- errors name the field ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("upload", "code"),
    [
        (b"hello world", "not_an_image"),
        (png_header_only(10_000, 5_000), "too_many_pixels"),
        (b"x" * 2000, "too_large"),
    ],
    ids=["not-an-image", "too-many-pixels", "too-large"],
)
def test_error_names_the_field(settings, upload, code):
    settings.GRIDLINK_PHOTO_MAX_BYTES = 1000

    error = rejected(upload, field="result_photos")

    assert (error.code, error.field) == (code, "result_photos")
    assert error.as_dict()["field"] == "result_photos"


# --- open and delete ------------------------------------------------------------------------


def test_open_and_delete(media):
    photo = photo_store(upload=encode(noise((8, 8)), "PNG"))
    assert hashlib.sha256(read_stored(photo)).hexdigest() == photo.sha256

    photo_delete(name=photo.name)
    photo_delete(name=photo.name)  # already gone: not an error

    assert stored_files(media) == []
    with pytest.raises(PhotoNotFound) as caught:
        photo_open(name=photo.name)
    assert caught.value.status == 404


@pytest.mark.parametrize(
    "name",
    [
        "other.txt",
        "../outside.txt",
        "case-photos/2026/11/../../other.txt",
        "case-photos/2026/11/report.jpg",
        "case-photos/2026/11/" + "a" * 32 + ".php",
    ],
)
def test_only_names_photo_store_makes_can_be_opened_or_deleted(media, name):
    media.mkdir(parents=True, exist_ok=True)
    (media / "other.txt").write_text("keep me")

    with pytest.raises(PhotoNotFound):
        photo_open(name=name)
    with pytest.raises(PhotoNotFound):
        photo_delete(name=name)

    assert (media / "other.txt").read_text() == "keep me"


# --- bounded decoding (issue 10) -----------------------------------------------------------


def test_a_6000_by_6000_png_is_refused_from_its_header_in_milliseconds(client, db):
    """The reproduction: 105 KB of PNG, 36 MP, cost 6–8 s of CPU and ~700 MB to decode."""
    upload = encode(Image.new("RGB", (6000, 6000), (200, 100, 50)), "PNG", optimize=True)
    assert len(upload) < 150_000
    started = time.process_time()
    response = client.post(
        "/api/v1/uploads", {"file": SimpleUploadedFile("bomb.png", upload, "image/png")}
    )
    assert time.process_time() - started < 1.0
    assert response.status_code == 400, response.content
    [error] = response.json()["errors"]
    assert (error["field"], error["code"]) == ("file", "too_many_pixels")
    assert "24" in error["message"]


def test_a_phone_sized_jpeg_is_stored_in_full():
    scene = Image.radial_gradient("L").resize((4032, 3024)).convert("RGB")  # 12 MP, ~1 MB
    photo = photo_store(upload=encode(scene, "JPEG", quality=85))
    assert (photo.content_type, photo.width, photo.height) == ("image/jpeg", 4032, 3024)


def test_a_fifty_megapixel_jpeg_is_decoded_at_half_scale(settings):
    settings.GRIDLINK_PHOTO_MAX_SIDE = 4032
    upload = encode(Image.new("RGB", (8160, 6120), (30, 120, 200)), "JPEG", quality=85)
    started = time.process_time()
    photo = photo_store(upload=upload)
    assert (photo.width, photo.height) == (4032, 3024)
    assert time.process_time() - started < 3.0


def test_png_above_its_cap_is_refused_while_a_jpeg_of_that_size_is_not(settings):
    settings.GRIDLINK_PHOTO_MAX_PIXELS = 100
    settings.GRIDLINK_PHOTO_MAX_PIXELS_JPEG = 400
    assert rejected(encode(noise((20, 10)), "PNG")).code == "too_many_pixels"
    assert photo_store(upload=encode(noise((20, 10)), "JPEG")).width == 20
    assert rejected(encode(noise((30, 20)), "JPEG")).code == "too_many_pixels"


def test_decoding_waits_for_a_free_slot_and_then_gives_up_with_503(settings, media):
    settings.GRIDLINK_PHOTO_DECODE_SLOTS = 1
    settings.GRIDLINK_PHOTO_DECODE_WAIT_SECONDS = 0
    outcome: list[BaseException | StoredPhoto] = []

    def other_upload() -> None:
        try:
            outcome.append(photo_store(upload=encode(noise((16, 16)), "PNG"), field="file"))
        except PhotoBusy as exc:
            outcome.append(exc)

    with decode_slot(field="file"):  # another request of this process is decoding
        worker = threading.Thread(target=other_upload)
        worker.start()
        worker.join(timeout=30)
    [busy] = outcome
    assert isinstance(busy, PhotoBusy)
    assert (busy.status, busy.field, busy.retry_after) == (503, "file", 5)
    assert stored_files(media) == []
    assert photo_store(upload=encode(noise((16, 16)), "PNG")).width == 16  # the slot is free
