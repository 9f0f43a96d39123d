"""Template filters of the public pages."""

from django import template

from heritage.dates import describe_edtf
from heritage.models import GRADE_EXPLANATIONS, DamageLevel, Grade

register = template.Library()


@register.filter
def edtf_human(value):
    """An EDTF date as a reader says it: "about August 2015"."""
    return describe_edtf(value) if value else ""


@register.filter
def level_label(value):
    return DamageLevel(value).label if value in DamageLevel.values else "No event recorded"


@register.filter
def grade_explanation(value):
    return GRADE_EXPLANATIONS.get(Grade(value), "") if value in Grade.values else ""
