"""A small, deterministic writer of [MS-CFB] compound files (version 3, 512-byte sectors).

It writes what a VBA project needs and nothing more: storages and streams given by path,
no timestamps, no CLSIDs, no state bits. The layout of the file it writes::

    header (512 bytes)
    FAT sectors | directory sectors | mini FAT sectors | mini stream | large streams

Streams shorter than 4096 bytes live in the mini stream (64-byte mini sectors), as
[MS-CFB] requires; readers pick the location by the stream's size.

>>> data = write_compound_file({"VBA/dir": b"x"})
>>> data[:8].hex(), len(data) % 512
('d0cf11e0a1b11ae1', 0)
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

SECTOR = 512
MINI_SECTOR = 64
MINI_CUTOFF = 4096
ENTRY_SIZE = 128
DIFAT_IN_HEADER = 109

FREESECT = 0xFFFFFFFF
ENDOFCHAIN = 0xFFFFFFFE
FATSECT = 0xFFFFFFFD
NOSTREAM = 0xFFFFFFFF

STORAGE, STREAM, ROOT = 1, 2, 5
BLACK = 1


@dataclass
class _Entry:
    """A directory entry while the tree is being laid out."""

    name: str
    kind: int
    data: bytes = b""
    children: dict[str, _Entry] = field(default_factory=dict)
    index: int = 0
    left: int = NOSTREAM
    right: int = NOSTREAM
    child: int = NOSTREAM
    start: int = ENDOFCHAIN
    size: int = 0


def _sort_key(name: str) -> tuple[int, str]:
    """[MS-CFB] 2.6.4 order: shorter names first, then by uppercase code units."""
    return len(name.encode("utf-16-le")) // 2, name.upper()


def _build_tree(streams: dict[str, bytes]) -> list[_Entry]:
    """Turn ``{"A/B": data}`` paths into directory entries, root first, numbered in order."""
    root = _Entry("Root Entry", ROOT)
    for path, data in streams.items():
        *storages, leaf = path.split("/")
        node = root
        for part in storages:
            node = node.children.setdefault(part, _Entry(part, STORAGE, start=0))
        if leaf in node.children:
            raise ValueError(f"duplicate stream {path!r}")
        node.children[leaf] = _Entry(leaf, STREAM, data=data)

    entries: list[_Entry] = []

    def number(node: _Entry) -> None:
        node.index = len(entries)
        entries.append(node)
        for name in sorted(node.children, key=_sort_key):
            number(node.children[name])

    def link(node: _Entry) -> None:
        siblings = [node.children[n] for n in sorted(node.children, key=_sort_key)]
        node.child = _balanced(siblings)
        for child in siblings:
            link(child)

    number(root)
    link(root)
    return entries


def _balanced(siblings: list[_Entry]) -> int:
    """Link sorted siblings into a balanced binary search tree; return its root's index.

    All nodes are black: [MS-CFB] accepts a tree that is not a valid red-black tree as long as
    it is a binary search tree, and readers only walk it.
    """
    if not siblings:
        return NOSTREAM
    mid = len(siblings) // 2
    node = siblings[mid]
    node.left = _balanced(siblings[:mid])
    node.right = _balanced(siblings[mid + 1 :])
    return node.index


def _chain(fat: list[int], first: int, count: int) -> None:
    """Mark ``count`` consecutive sectors from ``first`` as one chain in ``fat``."""
    for i in range(first, first + count):
        fat[i] = i + 1 if i < first + count - 1 else ENDOFCHAIN


def _sectors(n_bytes: int, size: int) -> int:
    return -(-n_bytes // size)


def _pad(data: bytes, size: int) -> bytes:
    return data + bytes(-len(data) % size)


def _dir_entry(entry: _Entry) -> bytes:
    name = entry.name.encode("utf-16-le")
    if len(name) > 62:
        raise ValueError(f"name too long for a compound file: {entry.name!r}")
    return struct.pack(
        "<64sHBBIII16sIQQIQ",
        name + b"\x00\x00",
        len(name) + 2,
        entry.kind,
        BLACK,
        entry.left,
        entry.right,
        entry.child,
        bytes(16),  # CLSID
        0,  # state bits
        0,  # creation time: none, for reproducible output
        0,  # modified time
        entry.start,
        entry.size,
    )


_EMPTY_ENTRY = struct.pack(
    "<64sHBBIII16sIQQIQ", b"", 0, 0, 0, NOSTREAM, NOSTREAM, NOSTREAM, bytes(16), 0, 0, 0, 0, 0
)


def write_compound_file(streams: dict[str, bytes]) -> bytes:
    """Return a compound file holding ``streams``, keyed by ``/``-separated paths."""
    entries = _build_tree(streams)
    root = entries[0]
    stream_entries = [e for e in entries if e.kind == STREAM]
    small = [e for e in stream_entries if len(e.data) < MINI_CUTOFF]
    large = [e for e in stream_entries if len(e.data) >= MINI_CUTOFF]

    # The mini stream: small streams in 64-byte mini sectors, chained in the mini FAT.
    mini_fat: list[int] = []
    mini_stream = bytearray()
    for entry in small:
        entry.size = len(entry.data)
        if entry.size == 0:
            continue  # an empty stream has no sectors: start stays ENDOFCHAIN
        entry.start = len(mini_fat)
        count = _sectors(entry.size, MINI_SECTOR)
        mini_fat += [FREESECT] * count
        _chain(mini_fat, entry.start, count)
        mini_stream += _pad(entry.data, MINI_SECTOR)

    n_dir = _sectors(len(entries) * ENTRY_SIZE, SECTOR)
    n_minifat = _sectors(len(mini_fat) * 4, SECTOR)
    n_ministream = _sectors(len(mini_stream), SECTOR)
    n_large = sum(_sectors(len(e.data), SECTOR) for e in large)
    n_other = n_dir + n_minifat + n_ministream + n_large

    # The FAT must also describe its own sectors; grow it until it covers everything.
    n_fat = 1
    while n_fat * (SECTOR // 4) < n_fat + n_other:
        n_fat += 1
    if n_fat > DIFAT_IN_HEADER:
        raise ValueError("file too large for a header-only DIFAT")

    fat = [FREESECT] * (n_fat * (SECTOR // 4))
    for i in range(n_fat):
        fat[i] = FATSECT
    next_sector = n_fat

    def allocate(count: int) -> int:
        nonlocal next_sector
        first = next_sector
        if count:
            _chain(fat, first, count)
        next_sector += count
        return first if count else ENDOFCHAIN

    first_dir = allocate(n_dir)
    first_minifat = allocate(n_minifat)
    root.start = allocate(n_ministream)
    root.size = len(mini_stream)
    body = bytearray()
    for entry in large:
        entry.size = len(entry.data)
        entry.start = allocate(_sectors(entry.size, SECTOR))
        body += _pad(entry.data, SECTOR)

    directory = b"".join(_dir_entry(e) for e in entries)
    directory += _EMPTY_ENTRY * (n_dir * SECTOR // ENTRY_SIZE - len(entries))
    mini_fat += [FREESECT] * (n_minifat * SECTOR // 4 - len(mini_fat))

    difat = list(range(n_fat)) + [FREESECT] * (DIFAT_IN_HEADER - n_fat)
    header = struct.pack(
        "<8s16sHHHHH6sIIIIIIIII",
        bytes.fromhex("d0cf11e0a1b11ae1"),
        bytes(16),
        0x003E,  # minor version
        0x0003,  # major version 3: 512-byte sectors
        0xFFFE,  # byte order: little-endian
        9,  # sector shift: 2**9 = 512
        6,  # mini sector shift: 2**6 = 64
        bytes(6),
        0,  # number of directory sectors: always 0 in version 3
        n_fat,
        first_dir,
        0,  # transaction signature
        MINI_CUTOFF,
        first_minifat,
        n_minifat,
        ENDOFCHAIN,  # no DIFAT sectors: all FAT sectors are listed in the header
        0,
    ) + struct.pack(f"<{DIFAT_IN_HEADER}I", *difat)

    return b"".join(
        [
            header,
            struct.pack(f"<{len(fat)}I", *fat),
            directory,
            struct.pack(f"<{len(mini_fat)}I", *mini_fat),
            _pad(bytes(mini_stream), SECTOR),
            bytes(body),
        ]
    )
