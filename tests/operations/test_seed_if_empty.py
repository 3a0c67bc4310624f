import io

import pytest
from django.core.management import call_command

from accounts.models import User
from operations.models import Customer

pytestmark = pytest.mark.django_db


def test_demo_if_empty_still_seeds_beside_an_empty_organisation():
    """`createsuperuser` leaves an empty organisation; `make demo` must still seed."""
    User.objects.create_superuser("root@renoz.test", "x-very-long-password")
    out = io.StringIO()
    call_command("seed_demo", "--if-empty", "--no-progress", stdout=out)
    assert "skipping" not in out.getvalue()
    assert Customer.objects.count() == 600
