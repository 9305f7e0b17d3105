"""Shared test configuration: hypothesis profiles.

``ci`` (the default) keeps property tests quick on a shared 2-core machine; ``dev`` digs
deeper: ``HYPOTHESIS_PROFILE=dev python3 -m pytest tests/transform``. No deadline: timing
on a shared machine says nothing about correctness.
"""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "dev",
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
