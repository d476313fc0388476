"""A URLconf with a view that fails, to reach handler500 through the whole stack."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def broken(request: HttpRequest) -> HttpResponse:
    raise ValueError("a bug with secret detail")


urlpatterns = [path("broken/", broken), path("", include("propel.urls"))]
handler500 = "propel.error_pages.server_error"
