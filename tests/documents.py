"""Documents built for tests: PDFs with text on their pages, WARC and WACZ web archives.
Small, made here, so that nothing is downloaded and no one else's text is kept."""

import io
import zipfile

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter


def pdf(*contents, title=b""):
    """A PDF with a page for each content stream (bytes, or (bytes, extra stream keys)),
    Helvetica as /F1, and a correct cross-reference table."""
    objects = [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>", b""]
    kids = []
    for content in contents:
        stream, keys = content if isinstance(content, tuple) else (content, b"")
        objects.append(b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(stream), keys, stream))
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 1 0 R >> >> /Contents %d 0 R >>" % len(objects)
        )
        kids.append(b"%d 0 R" % len(objects))
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (b" ".join(kids), len(kids))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    trailer = b"/Root %d 0 R" % len(objects)
    if title:
        objects.append(b"<< /Title (%s) >>" % title)
        trailer += b" /Info %d 0 R" % len(objects)
    out, offsets = bytearray(b"%PDF-1.4\n"), []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    table = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d %s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        table,
    )
    return bytes(out)


def lines(*said):
    shown = b" ".join(b"(%s) Tj T*" % line.encode() for line in said)
    return b"BT /F1 12 Tf 72 720 Td 14 TL " + shown + b" ET"


def warc(*responses, gzipped=True):
    """A WARC of a warcinfo record and a response for each (url, content type, body)."""
    out = io.BytesIO()
    writer = WARCWriter(out, gzip=gzipped)
    writer.write_record(writer.create_warcinfo_record("capture.warc", {"software": "tests"}))
    for url, content_type, body in responses:
        http = StatusAndHeaders("200 OK", [("Content-Type", content_type)], protocol="HTTP/1.1")
        record = writer.create_warc_record(
            url, "response", payload=io.BytesIO(body), http_headers=http
        )
        writer.write_record(record)
    return out.getvalue()


def wacz(members):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()
