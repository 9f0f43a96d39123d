"""Settings of the evidence store that would otherwise fail only when a curator exports."""

from django.core.checks import Error, register


@register()
def signing_key_is_readable(app_configs, **kwargs):
    from reports.evidence.signing import BadKey, register_key

    try:
        register_key()
    except BadKey as error:
        return [
            Error(
                f"EVIDENCE_SIGNING_KEY cannot be read: {error}",
                hint="Make one with `manage.py signing_key`, or unset it to sign nothing.",
                id="reports.E001",
            )
        ]
    return []
