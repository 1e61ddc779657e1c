"""zlib, or the faster drop-in of Intel's ISA-L (the `isal` package) where it is installed.

Both produce and read standard deflate/gzip data; ISA-L inflates about twice and deflates many
times as fast, and its level 1 compresses backups about as well as zlib's level 6. Both work
without holding the GIL, so a background thread can (de)compress while Python does other work.
"""

from __future__ import annotations

import zlib
from typing import Any

_impl: Any
try:
    from isal import isal_zlib as _impl

    IMPLEMENTATION = "isal"
    ERRORS: tuple[type[BaseException], ...] = (zlib.error, _impl.error)
except ImportError:  # pragma: no cover - depends on the environment
    _impl = zlib
    IMPLEMENTATION = "zlib"
    ERRORS = (zlib.error,)

# The level for data written for speed (backups): ISA-L's 1 or zlib's 1 (valid gzip either way;
# readers never compare compressed bytes).
FAST_LEVEL = 1
WBITS_RAW = -15
WBITS_GZIP = 31


def decompressobj(wbits: int = WBITS_GZIP) -> Any:
    """A decompressor with zlib's interface (`decompress(data, max_length)`, `eof`, `unused_data`,
    `unconsumed_tail`)."""
    return _impl.decompressobj(wbits)


def fast_compressobj(wbits: int = WBITS_RAW) -> Any:
    """A compressor at FAST_LEVEL with zlib's interface."""
    if _impl is zlib:
        return zlib.compressobj(FAST_LEVEL, zlib.DEFLATED, wbits, 9)
    return _impl.compressobj(FAST_LEVEL, _impl.DEFLATED, wbits)


def crc32(data: Any, value: int = 0) -> int:
    return int(_impl.crc32(data, value))
