"""The whole stack (`live`) for the deployment tests too."""

from tests.flows.conftest import live  # noqa: F401  (the fixture, for this package)
