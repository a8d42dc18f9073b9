"""Reading the packages the tree builds, for the engine tests, without dpkg or rpm on the
host: a .deb's control fields and files, and an .rpm's header strings."""

from __future__ import annotations

import io
import lzma
import struct
import tarfile
from pathlib import Path


def _ar_members(data: bytes) -> dict[str, bytes]:
    """The members of an ar archive (a .deb): 60-byte headers, even padding."""
    assert data[:8] == b"!<arch>\n"
    members, offset = {}, 8
    while offset < len(data):
        header = data[offset : offset + 60]
        name, size = header[:16].decode().strip().rstrip("/"), int(header[48:58].decode())
        members[name] = data[offset + 60 : offset + 60 + size]
        offset += 60 + size + (size % 2)
    return members


def deb_control(deb: Path) -> dict[str, str]:
    """The control file's fields (continuation lines left out)."""
    members = _ar_members(deb.read_bytes())
    assert members["debian-binary"] == b"2.0\n"
    with tarfile.open(fileobj=io.BytesIO(lzma.decompress(members["control.tar.xz"]))) as tar:
        member = tar.extractfile("./control")
        assert member is not None
        text = member.read().decode()
    fields = {}
    for line in text.splitlines():
        if line and not line.startswith(" "):
            key, _, value = line.partition(": ")
            fields[key] = value
    return fields


def deb_files(deb: Path) -> set[str]:
    """The regular files the package installs, without the leading ./."""
    members = _ar_members(deb.read_bytes())
    with tarfile.open(fileobj=io.BytesIO(lzma.decompress(members["data.tar.xz"]))) as tar:
        return {m.name.removeprefix("./") for m in tar.getmembers() if m.isfile()}


# Header tags (rpm's lib/rpmtag.h).
RPMTAG_NAME, RPMTAG_OS, RPMTAG_ARCH = 1000, 1021, 1022


def rpm_header_strings(rpm: Path) -> dict[int, str]:
    """The string tags of an rpm's header. After the 96-byte lead come the signature header
    (padded to 8 bytes) and the header, each: magic, reserved bytes, an index of 16-byte
    entries (tag, type, offset, count), then its data (rpm.org, docs/manual/format.md)."""
    data = rpm.read_bytes()
    assert data[:4] == b"\xed\xab\xee\xdb"  # the lead's magic
    offset, headers = 96, []
    for padded in (True, False):
        assert data[offset : offset + 3] == b"\x8e\xad\xe8"
        count, size = struct.unpack(">II", data[offset + 8 : offset + 16])
        index = data[offset + 16 : offset + 16 + 16 * count]
        store = data[offset + 16 + 16 * count : offset + 16 + 16 * count + size]
        headers.append((index, store, count))
        offset += 16 + 16 * count + size
        if padded:
            offset += -offset % 8
    index, store, count = headers[1]
    strings = {}
    for i in range(count):
        tag, kind, at, _ = struct.unpack(">iiii", index[16 * i : 16 * i + 16])
        if kind == 6:  # RPM_STRING_TYPE
            strings[tag] = store[at : store.index(b"\0", at)].decode()
    return strings
