"""zlib, or the faster drop-in of Intel's ISA-L (the `isal` package) where it is installed.

Both produce and read standard deflate/gzip data; ISA-L inflates about twice and deflates many
times as fast, and its level 1 compresses backups about as well as zlib's level 6. Both work
without holding the GIL, so a background thread can (de)compress while Python does other work.
"""

from __future__ import annotations

import importlib
import zlib
from typing import Any

_isal: Any
try:
    _isal = importlib.import_module("isal.isal_zlib")
except ImportError:  # pragma: no cover - isal is a dependency; kept optional for odd platforms
    _isal = None

_impl: Any = _isal if _isal is not None else zlib
IMPLEMENTATION = "isal" if _isal is not None else "zlib"
ERRORS: tuple[type[BaseException], ...] = (zlib.error, _impl.error) if _isal is not None else (zlib.error,)

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
