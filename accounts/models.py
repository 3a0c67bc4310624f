"""Organisations, users and their roles."""

from __future__ import annotations

import zoneinfo
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone as dj_timezone

from accounts.cache import forget_organizations, forget_users


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ValidationError(f"{value!r} is not an IANA time zone") from None


class OrganizationQuerySet(models.QuerySet):
    def update(self, **kwargs):
        """An update that also drops the organisations' cached rows (accounts.cache)."""
        ids = list(self.values_list("pk", flat=True))
        count = super().update(**kwargs)
        forget_organizations(ids)
        return count


class Organization(models.Model):
    name = models.CharField(max_length=200)
    timezone = models.CharField(
        max_length=64, default="Australia/Sydney", validators=[validate_timezone]
    )
    fiscal_year_start_month = models.PositiveSmallIntegerField(
        default=7, validators=[MinValueValidator(1), MaxValueValidator(12)]
    )
    created_at = models.DateTimeField(default=dj_timezone.now)

    objects = OrganizationQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(fiscal_year_start_month__gte=1, fiscal_year_start_month__lte=12),
                name="organization_fiscal_month_valid",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    SALES = "sales", "Sales"
    OPERATIONS = "operations", "Operations"
    TECHNICIAN = "technician", "Technician"
    VIEWER = "viewer", "Viewer"


OPERATORS_ORG_NAME = "Platform operators"


class UserQuerySet(models.QuerySet):
    def update(self, **kwargs):
        """An update that also drops the users' cached rows (accounts.cache): a user disabled
        or demoted in bulk loses their access at once too."""
        rows = list(self.values_list("pk", "organization_id"))
        count = super().update(**kwargs)
        forget_users([pk for pk, _ in rows], [org for _, org in rows])
        return count


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_queryset(self):
        return UserQuerySet(self.model, using=self._db)

    def create_user(self, email, password=None, **extra):
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        extra.setdefault("role", Role.ADMIN)
        if "organization" not in extra and "organization_id" not in extra:
            # Operators are not members of a customer organisation: they get their own, empty one.
            extra["organization"], _ = Organization.objects.get_or_create(name=OPERATORS_ORG_NAME)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=200, blank=True)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="users")
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.VIEWER)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=dj_timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        indexes = [models.Index(fields=["organization", "role"])]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(role__in=[r.value for r in Role]), name="user_role_valid"
            )
        ]

    def __str__(self) -> str:
        return self.full_name or self.email
