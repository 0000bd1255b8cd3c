"""The VBA project storage of [MS-OVBA], written from module source text.

What a VBA project is on disk (``xl/vbaProject.bin``), as far as this module writes it::

    /                      root storage
    ├── PROJECT            text: module list, project name, protection state
    ├── PROJECTwm          module names in MBCS and UTF-16
    └── VBA/
        ├── _VBA_PROJECT   7 bytes: "no compiled code, recompile from source"
        ├── dir            compressed records: project info, references, modules
        └── <module>...    one stream per module: its compressed source text

No compiled code (no PerformanceCache, ``_VBA_PROJECT`` version 0xFFFF) is written, so VBA
compiles the project from the source text when it opens it. Everything is deterministic: the
same inputs give the same bytes.

This module only builds the streams; ``template.cfb`` puts them into a compound file.

>>> compress(b"aaaaaaaaaaaaaaaaaaaa").hex()
'0103b002611000'
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import Enum

CHUNK_SIZE = 4096
CODEPAGE = 1252
ENCODING = "cp1252"


# --- 2.4.1 Compression ------------------------------------------------------------------------


def _copy_token_layout(position_in_chunk: int) -> tuple[int, int]:
    """Return (bit_count for the offset, maximum match length) at this position of a chunk.

    [MS-OVBA] 2.4.1.3.19.1: the offset gets at least 4 bits and as many as it needs to reach
    back to the chunk start; the remaining bits hold length - 3.
    """
    bit_count = max((position_in_chunk - 1).bit_length(), 4)
    maximum_length = (0xFFFF >> bit_count) + 3
    return bit_count, maximum_length


def _longest_match(chunk: bytes, pos: int, candidates: list[int]) -> tuple[int, int]:
    """Return (offset, length) of the longest earlier match for ``chunk[pos:]``, nearest first.

    Ties keep the nearest candidate, as [MS-OVBA] 2.4.1.3.19.4 does. Length 0 means none.
    """
    _, maximum_length = _copy_token_layout(pos)
    limit = min(maximum_length, len(chunk) - pos)
    best_len, best_offset = 0, 0
    for start in reversed(candidates):
        length = 0
        while length < limit and chunk[start + length] == chunk[pos + length]:
            length += 1
        if length > best_len:
            best_len, best_offset = length, pos - start
            if length == limit:
                break
    return best_offset, best_len


def _compress_chunk(chunk: bytes) -> bytes:
    """Compress one decompressed chunk (at most 4096 bytes) into a CompressedChunk."""
    out = bytearray()
    seen: dict[bytes, list[int]] = {}  # 3-byte prefix -> earlier positions in this chunk
    pos = 0
    while pos < len(chunk):
        flag_index = len(out)
        out.append(0)
        flags = 0
        for bit in range(8):
            if pos >= len(chunk):
                break
            offset, length = 0, 0
            if pos + 3 <= len(chunk):
                offset, length = _longest_match(chunk, pos, seen.get(chunk[pos : pos + 3], []))
            if length >= 3:
                bit_count, _ = _copy_token_layout(pos)
                token = ((offset - 1) << (16 - bit_count)) | (length - 3)
                out += struct.pack("<H", token)
                flags |= 1 << bit
                step = length
            else:
                out.append(chunk[pos])
                step = 1
            for p in range(pos, pos + step):
                seen.setdefault(chunk[p : p + 3], []).append(p)
            pos += step
        out[flag_index] = flags

    if len(out) <= CHUNK_SIZE:
        header = 0x8000 | 0x3000 | (len(out) + 2 - 3)
        return struct.pack("<H", header) + bytes(out)
    if len(chunk) == CHUNK_SIZE:
        # Incompressible: a raw chunk is always exactly 4096 bytes (flag bit 0).
        return struct.pack("<H", 0x3000 | (CHUNK_SIZE + 2 - 3)) + chunk
    # A raw chunk cannot be shorter than 4096 bytes, and padding it would add bytes to the
    # decompressed text; VBA source never gets here (it compresses), so refuse loudly.
    raise ValueError("an incompressible final chunk cannot be stored without padding")


def compress(data: bytes) -> bytes:
    """Compress ``data`` into an [MS-OVBA] 2.4.1 CompressedContainer."""
    out = bytearray(b"\x01")
    for start in range(0, len(data), CHUNK_SIZE):
        out += _compress_chunk(data[start : start + CHUNK_SIZE])
    return bytes(out)


# --- 2.4.3 Data encryption (used for the PROJECT stream's CMG, DPB and GC) --------------------


def encrypt(data: bytes, project_id: str, seed: int) -> str:
    """Encrypt ``data`` as [MS-OVBA] 2.4.3.2 does and return it as uppercase hex.

    The "encryption" only obfuscates; the seed is fixed by the caller so builds are
    reproducible. The ignored bytes that the algorithm lets a writer choose are zeros.
    """
    version = 2
    proj_key = sum(project_id.encode(ENCODING)) & 0xFF
    out = bytearray([seed, seed ^ version, seed ^ proj_key])
    unencrypted_byte_1 = proj_key
    encrypted_byte_1 = seed ^ proj_key
    encrypted_byte_2 = seed ^ version
    ignored_length = (seed & 6) // 2
    plain = bytes(ignored_length) + struct.pack("<I", len(data)) + data
    for byte in plain:
        byte_enc = byte ^ ((encrypted_byte_2 + unencrypted_byte_1) & 0xFF)
        out.append(byte_enc)
        encrypted_byte_2, encrypted_byte_1, unencrypted_byte_1 = encrypted_byte_1, byte_enc, byte
    return out.hex().upper()


# --- The project ------------------------------------------------------------------------------


class ModuleKind(Enum):
    """A standard module (``.bas``) or a document module (``ThisWorkbook``, ``Sheet1``...)."""

    STANDARD = "standard"
    DOCUMENT = "document"


@dataclass(frozen=True)
class Module:
    """One VBA module: its name and its full source, ``Attribute`` lines included."""

    name: str
    kind: ModuleKind
    source: str

    def stream_bytes(self) -> bytes:
        """The module stream: no PerformanceCache, then the compressed CRLF source."""
        text = self.source.replace("\r\n", "\n").replace("\n", "\r\n")
        return compress(text.encode(ENCODING))


@dataclass(frozen=True)
class RegisteredReference:
    """A reference to a registered type library (OLE Automation, the Office library...)."""

    name: str
    libid: str  # "*\G{guid}#major.minor#lcid#path#description"


@dataclass(frozen=True)
class ProjectReference:
    """A reference to another VBA project, such as the xlwings add-in."""

    name: str
    libid_absolute: str  # "*\C<path>"
    libid_relative: str
    major_version: int
    minor_version: int


Reference = RegisteredReference | ProjectReference


@dataclass(frozen=True)
class VBAProject:
    """Everything needed to write a VBA project storage."""

    name: str
    project_id: str  # "{GUID}" in the PROJECT stream
    modules: tuple[Module, ...]
    references: tuple[Reference, ...] = field(default=())
    version_major: int = 1
    version_minor: int = 0
    encryption_seed: int = 0x5A

    def streams(self) -> dict[str, bytes]:
        """The streams of the storage by path (``"VBA/dir"``...), ready for a CFB writer."""
        streams = {
            "PROJECT": self._project_stream(),
            "PROJECTwm": self._projectwm_stream(),
            # Reserved1 0x61CC, Version 0xFFFF ("ignore any compiled state"), Reserved2, Reserved3
            "VBA/_VBA_PROJECT": struct.pack("<HHBH", 0x61CC, 0xFFFF, 0x00, 0x0000),
            "VBA/dir": compress(self._dir_stream()),
        }
        for module in self.modules:
            streams[f"VBA/{module.name}"] = module.stream_bytes()
        return streams

    def _project_stream(self) -> bytes:
        """The PROJECT stream ([MS-OVBA] 2.3.1): text lines, CRLF, code page 1252."""
        lines = [f'ID="{self.project_id}"']
        for module in self.modules:
            if module.kind is ModuleKind.DOCUMENT:
                lines.append(f"Document={module.name}/&H00000000")
            else:
                lines.append(f"Module={module.name}")
        lines += [
            f'Name="{self.name}"',
            'HelpContextID="0"',
            'VersionCompatible32="393222000"',
            # No protection, no password, visible: what an unprotected project says.
            f'CMG="{encrypt(bytes(4), self.project_id, self.encryption_seed)}"',
            f'DPB="{encrypt(bytes(1), self.project_id, self.encryption_seed)}"',
            f'GC="{encrypt(bytes([0xFF]), self.project_id, self.encryption_seed)}"',
            "",
            "[Host Extender Info]",
            "&H00000001={3832D640-CF90-11CF-8E43-00A0C911005A};VBE;&H00000000",
            "",
        ]
        return "\r\n".join(lines).encode(ENCODING) + b"\r\n"

    def _projectwm_stream(self) -> bytes:
        """The PROJECTwm stream ([MS-OVBA] 2.3.3): each module name in MBCS then UTF-16."""
        out = bytearray()
        for module in self.modules:
            out += module.name.encode(ENCODING) + b"\x00"
            out += module.name.encode("utf-16-le") + b"\x00\x00"
        return bytes(out + b"\x00\x00")

    def _dir_stream(self) -> bytes:
        """The uncompressed dir stream ([MS-OVBA] 2.3.4.2)."""
        out = bytearray()
        out += _record(0x0001, struct.pack("<I", 0x00000003))  # SysKind: 64-bit Windows
        out += _record(0x0002, struct.pack("<I", 0x0409))  # LCID
        out += _record(0x0014, struct.pack("<I", 0x0409))  # LCIDINVOKE
        out += _record(0x0003, struct.pack("<H", CODEPAGE))
        out += _record(0x0004, self.name.encode(ENCODING))
        out += _record(0x0005, b"") + _record(0x0040, b"")  # docstring, MBCS and Unicode
        out += _record(0x0006, b"") + _record(0x003D, b"")  # help file 1 and 2
        out += _record(0x0007, struct.pack("<I", 0))  # help context
        out += _record(0x0008, struct.pack("<I", 0))  # lib flags
        # PROJECTVERSION: its Size field says 4 but 6 bytes follow (major 4, minor 2).
        out += struct.pack("<HIIH", 0x0009, 4, self.version_major, self.version_minor)
        out += _record(0x000C, b"") + _record(0x003C, b"")  # constants, MBCS and Unicode

        for ref in self.references:
            out += _record(0x0016, ref.name.encode(ENCODING))
            out += _record(0x003E, ref.name.encode("utf-16-le"))
            if isinstance(ref, RegisteredReference):
                libid = ref.libid.encode(ENCODING)
                body = struct.pack("<I", len(libid)) + libid + struct.pack("<IH", 0, 0)
                out += _record(0x000D, body)
            else:
                absolute = ref.libid_absolute.encode(ENCODING)
                relative = ref.libid_relative.encode(ENCODING)
                body = (
                    struct.pack("<I", len(absolute))
                    + absolute
                    + struct.pack("<I", len(relative))
                    + relative
                    + struct.pack("<IH", ref.major_version, ref.minor_version)
                )
                out += _record(0x000E, body)

        out += _record(0x000F, struct.pack("<H", len(self.modules)))
        out += _record(0x0013, struct.pack("<H", 0xFFFF))  # project cookie
        for module in self.modules:
            out += _record(0x0019, module.name.encode(ENCODING))
            out += _record(0x0047, module.name.encode("utf-16-le"))
            out += _record(0x001A, module.name.encode(ENCODING))  # stream name
            out += _record(0x0032, module.name.encode("utf-16-le"))
            out += _record(0x001C, b"") + _record(0x0048, b"")  # docstring
            out += _record(0x0031, struct.pack("<I", 0))  # source starts at offset 0
            out += _record(0x001E, struct.pack("<I", 0))  # help context
            out += _record(0x002C, struct.pack("<H", 0xFFFF))  # module cookie
            kind_id = 0x0021 if module.kind is ModuleKind.STANDARD else 0x0022
            out += _record(kind_id, b"")
            out += _record(0x002B, b"")  # module terminator
        out += _record(0x0010, b"")  # dir terminator
        return bytes(out)


def _record(record_id: int, data: bytes) -> bytes:
    """One dir-stream record: a 2-byte id, a 4-byte size, the data."""
    return struct.pack("<HI", record_id, len(data)) + data
