"""Checks and cleans the pictures curators upload of a site.

A file is judged by its content, never its name: only JPEG, PNG and WebP are kept, a
picture with too many pixels (a decompression bomb) is refused before it is decoded,
and what is stored is re-encoded by Pillow, which drops EXIF (camera, GPS position).
"""

import io
import warnings

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import InMemoryUploadedFile
from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp"}


def _open(upload):
    upload.seek(0)
    with warnings.catch_warnings():
        # Pillow warns, then raises, past its own pixel limit; ours is checked below.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            return Image.open(upload)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise ValidationError(
                "This picture has more pixels than we can safely process; scale it down "
                "below %(limit)s million pixels.",
                code="too_many_pixels",
                params={"limit": settings.IMAGE_MAX_PIXELS // 1_000_000},
            ) from error
        except (UnidentifiedImageError, OSError, ValueError) as error:
            raise ValidationError(
                "This file is not a picture we can read. Upload a JPEG, PNG or WebP image.",
                code="not_an_image",
            ) from error


def validate_image_upload(upload):
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
    if image.format not in ALLOWED_FORMATS:
        raise ValidationError(
            "This is a %(format)s file; upload a JPEG, PNG or WebP image.",
            code="wrong_format",
            params={"format": image.format or "unknown"},
        )
    width, height = image.size
    if width * height > settings.IMAGE_MAX_PIXELS:
        raise ValidationError(
            "This picture is %(width)s × %(height)s pixels, more than we can safely "
            "process; scale it down below %(limit)s million pixels.",
            code="too_many_pixels",
            params={
                "width": width,
                "height": height,
                "limit": settings.IMAGE_MAX_PIXELS // 1_000_000,
            },
        )
    try:
        # verify() reads the whole file and finds truncation and corrupt chunks.
        image.verify()
    except Exception as error:
        raise ValidationError(
            "This picture is damaged or incomplete; upload it again.", code="corrupt"
        ) from error
    finally:
        upload.seek(0)


def reencode_image(upload):
    """The picture decoded and written anew in its own format, upright, without EXIF."""
    image = _open(upload)
    image_format = image.format
    image = ImageOps.exif_transpose(image)
    if image_format == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    options = {
        "JPEG": {"quality": 88, "optimize": True},
        "WEBP": {"quality": 88},
        "PNG": {"optimize": True},
    }[image_format]
    image.save(buffer, format=image_format, **options)
    name = upload.name.rsplit("/", 1)[-1].rsplit(".", 1)[0] or "image"
    return InMemoryUploadedFile(
        buffer,
        field_name="image",
        name=f"{name}.{ALLOWED_FORMATS[image_format]}",
        content_type=f"image/{ALLOWED_FORMATS[image_format].replace('jpg', 'jpeg')}",
        size=buffer.tell(),
        charset=None,
    )
