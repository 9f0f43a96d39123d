"""The review queue's counts, on the admin's index page."""

from django import template
from django.urls import reverse

from heritage.models import DamageEvent, PendingChange, State
from reports.models import Claim, ClaimStatus

register = template.Library()


@register.inclusion_tag("admin/heritage/_review_counts.html", takes_context=True)
def review_counts(context):
    user = context["request"].user
    if not user.has_perm("heritage.view_damageevent"):
        return {"shown": False}
    return {
        "shown": True,
        "url": reverse("admin:heritage_review_queue"),
        "in_review": DamageEvent.objects.filter(state=State.REVIEW).count(),
        "proposals": PendingChange.objects.filter(status=PendingChange.Status.PENDING).count(),
        "claims": Claim.objects.filter(status=ClaimStatus.PROPOSED).count(),
    }
