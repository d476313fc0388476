"""Moved to propel.secret_addresses (issue 16: the questionnaire pages in intake use it too).

Kept only for scheduling.online.public_views, which another branch of issue 16 rewrites; that
branch imports propel.secret_addresses and this module goes.
"""

from propel.secret_addresses import keep_private, secret_address

__all__ = ["keep_private", "secret_address"]
