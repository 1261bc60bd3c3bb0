"""The whole stack (`live`) and the forms app in-process (`forms`) for these tests too."""

from tests.flows.conftest import live  # noqa: F401  (the fixture, for this package)
from tests.forms.conftest import forms  # noqa: F401  (the fixture, for this package)
