"""Checks and cleans the pictures curators upload of a site.

A file is judged by its content, never its name: only JPEG, PNG and WebP are kept, a
picture with too many pixels (a decompression bomb) is refused before it is decoded,
and what is stored is re-encoded by Pillow, which drops EXIF (camera, GPS position).
"""

import io
import warnings

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile
from django.db import models
from PIL import Image, ImageOps, UnidentifiedImageError

# What Pillow reports, and what we store it as. Phones and cameras write JPEGs with a
# second, multi-picture frame, which Pillow calls MPO: we keep the first frame.
STORED_AS = {"JPEG": "JPEG", "MPO": "JPEG", "PNG": "PNG", "WEBP": "WEBP"}
EXTENSIONS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}
SAVE_OPTIONS = {
    "JPEG": {"quality": 88, "optimize": True},
    "PNG": {"optimize": True},
    "WEBP": {"quality": 88},
}


# Copies of the decoded picture alive at once while it is checked and re-encoded (the
# decoded frame, the upright one, an RGB conversion): the memory an upload may take is
# the decoded size times this.
COPIES = 3


def decoded_bytes(image):
    """What the picture takes in memory once decoded: its pixels times the bytes each
    holds in its mode (RGBA 4, RGB 3, L 1, I;16 2 …). A WebP of 40 million pixels is
    70 KB on disk and 160 MB decoded."""
    bands = len(image.getbands())
    bits = {"1": 1, "I;16": 16, "I;16B": 16, "I;16L": 16, "I": 32, "F": 32}.get(image.mode, 8)
    return image.width * image.height * max(1, bands * bits // 8)


def _too_many_pixels(**params):
    return ValidationError(
        "This picture has %(pixels)s, more than we can safely process; scale it down below "
        "%(limit)s million pixels.",
        code="too_many_pixels",
        params={"limit": settings.IMAGE_MAX_PIXELS // 1_000_000, **params},
    )


def _open(upload):
    # Pillow gets its own copy (uploads are size-capped first): it may close what it reads.
    upload.seek(0)
    data = io.BytesIO(upload.read())
    upload.seek(0)
    with warnings.catch_warnings():
        # Past its own limit Pillow warns, and past twice that it raises: both are bombs.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(data)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise _too_many_pixels(pixels="too many pixels") from error
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise ValidationError(
                "This file is not a picture we can read. Upload a JPEG, PNG or WebP image.",
                code="not_an_image",
            ) from error


def validate_image_upload(upload):
    if getattr(upload, "_committed", False):
        return  # already stored: it was checked when it arrived
    size = getattr(upload, "size", None)
    if size is not None and size > settings.IMAGE_MAX_BYTES:
        raise ValidationError(
            "This picture is %(size)s MB; the most we keep is %(limit)s MB.",
            code="too_large",
            params={
                "size": round(size / 1_048_576, 1),
                "limit": round(settings.IMAGE_MAX_BYTES / 1_048_576, 1),
            },
        )
    image = _open(upload)
    try:
        if image.format not in STORED_AS:
            raise ValidationError(
                "This is a %(format)s file; upload a JPEG, PNG or WebP image.",
                code="wrong_format",
                params={"format": image.format or "unknown"},
            )
        width, height = image.size
        if width * height > settings.IMAGE_MAX_PIXELS:
            raise _too_many_pixels(pixels=f"{width} × {height} pixels")
        # Counted from the header, before decoding: a picture small on disk can be huge
        # in memory (a WebP of flat colour compresses a thousand times).
        if decoded_bytes(image) * COPIES > settings.IMAGE_MAX_MEMORY:
            raise ValidationError(
                "This picture would take %(needed)s MB of memory to process (%(width)s × "
                "%(height)s pixels, %(mode)s); the most we use is %(limit)s MB. Scale it down.",
                code="too_much_memory",
                params={
                    "needed": decoded_bytes(image) * COPIES // 1_048_576,
                    "width": width,
                    "height": height,
                    "mode": image.mode,
                    "limit": settings.IMAGE_MAX_MEMORY // 1_048_576,
                },
            )
        try:
            # Decoding finds truncated and corrupt files (verify() skips JPEG data).
            image.load()
        except Exception as error:
            raise ValidationError(
                "This picture is damaged or incomplete; upload it again.", code="corrupt"
            ) from error
    finally:
        image.close()


def reencode_image(upload):
    """The picture decoded and written anew, upright, without EXIF or other metadata;
    its `image_size` says its width and height."""
    with _open(upload) as original:
        stored_as = STORED_AS[original.format]
        original.seek(0)  # the first frame of a multi-picture file
        image = ImageOps.exif_transpose(original)
    if stored_as == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format=stored_as, **SAVE_OPTIONS[stored_as])
    name = upload.name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
    cleaned = InMemoryUploadedFile(
        buffer,
        field_name="image",
        name=f"{name}.{EXTENSIONS[stored_as]}",
        content_type=f"image/{stored_as.lower()}",
        size=buffer.tell(),
        charset=None,
    )
    cleaned.image_size = image.size
    return cleaned


class PictureFormField(forms.ImageField):
    def to_python(self, data):
        # Ours first: Django's own check calls every bomb "not an image".
        if data not in self.empty_values:
            validate_image_upload(data)
        return super().to_python(data)


class PictureField(models.ImageField):
    """An image field whose uploads pass validate_image_upload, in forms too."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("validators", [validate_image_upload])
        super().__init__(*args, **kwargs)

    def formfield(self, **kwargs):
        return super().formfield(**{"form_class": PictureFormField, **kwargs})
