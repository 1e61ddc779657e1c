"""Nextcloud's file-name based MIME type detection (``IMimeTypeDetector::detectPath``).

Nextcloud guesses a file's type from the last extension of its name only, lower-cased, after
dropping a leading dot and a trailing ``.v<digits>`` / ``.part`` suffix; unknown extensions are
``application/octet-stream``. The table below is Nextcloud's default mapping (the first type of each
extension); an admin's ``config/mimetypemapping.json`` adds to or overrides it, as in Nextcloud.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Final

FOLDER: Final = "httpd/unix-directory"
UNKNOWN: Final = "application/octet-stream"

# MIME type -> the extensions Nextcloud maps to it.
_DEFAULT: Final[dict[str, str]] = {
    "application/cmd": "cmd",
    "application/comicbook+7z": "cb7",
    "application/comicbook+ace": "cba",
    "application/comicbook+rar": "cbr",
    "application/comicbook+tar": "cbt",
    "application/comicbook+truecrypt": "cbtc",
    "application/comicbook+zip": "cbz",
    "application/coreldraw": "cdr",
    "application/epub+zip": "epub",
    "application/font-sfnt": "otf ttf",
    "application/font-woff": "woff",
    "application/gpx+xml": "gpx",
    "application/gzip": "gz gzip",
    "application/illustrator": "ai",
    "application/internet-shortcut": "url webloc",
    "application/java": "class",
    "application/javascript": "js",
    "application/json": "json",
    "application/km": "km",
    "application/msaccess": "accdb mdb",
    "application/msonenote": "one",
    "application/msword": "doc dot",
    "application/pdf": "pdf",
    "application/postscript": "eps ps",
    "application/rss+xml": "rss",
    "application/sgf": "sgf",
    "application/vnd.android.package-archive": "apk",
    "application/vnd.garmin.tcx+xml": "tcx",
    "application/vnd.google-earth.kml+xml": "kml",
    "application/vnd.google-earth.kmz": "kmz",
    "application/vnd.lotus-wordpro": "lwp",
    "application/vnd.ms-excel": "xla xls xlt",
    "application/vnd.ms-excel.addin.macroEnabled.12": "xlam",
    "application/vnd.ms-excel.sheet.binary.macroEnabled.12": "xlsb",
    "application/vnd.ms-excel.sheet.macroEnabled.12": "xlsm",
    "application/vnd.ms-excel.template.macroEnabled.12": "xltm",
    "application/vnd.ms-fontobject": "eot",
    "application/vnd.ms-outlook": "msg",
    "application/vnd.ms-powerpoint": "pot ppa pps ppt",
    "application/vnd.ms-powerpoint.addin.macroEnabled.12": "ppam",
    "application/vnd.ms-powerpoint.presentation.macroEnabled.12": "pptm",
    "application/vnd.ms-powerpoint.slideshow.macroEnabled.12": "ppsm",
    "application/vnd.ms-powerpoint.template.macroEnabled.12": "potm",
    "application/vnd.ms-visio.drawing": "vsdx",
    "application/vnd.ms-visio.drawing.macroEnabled.12": "vsdm",
    "application/vnd.ms-visio.stencil": "vssx",
    "application/vnd.ms-visio.stencil.macroEnabled.12": "vssm",
    "application/vnd.ms-visio.template": "vstx",
    "application/vnd.ms-visio.template.macroEnabled.12": "vstm",
    "application/vnd.ms-word.document.macroEnabled.12": "docm",
    "application/vnd.oasis.opendocument.formula": "odf",
    "application/vnd.oasis.opendocument.graphics": "odg",
    "application/vnd.oasis.opendocument.graphics-flat-xml": "fodg",
    "application/vnd.oasis.opendocument.graphics-template": "otg",
    "application/vnd.oasis.opendocument.presentation": "odp",
    "application/vnd.oasis.opendocument.presentation-flat-xml": "fodp",
    "application/vnd.oasis.opendocument.presentation-template": "otp",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
    "application/vnd.oasis.opendocument.spreadsheet-flat-xml": "fods",
    "application/vnd.oasis.opendocument.spreadsheet-template": "ots",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.text-flat-xml": "fodt",
    "application/vnd.oasis.opendocument.text-template": "ott",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "pptx",
    "application/vnd.openxmlformats-officedocument.presentationml.slideshow": "ppsx",
    "application/vnd.openxmlformats-officedocument.presentationml.template": "potx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.template": "xltx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.docxf": "docxf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.oform": "oform",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.template": "dotx",
    "application/vnd.visio": "vsd",
    "application/vnd.wordperfect": "wpd",
    "application/vnd.xmind.workbook": "xmind",
    "application/x-7z-compressed": "7z",
    "application/x-bin": "bin",
    "application/x-blender": "blend",
    "application/x-bzip2": "bz2 tar.bz2 tbz2",
    "application/x-cbr": "cvbdl",
    "application/x-compressed": "tar.gz tgz",
    "application/x-deb": "deb",
    "application/x-fictionbook+xml": "fb2",
    "application/x-font": "pfb",
    "application/x-freemind": "mm",
    "application/x-gimp": "xcf",
    "application/x-iwork-keynote-sffkey": "key keynote",
    "application/x-iwork-numbers-sffnumbers": "numbers",
    "application/x-iwork-pages-sffpages": "pages",
    "application/x-kdbx": "kdbx",
    "application/x-krita": "kra",
    "application/x-mobipocket-ebook": "mobi",
    "application/x-ms-dos-executable": "exe",
    "application/x-msdos-program": "bat",
    "application/x-msi": "msi",
    "application/x-perl": "pl",
    "application/x-photoshop": "psd",
    "application/x-php": "php",
    "application/x-rar-compressed": "rar",
    "application/x-shockwave-flash": "swf",
    "application/x-tar": "tar",
    "application/x-tex": "tex",
    "application/xml": "xml",
    "application/yaml": "yaml yml",
    "application/zip": "zip",
    "audio/flac": "flac",
    "audio/m4b": "m4b",
    "audio/mp4": "m4a",
    "audio/mpeg": "mp3",
    "audio/mpegurl": "m3u m3u8",
    "audio/ogg": "oga ogg opus",
    "audio/wav": "wav",
    "audio/webm": "weba",
    "audio/x-scpls": "pls",
    "image/avif": "avif",
    "image/bmp": "bmp",
    "image/bpg": "bpg",
    "image/emf": "emf",
    "image/gif": "gif",
    "image/heic": "heic",
    "image/heif": "heif",
    "image/jp2": "jp2",
    "image/jpeg": "jpeg jpg jps mpo",
    "image/png": "png",
    "image/sgi": "sgi",
    "image/svg+xml": "svg",
    "image/tga": "tga",
    "image/tiff": "tif tiff",
    "image/webp": "webp",
    "image/x-dcraw": "arw cr2 dcr dng erf iiq k25 kdc mef nef orf pef raf rw2 sr2 srf xrf",
    "image/x-icon": "ico",
    "message/rfc822": "eml",
    "text/asciidoc": "adoc asciidoc",
    "text/calendar": "ical ics",
    "text/css": "css",
    "text/csv": "csv",
    "text/html": "htm html",
    "text/impress": "impress",
    "text/markdown": "markdown md mdown mdwn mkd",
    "text/org": "org",
    "text/plain": "cnf conf htaccess schema txt",
    "text/reveal": "reveal",
    "text/rtf": "rtf",
    "text/vcard": "vcard vcf",
    "text/x-c": "c cc",
    "text/x-c++src": "c++ cpp",
    "text/x-h": "h hh hpp",
    "text/x-java-source": "java",
    "text/x-ldif": "ldif",
    "text/x-python": "py",
    "text/x-rst": "rst",
    "text/x-shellscript": "bash sh sh-lib",
    "video/3gpp": "3gp",
    "video/MP2T": "mt2s mts",
    "video/dv": "dv",
    "video/dvd": "vob",
    "video/mp2t": "m2t",
    "video/mp4": "m4v mp4",
    "video/mpeg": "mpeg mpg",
    "video/ogg": "ogv",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-flv": "flv",
    "video/x-matroska": "mkv",
    "video/x-ms-wmv": "wmv",
    "video/x-msvideo": "avi",
}

_SUFFIX_RE: Final = re.compile(r"((\.v\d+)|((\.ocTransferId\d+)?\.part))$")


def _default_mapping() -> dict[str, str]:
    return {ext: mimetype for mimetype, exts in _DEFAULT.items() for ext in exts.split()}


@cache
def _mapping(custom_file: Path | None) -> dict[str, str]:
    mapping = _default_mapping()
    if custom_file is not None:
        try:
            custom = json.loads(custom_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            custom = None
        if isinstance(custom, dict):
            for ext, types in custom.items():
                if (
                    isinstance(ext, str)
                    and not ext.startswith("_")
                    and isinstance(types, list)
                    and types
                    and isinstance(types[0], str)
                ):
                    mapping[ext] = types[0]
    return mapping


class MimeTypeDetector:
    """Detects MIME types by name; ``config_dir`` is where an admin's ``mimetypemapping.json`` lives."""

    def __init__(self, config_dir: Path | None = None) -> None:
        custom = config_dir / "mimetypemapping.json" if config_dir is not None else None
        self._types = _mapping(custom if custom is not None and custom.is_file() else None)

    def detect_path(self, path: str) -> str:
        """The MIME type Nextcloud gives a file of this name."""
        name = path.rsplit("/", 1)[-1].lstrip(".")
        if name.find(".") <= 0:
            return UNKNOWN
        name = _SUFFIX_RE.sub("", name)
        dot = name.rfind(".")
        if dot < 0:
            return UNKNOWN
        return self._types.get(name[dot + 1 :].lower(), UNKNOWN)
