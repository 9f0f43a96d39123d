"""Who may do what through the API: DRF permission classes that ask the workflow."""

from rest_framework import permissions

from heritage import workflow


class RecordPermission(permissions.DjangoModelPermissionsOrAnonReadOnly):
    """Anyone reads; writing needs the model permission (a curator's or an editor's), and
    a record the workflow keeps read-only to this user now (an event in review, and its
    evidence, for a curator) refuses it, saying why. What a write then becomes (applied,
    or a proposal for review) is the workflow's to say, in the view."""

    def has_object_permission(self, request, view, obj):
        if request.method in permissions.SAFE_METHODS:
            return True
        problem = workflow.change_refusal(request.user, obj)
        if problem:
            self.message = problem
            return False
        return True
