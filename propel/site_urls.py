from django.urls import path

from propel import auth_views, health, views

app_name = "propel"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("accounts/login/", auth_views.login_view, name="login"),
    path("accounts/logout/", auth_views.logout_view, name="logout"),
    path("accounts/second-factor/", auth_views.second_factor, name="second_factor"),
    path("accounts/second-factor/enrol/", auth_views.enrol, name="second_factor_enrol"),
    path("accounts/second-factor/backup-codes/", auth_views.backup_codes, name="backup_codes"),
    path("staff/audit/", views.audit_log, name="audit_log"),
]
