"""The two curator roles and what each may do.

Curators add sites, sources and draft events and send drafts for review; editors may
also review and publish. Neither may delete a source (a cited one is protected anyway)
or manage users.
"""

from django.contrib.auth.models import Group, Permission

CURATOR = "curator"
EDITOR = "editor"

CURATOR_PERMISSIONS = [
    "heritage.view_site",
    "heritage.add_site",
    "heritage.change_site",
    "heritage.view_sitename",
    "heritage.add_sitename",
    "heritage.change_sitename",
    "heritage.delete_sitename",
    "heritage.view_siteimage",
    "heritage.add_siteimage",
    "heritage.change_siteimage",
    "heritage.delete_siteimage",
    "heritage.view_actor",
    "heritage.add_actor",
    "heritage.change_actor",
    "heritage.view_damageevent",
    "heritage.add_damageevent",
    "heritage.change_damageevent",
    "reports.view_source",
    "reports.add_source",
    "reports.change_source",
    "reports.view_citation",
    "reports.add_citation",
    "reports.change_citation",
    "reports.delete_citation",
    # Reading what intake proposed (the API's claims), and the evidence as received.
    "reports.view_claim",
    "reports.view_capture",
    "reports.view_custodyentry",
]
EDITOR_PERMISSIONS = [
    *CURATOR_PERMISSIONS,
    "heritage.publish_damageevent",
    "heritage.delete_damageevent",
    "heritage.delete_site",
    "reports.delete_source",
]


def _permissions(names):
    wanted = {tuple(name.split(".")) for name in names}
    found = Permission.objects.filter(
        content_type__app_label__in={app for app, _ in wanted}
    ).select_related("content_type")
    return [p for p in found if (p.content_type.app_label, p.codename) in wanted]


def ensure_roles(**kwargs):
    """Create the groups if missing and give them exactly their permissions."""
    for name, permissions in ((CURATOR, CURATOR_PERMISSIONS), (EDITOR, EDITOR_PERMISSIONS)):
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.set(_permissions(permissions))
