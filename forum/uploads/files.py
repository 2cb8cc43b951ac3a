"""What an uploaded file is, decided from its bytes, and the bytes we store instead of it.

Uploaded files are hostile until proven otherwise. An image is decoded and re-encoded by
Pillow: the stored file is ours, without metadata (EXIF, GPS, camera serials), turned the
way it was shot, no larger than UPLOAD_MAX_DIMENSION, with a thumbnail. Text files must be
UTF-8 text that is not markup; PDFs must look like PDFs without scripts. Anything else, or
anything whose name says one type while its bytes say another, is refused with a message
that says why. Every refusal is an Invalid on the "attachment" field.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from forum.errors import Invalid

FIELD = "attachment"
# Pillow format -> (content type, the address's extension, the file name endings it may have).
IMAGE_TYPES = {
    "PNG": ("image/png", "png", {"png"}),
    "JPEG": ("image/jpeg", "jpg", {"jpg", "jpeg", "jfif"}),
    "WEBP": ("image/webp", "webp", {"webp"}),
    "GIF": ("image/gif", "gif", {"gif"}),
}
TEXT_TYPES = {"txt": "text/plain", "log": "text/plain", "csv": "text/csv"}
PDF_TYPE = "application/pdf"
ALLOWED_ENDINGS = sorted(
    {e for _, _, endings in IMAGE_TYPES.values() for e in endings} | set(TEXT_TYPES) | {"pdf"}
)
ACCEPT = ",".join(f".{ending}" for ending in ALLOWED_ENDINGS)  # the file field's accept attribute

_MARKUP_START = re.compile(rb"\s*<(?:!doctype|html|head|body|svg|\?xml|script|iframe|!--)", re.IGNORECASE)
_PDF_ACTIONS = re.compile(rb"/(?:JavaScript|JS|Launch|EmbeddedFile|RichMedia|OpenAction)\b")


@dataclass(frozen=True)
class Stored:
    """What to store for one upload: the bytes, their type, and for images a thumbnail."""

    data: bytes
    content_type: str
    extension: str
    name: str
    is_image: bool
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    thumbnail_type: str | None = None


def clean_name(filename: str | None) -> str:
    """The file name to show: no folders, no control characters, at most 120 characters."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in unicodedata.normalize("NFC", name) if unicodedata.category(c)[0] != "C")
    name = name.strip().strip(".") or "file"
    if len(name) > 120:
        stem, _, ending = name.rpartition(".")
        name = (stem[: 110 - len(ending)] + "…." + ending) if stem and len(ending) <= 8 else name[:120]
    return name


def ending_of(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def check_file(data: bytes, filename: str | None, *, limit: int | None = None) -> Stored:
    """Decide what `data` is and what to store; raise Invalid with the reason if it is refused."""
    config = current_app.config
    name = clean_name(filename)
    ending = ending_of(name)
    if not data:
        raise Invalid(f"“{name}” is empty (0 bytes).", FIELD)
    if ending not in ALLOWED_ENDINGS:
        raise Invalid(
            f"“{name}” is not a type this forum accepts. Accepted: images (PNG, JPEG, WebP, GIF), "
            "text files (.txt, .log, .csv) and PDFs.",
            FIELD,
        )
    is_image = any(ending in endings for _, _, endings in IMAGE_TYPES.values())
    limit = limit or (config["UPLOAD_MAX_IMAGE_BYTES"] if is_image else config["UPLOAD_MAX_FILE_BYTES"])
    if len(data) > limit:
        raise Invalid(f"“{name}” is {size_in_words(len(data))}; the limit is {size_in_words(limit)}.", FIELD)
    if is_image:
        return _image(data, name, ending)
    if ending == "pdf":
        return _pdf(data, name)
    return _text(data, name, ending)


def size_in_words(size: int) -> str:
    if size < 1024:
        return f"{size} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


# -- images ------------------------------------------------------------------------------------


def _trailing_data(data: bytes, kind: str) -> bool:
    """Bytes after the end of the image (a PNG with HTML appended is a polyglot, not a picture)."""
    if kind == "PNG":
        end = data.rfind(b"IEND")
        return end == -1 or end + 8 < len(data)
    if kind == "JPEG":
        return not data.rstrip(b"\x00").endswith(b"\xff\xd9")
    if kind == "GIF":
        return not data.rstrip(b"\x00").endswith(b";")
    if kind == "WEBP":
        declared = int.from_bytes(data[4:8], "little") + 8
        return len(data) > declared + 1
    return True


def _image(data: bytes, name: str, ending: str) -> Stored:
    config = current_app.config
    damaged = Invalid(f"“{name}” could not be read as an image: it is damaged or incomplete.", FIELD)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=list(IMAGE_TYPES))
        except UnidentifiedImageError:
            raise Invalid(
                f"“{name}” is not a PNG, JPEG, WebP or GIF image, whatever its name says.", FIELD
            ) from None
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(name) from None
        except (OSError, ValueError, SyntaxError):
            raise damaged from None
        kind = image.format or ""
        content_type, extension, endings = IMAGE_TYPES[kind]
        if ending not in endings:
            raise Invalid(
                f"“{name}” is named .{ending} but it is a {kind} image; rename it .{extension}.", FIELD
            )
        if image.width * image.height > config["UPLOAD_MAX_PIXELS"]:
            raise _too_many_pixels(name)
        frames = getattr(image, "n_frames", 1)
        if frames > config["UPLOAD_MAX_FRAMES"]:
            raise Invalid(
                f"“{name}” has {frames} frames; animations may have at most {config['UPLOAD_MAX_FRAMES']}.",
                FIELD,
            )
        try:
            image.load()
            if frames > 1:
                for index in range(frames):
                    image.seek(index)
                    image.load()
                image.seek(0)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise _too_many_pixels(name) from None
        except (OSError, ValueError, SyntaxError, EOFError):
            raise damaged from None
        if _trailing_data(data, kind):
            raise Invalid(
                f"“{name}” has data after the end of the image; save it again as a plain image.", FIELD
            )
    stored, width, height = _reencode(image, kind, config["UPLOAD_MAX_DIMENSION"])
    thumbnail, thumbnail_type = _thumbnail(image, kind, config["UPLOAD_THUMBNAIL_SIZE"])
    return Stored(
        data=stored, content_type=content_type, extension=extension, name=name, is_image=True,
        width=width, height=height, thumbnail=thumbnail, thumbnail_type=thumbnail_type,
    )  # fmt: skip


def _too_many_pixels(name: str) -> Invalid:
    limit = current_app.config["UPLOAD_MAX_PIXELS"]
    return Invalid(f"“{name}” has too many pixels (the limit is {limit / 1e6:.0f} megapixels).", FIELD)


def _upright(frame: Image.Image) -> Image.Image:
    return ImageOps.exif_transpose(frame) or frame


def _save(image: Image.Image, kind: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    if kind == "JPEG":
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        image.save(buffer, "JPEG", quality=85, optimize=True, **options)
    elif kind == "PNG":
        image.save(buffer, "PNG", optimize=True, **options)
    elif kind == "WEBP":
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA")
        image.save(buffer, "WEBP", quality=85, **options)
    else:
        image.save(buffer, "GIF", **options)
    return buffer.getvalue()


def _reencode(image: Image.Image, kind: str, max_dimension: int) -> tuple[bytes, int, int]:
    """New bytes from the decoded pixels only: nothing of the original file survives."""
    frames = getattr(image, "n_frames", 1)
    if frames > 1:
        pictures = []
        durations = []
        for index in range(frames):
            image.seek(index)
            frame = image.convert("RGBA")
            frame.thumbnail((max_dimension, max_dimension))
            pictures.append(frame)
            durations.append(int(image.info.get("duration", 100) or 100))
        first = pictures[0]
        data = _save(
            first, kind, save_all=True, append_images=pictures[1:], duration=durations, loop=0, disposal=2
        )
        return data, first.width, first.height
    picture = _upright(image)
    if "transparency" in picture.info:  # kept as an alpha channel: the info that carried it is dropped
        picture = picture.convert("RGBA")
    if picture.mode not in ("RGB", "RGBA", "L", "LA", "P", "1"):
        picture = picture.convert("RGBA" if "A" in picture.getbands() else "RGB")
    picture = picture.copy()  # drops image.info: no EXIF, ICC, text chunks or comments are carried
    picture.info = {}
    picture.thumbnail((max_dimension, max_dimension))
    return _save(picture, kind), picture.width, picture.height


def _thumbnail(image: Image.Image, kind: str, size: int) -> tuple[bytes | None, str | None]:
    """A still, smaller picture for the post (the full image opens from it); None if it is small."""
    image.seek(0)
    picture = _upright(image)
    if "transparency" in picture.info:
        picture = picture.convert("RGBA")
    picture = picture.copy()
    picture.info = {}
    if picture.width <= size and picture.height <= size and getattr(image, "n_frames", 1) == 1:
        return None, None
    picture.thumbnail((size, size))
    if kind == "JPEG":
        return _save(picture, "JPEG"), "image/jpeg"
    return _save(picture.convert("RGBA"), "WEBP"), "image/webp"


def make_avatar(data: bytes, filename: str | None) -> Stored:
    """A profile picture: any accepted image, cropped to the middle square, 256 pixels, WebP."""
    checked = check_file(data, filename)
    if not checked.is_image:
        raise Invalid("A profile picture must be an image (PNG, JPEG, WebP or GIF).", FIELD)
    image = Image.open(io.BytesIO(checked.data))
    image.seek(0)
    picture = ImageOps.fit(image.convert("RGBA"), (256, 256), method=Image.Resampling.LANCZOS)
    return Stored(
        data=_save(picture, "WEBP"), content_type="image/webp", extension="webp",
        name=checked.name, is_image=True, width=256, height=256,
    )  # fmt: skip


# -- text and PDF ------------------------------------------------------------------------------


def _text(data: bytes, name: str, ending: str) -> Stored:
    if b"\x00" in data:
        raise Invalid(f"“{name}” is not a text file (it contains binary data).", FIELD)
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid(f"“{name}” is not UTF-8 text; save it as UTF-8 and try again.", FIELD) from None
    if _MARKUP_START.match(data.removeprefix(b"\xef\xbb\xbf")):
        raise Invalid(f"“{name}” is HTML, SVG or XML; only plain text, logs and CSV are accepted.", FIELD)
    return Stored(data=data, content_type=TEXT_TYPES[ending], extension=ending, name=name, is_image=False)


def _pdf(data: bytes, name: str) -> Stored:
    if not data.startswith(b"%PDF-") or b"%%EOF" not in data[-2048:]:
        raise Invalid(f"“{name}” is not a complete PDF document, whatever its name says.", FIELD)
    if _PDF_ACTIONS.search(data):
        raise Invalid(
            f"“{name}” contains scripts, launch actions or embedded files; print it to a plain PDF and try again.",
            FIELD,
        )
    return Stored(data=data, content_type=PDF_TYPE, extension="pdf", name=name, is_image=False)
