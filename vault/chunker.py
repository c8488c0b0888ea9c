"""Content-defined chunking (FastCDC 2020 via pyfastcdc) with a per-vault secret gear seed.

Parameters: ``avg_size`` 24 KiB with ``min_size`` 8 KiB and ``max_size`` 128 KiB gives chunks
of ≈ 34 KB on average on transcript text (pyfastcdc's effective mean is about
avg + min). Small chunks matter because transcripts grow by appending: the last chunk is
re-stored on every version, so its expected size bounds the cost of each new version.
The seed is secret (derived from the master key), so boundaries reveal nothing about content.
"""

from __future__ import annotations

from pyfastcdc.cy import FastCDC

AVG_SIZE = 24 * 1024
MIN_SIZE = 8 * 1024
MAX_SIZE = 128 * 1024


def make_chunker(seed: int) -> FastCDC:
    """A FastCDC instance with aifs's fixed sizes and the vault's secret ``seed`` (< 2**62)."""
    return FastCDC(AVG_SIZE, min_size=MIN_SIZE, max_size=MAX_SIZE, seed=seed)
