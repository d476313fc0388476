# Placeholder: replaced by the accounts work (login, second factor, backup codes).
from django.http import HttpResponse


def _todo(request, *args, **kwargs):
    return HttpResponse("not yet", status=501)


login_view = logout_view = second_factor = enrol = backup_codes = _todo
