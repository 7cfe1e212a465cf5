"""Test-wide setup: quiet structlog (tests that inspect logs use structlog.testing.capture_logs)."""

from __future__ import annotations

import logging

import structlog

structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.CRITICAL))
