"""The production settings plus the bench's bare endpoints; everything else is untouched."""

from propel.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
