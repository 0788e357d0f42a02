#!/usr/bin/env python3
"""Write the seed corpus of fuzz_ovmf (corpus/ovmf/): synthetic OVMF image tails.

Each seed is the last 0x800 bytes of a firmware image: SEV metadata ("ASEV" and descriptors)
and the footer GUID table (SEV-ES reset block, metadata offset, hashes table block, secret
block) laid out as edk2 does (MEASURE.md section 2). Nothing here is copied from a real
firmware. Deterministic: regenerating rewrites the same files.
"""
import os
import struct
import uuid

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "ovmf")
TAIL = 0x800
FOOTER = "96b582de-1fb2-45f7-baea-a366c55a082d"
RESET = "00f771de-1a7e-4fcb-890e-68c77e2fb44e"
META = "dc886566-984a-4798-a75e-5585a7bf67cc"
HASHES = "7255371f-3a3b-4b04-927b-1da6efa8d454"
SECRET = "4c2eb361-7d9b-4cc3-8081-127c90d3d294"


def guid(text):
    return uuid.UUID(text).bytes_le


def image(sections, entries, meta_off=0x600, version=1):
    buf = bytearray(TAIL)
    meta = b"ASEV" + struct.pack("<III", 16 + 12 * len(sections), version, len(sections))
    meta += b"".join(struct.pack("<III", *s) for s in sections)
    buf[TAIL - meta_off:TAIL - meta_off + len(meta)] = meta
    table = b""
    for g, data in entries:  # the first entry ends nearest the footer
        table = data + struct.pack("<H", len(data) + 18) + guid(g) + table
    table += struct.pack("<H", len(table) + 18) + guid(FOOTER)
    end = TAIL - 32
    buf[end - len(table):end] = table
    buf[TAIL - 16:TAIL - 12] = b"VTF\0"
    return bytes(buf)


AMDSEV = [(0x800000, 0x9000, 1), (0x80A000, 0x3000, 1), (0x80D000, 0x1000, 2),
          (0x80E000, 0x1000, 3), (0x80F000, 0x1000, 4), (0x810000, 0x1000, 0x10),
          (0x811000, 0xF000, 1)]
OVMFX64 = [(0x800000, 0x9000, 1), (0x80A000, 0x3000, 1), (0x80D000, 0x1000, 2),
           (0x80E000, 0x1000, 3), (0x80F000, 0x11000, 1)]
ENTRIES = [(SECRET, struct.pack("<II", 0x80D000, 0x1000)),
           (HASHES, struct.pack("<II", 0x810C00, 0x400)),
           (META, struct.pack("<I", 0x600)),
           (RESET, struct.pack("<I", 0x80B004))]

SEEDS = {
    "amdsev_like": image(AMDSEV, ENTRIES),
    "ovmfx64_like": image(OVMFX64, [e for e in ENTRIES if e[0] != HASHES]),
    "no_metadata": image(AMDSEV, [e for e in ENTRIES if e[0] != META]),
    "metadata_v2": image(AMDSEV, ENTRIES, version=2),
    "reversed_order": image(list(reversed(AMDSEV)), ENTRIES),
    "one_section": image([(0x800000, 0x1000, 1)], ENTRIES),
}

if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, data in SEEDS.items():
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)
    print(f"{len(SEEDS)} seeds in {OUT}")
