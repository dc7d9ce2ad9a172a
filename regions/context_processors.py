from .choices import EDIT_REGISTER, IMPORT_LEDGER, SEE_IDENTITY
from .scoping import has_capability, scope_of


def user_scope(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "user_scope": scope_of(user),
        "show_identity": has_capability(user, SEE_IDENTITY),
        "can_edit_register": has_capability(user, EDIT_REGISTER),
        "can_import_ledger": has_capability(user, IMPORT_LEDGER),
    }
