# Placeholder: replaced by the health-check work.
from django.http import JsonResponse


def healthz(request):
    return JsonResponse({"status": "todo"}, status=503)
