"""Curators keep sites, their other names and their pictures."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from heritage.models import Site, SiteImage, SiteName
from tests.helpers import make_event, make_site

pytestmark = pytest.mark.django_db

LIST_URL = reverse("admin:heritage_site_changelist")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def picture(image_format="JPEG", size=(64, 48), exif=None, name=None):
    buffer = io.BytesIO()
    image = Image.new("RGB", size, (200, 150, 90))
    options = {"exif": exif} if exif is not None else {}
    image.save(buffer, format=image_format, **options)
    extension = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}[image_format]
    return SimpleUploadedFile(name or f"photo.{extension}", buffer.getvalue())


def site_form(site, image=None, **fields):
    data = {
        "name": site.name,
        "slug": site.slug,
        "kind": site.kind,
        "parent": "",
        "description": "",
        "built": "",
        "latitude": "34.5474",
        "longitude": "38.2739",
        "location_precision": "exact",
        "unesco_ref": "",
        "wikidata": "",
        "pleiades": "",
        "names-TOTAL_FORMS": "0",
        "names-INITIAL_FORMS": "0",
        "names-MIN_NUM_FORMS": "0",
        "names-MAX_NUM_FORMS": "1000",
        "images-TOTAL_FORMS": "1" if image else "0",
        "images-INITIAL_FORMS": "0",
        "images-MIN_NUM_FORMS": "0",
        "images-MAX_NUM_FORMS": "1000",
        "opened_version": Site.objects.get(pk=site.pk).version,
        "change_reason": "A change made by a test",
        "_save": "Save",
    }
    if image:
        data |= {
            "images-0-image": image,
            "images-0-caption": "The cella from the west",
            "images-0-credit": "A. Photographer",
            "images-0-licence": "CC BY-SA 4.0",
            "images-0-taken": "2010-04",
        }
    return data | fields


def change(client, site, **kwargs):
    return client.post(
        reverse("admin:heritage_site_change", args=[site.pk]), site_form(site, **kwargs)
    )


def inline_errors(response):
    formset = response.context["inline_admin_formsets"][1].formset
    return " ".join(str(m) for errors in formset.errors for ms in errors.values() for m in ms)


def test_a_picture_is_stored_re_encoded_without_its_exif(admin_client):
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"  # Make
    exif[0x8825] = {2: (34.0, 32.0, 50.0)}  # GPS latitude
    site = make_site()
    response = change(admin_client, site, image=picture(exif=exif.tobytes()))
    assert response.status_code == 302, inline_errors(response)

    stored = SiteImage.objects.get(site=site)
    assert (stored.width, stored.height) == (64, 48)
    with Image.open(stored.image.path) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
    with open(stored.image.path, "rb") as stored_file:
        assert b"CameraMaker" not in stored_file.read()


def test_the_site_page_shows_a_thumbnail_of_each_picture(admin_client):
    site = make_site()
    change(admin_client, site, image=picture("PNG"))
    response = admin_client.get(reverse("admin:heritage_site_change", args=[site.pk]))
    image = SiteImage.objects.get(site=site)
    page = response.content.decode()
    assert (
        f'<img src="{image.image.url}" alt="The cella from the west" width="64" height="48">'
        in (page)
    )


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("photo.jpg", b"this is plain text"), "not a picture we can read"),
        (
            SimpleUploadedFile(
                "drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"><script/></svg>'
            ),
            "not a picture we can read",
        ),
        (picture("GIF", name="anim.jpg"), "This is a GIF file"),
        (
            # PostScript, which Pillow would hand to Ghostscript to draw.
            SimpleUploadedFile(
                "cover.eps",
                b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\nshowpage\n%%EOF\n",
            ),
            "EPS",
        ),
    ],
)
def test_a_file_that_is_not_an_accepted_picture_is_refused(admin_client, upload, message):
    site = make_site()
    response = change(admin_client, site, image=upload)
    assert response.status_code == 200
    assert message in inline_errors(response)
    assert not SiteImage.objects.exists()


def test_a_decompression_bomb_is_refused_before_it_is_decoded(admin_client, settings):
    settings.IMAGE_MAX_PIXELS = 1_000_000
    bomb = picture("PNG", size=(4000, 4000))  # a few kB on disk, 16 million pixels
    assert bomb.size < 100_000
    response = change(admin_client, make_site(), image=bomb)
    assert response.status_code == 200
    assert "4000 × 4000 pixels" in inline_errors(response)
    assert not SiteImage.objects.exists()


def test_a_picture_over_the_size_cap_is_refused(admin_client, settings):
    settings.IMAGE_MAX_BYTES = 1_000
    response = change(admin_client, make_site(), image=picture(size=(400, 400)))
    assert response.status_code == 200
    assert "the most we keep is" in inline_errors(response)
    assert not SiteImage.objects.exists()


def test_latitude_91_is_refused_and_nothing_is_saved(admin_client):
    site = make_site(name="Temple of Bel")
    response = change(admin_client, site, latitude="91", name="Renamed")
    assert response.status_code == 200
    assert "latitude" in response.context["adminform"].form.errors
    site.refresh_from_db()
    assert site.name == "Temple of Bel"


@pytest.mark.parametrize("term", ["Tadmor", "تدمر", "palmyra", "TADMUR"])
def test_sites_are_found_by_any_of_their_names(admin_client, term):
    palmyra = make_site(name="Palmyra", kind="city")
    SiteName.objects.create(site=palmyra, name="Tadmor", language="ar-Latn")
    SiteName.objects.create(site=palmyra, name="Tadmur", language="ar-Latn")
    SiteName.objects.create(site=palmyra, name="تدمر", language="ar")
    make_site(name="Apamea", kind="city")
    response = admin_client.get(LIST_URL, {"q": term})
    assert list(response.context["cl"].result_list) == [palmyra]


def test_the_site_autocomplete_answers_by_alias(admin_client):
    site = make_site(name="Temple of Baalshamin")
    SiteName.objects.create(site=site, name="Baal Shamin")
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "Baal Sh",
            "app_label": "heritage",
            "model_name": "damageevent",
            "field_name": "site",
        },
    )
    assert [r["text"] for r in response.json()["results"]] == ["Temple of Baalshamin"]


@pytest.mark.parametrize("sites", [2, 20])
def test_the_site_list_costs_the_same_queries_however_many_rows(
    admin_client, django_assert_num_queries, sites
):
    city = make_site(kind="city")
    for _ in range(sites - 1):
        make_event(make_site(parent=city))
    # Expect 5 queries: the session, the user, the count for the paginator, the total for
    # "show all", and the sites with their parent and event count.
    with django_assert_num_queries(5):
        response = admin_client.get(LIST_URL)
    assert len(response.context["cl"].result_list) == sites
    assert Site.objects.count() == sites


def test_a_phone_jpeg_with_a_second_frame_is_kept_as_a_jpeg(admin_client):
    buffer = io.BytesIO()
    first, second = Image.new("RGB", (32, 24), (9, 9, 9)), Image.new("RGB", (32, 24))
    first.save(buffer, format="MPO", save_all=True, append_images=[second])
    upload = SimpleUploadedFile("phone.jpg", buffer.getvalue())
    response = change(admin_client, make_site(), image=upload)
    assert response.status_code == 302, inline_errors(response)
    with Image.open(SiteImage.objects.get().image.path) as stored:
        assert stored.format == "JPEG"


def test_a_truncated_jpeg_is_refused_with_a_message(admin_client):
    whole = picture(size=(400, 300)).read()
    upload = SimpleUploadedFile("cut.jpg", whole[: len(whole) // 2])
    response = change(admin_client, make_site(), image=upload)
    assert response.status_code == 200
    assert "damaged or incomplete" in inline_errors(response)
    assert not SiteImage.objects.exists()


def test_a_real_decompression_bomb_gets_the_pixel_message_not_a_generic_one(admin_client):
    # 20000 × 20000: past twice Pillow's own limit, where Django's check would answer first.
    bomb = picture("PNG", size=(20000, 20000))
    response = change(admin_client, make_site(), image=bomb)
    assert response.status_code == 200
    assert "more than we can safely process" in inline_errors(response)
    assert not SiteImage.objects.exists()


def test_a_site_whose_stored_picture_went_missing_can_still_be_edited(admin_client):
    # A new site, still waiting for review: its changes apply at once.
    site = make_site(approve=False)
    image = SiteImage.objects.create(
        site=site, image=picture(), caption="West front", credit="A. B.", licence="CC0"
    )
    image.image.storage.delete(image.image.name)
    data = site_form(site, name="Renamed") | {
        "images-TOTAL_FORMS": "1",
        "images-INITIAL_FORMS": "1",
        "images-0-id": str(image.pk),
        "images-0-site": str(site.pk),
        "images-0-caption": "West front",
        "images-0-credit": "A. B.",
        "images-0-licence": "CC0",
        "images-0-taken": "",
        "images-0-opened_version": image.version,
    }
    response = admin_client.post(reverse("admin:heritage_site_change", args=[site.pk]), data)
    assert response.status_code == 302, inline_errors(response)
    site.refresh_from_db()
    assert site.name == "Renamed"
