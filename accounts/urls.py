from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views
from accounts.forms import EmailAuthenticationForm

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="accounts/login.html",
            authentication_form=EmailAuthenticationForm,
            redirect_authenticated_user=True,
        ),
        name="accounts-login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="accounts-logout"),
    path("password/reset/", views.password_reset, name="accounts-password-reset"),
    path("password/reset/sent/", views.password_reset_done, name="accounts-password-reset-done"),
    path(
        "password/reset/<uidb64>/<token>/",
        views.password_reset_confirm,
        name="accounts-password-reset-confirm",
    ),
    path(
        "password/reset/done/",
        views.password_reset_complete,
        name="accounts-password-reset-complete",
    ),
    path("password/change/", views.password_change, name="accounts-password-change"),
    path(
        "password/change/done/",
        views.password_change_done,
        name="accounts-password-change-done",
    ),
]
