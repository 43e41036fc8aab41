"""Builders of bad inputs for the error table in docs/errors.md (one per row id).

Each builder takes the test's folder, writes what its case needs there and returns the
command's arguments; the builders live in :mod:`error_cases_files` (files, arrays, options,
sizes) and :mod:`error_cases_runs` (import, train, sweep, report).
"""

from error_cases_files import *  # noqa: F403 - every public name is a row's builder
from error_cases_runs import *  # noqa: F403

#: Cases run under a file-size limit (RLIMIT_FSIZE, bytes): a write past it fails with EFBIG.
FILE_SIZE_LIMITS = {"output_too_large": 4096}

#: Cases run with these environment variables (over the table's memory cap).
ENVIRONMENTS = {"memory_limit_not_finite": {"GRADFLOW_MEMORY_LIMIT": "inf"}}
