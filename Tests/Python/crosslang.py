#!/usr/bin/env python3
"""Cross-language check of the Swift message layer against Python protobuf.

Records are exchanged as files: [u16 BE name length][name][u32 BE length][bytes]...
  reencode IN OUT          parse every record with the Python stub class (unknown fields
                           discarded, so a field Python cannot read is lost and the Swift
                           side sees the difference), write it back re-encoded
  generate NAMES OUT N SEED  N random messages per type named in NAMES (one per line)
  compare EXPECTED ACTUAL  the two files hold equal messages, record by record
Driven by Tests/CellHubProtoTests/CrossLanguageTests.swift.
"""
import importlib
import pkgutil
import random
import struct
import sys
from pathlib import Path

root = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(root / "Clients/python"), str(root / "Tests/Python/interop_stubs")]

from google.protobuf import descriptor as d  # noqa: E402
from google.protobuf import descriptor_pool, message_factory  # noqa: E402

# Load every stub so the default pool knows every type: ours for cellhub.v1 and
# grpc.testing, grpcio-health-checking's stock module for grpc.health.v1.
for package in ("cellhub.v1", "grpc_testing"):
    path = root / ("Clients/python/" if package.startswith("cellhub") else "Tests/Python/interop_stubs/") / package.replace(".", "/")
    for info in pkgutil.iter_modules([str(path)]):
        if info.name.endswith("_pb2"):
            importlib.import_module(f"{package}.{info.name}")
importlib.import_module("grpc_health.v1.health_pb2")
pool = descriptor_pool.Default()


def message_class(name):
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(name))


def read_records(path):
    data, out, i = Path(path).read_bytes(), [], 0
    while i < len(data):
        (n,) = struct.unpack_from(">H", data, i); i += 2
        name = data[i:i + n].decode(); i += n
        (m,) = struct.unpack_from(">I", data, i); i += 4
        out.append((name, data[i:i + m])); i += m
    return out


def write_records(path, records):
    with open(path, "wb") as f:
        for name, payload in records:
            raw = name.encode()
            f.write(struct.pack(">H", len(raw)) + raw + struct.pack(">I", len(payload)) + payload)


INTS = {d.FieldDescriptor.TYPE_INT32: 32, d.FieldDescriptor.TYPE_SINT32: 32, d.FieldDescriptor.TYPE_SFIXED32: 32,
        d.FieldDescriptor.TYPE_INT64: 64, d.FieldDescriptor.TYPE_SINT64: 64, d.FieldDescriptor.TYPE_SFIXED64: 64}
UINTS = {d.FieldDescriptor.TYPE_UINT32: 32, d.FieldDescriptor.TYPE_FIXED32: 32,
         d.FieldDescriptor.TYPE_UINT64: 64, d.FieldDescriptor.TYPE_FIXED64: 64}
ALPHABET = "abcXYZ019 _-./äöüßéñ細胞画像分割🧫🔬🦠\u0001\u007f\ufffd\U0010ffff"


def random_scalar(rng, field):
    t = field.type
    if t in INTS:
        bits = INTS[t]
        return rng.choice([0, 2 ** (bits - 1) - 1, -(2 ** (bits - 1)), rng.randrange(-(2 ** (bits - 1)), 2 ** (bits - 1))])
    if t in UINTS:
        bits = UINTS[t]
        return rng.choice([0, 2 ** bits - 1, rng.randrange(0, 2 ** bits)])
    if t == d.FieldDescriptor.TYPE_BOOL:
        return rng.random() < 0.5
    if t == d.FieldDescriptor.TYPE_DOUBLE:
        return rng.choice([0.0, 1.5, -2.25, 1.7976931348623157e308, float("inf"), rng.uniform(-1e9, 1e9)])
    if t == d.FieldDescriptor.TYPE_FLOAT:
        return struct.unpack("f", struct.pack("f", rng.choice([0.0, 1.5, -3.75, float("-inf"), rng.uniform(-1e6, 1e6)])))[0]
    if t == d.FieldDescriptor.TYPE_STRING:
        return "".join(rng.choice(ALPHABET) for _ in range(rng.choice([0, 1, 5, 16, 40, 200])))
    if t == d.FieldDescriptor.TYPE_BYTES:
        return bytes(rng.randrange(256) for _ in range(rng.choice([0, 1, 3, 64, 500])))
    if t == d.FieldDescriptor.TYPE_ENUM:
        values = [v.number for v in field.enum_type.values]
        return rng.randrange(100, 1_000_000) if rng.random() < 0.2 else rng.choice(values)
    raise ValueError(f"unsupported field type {t}")


def fill(rng, msg, depth):
    chosen_oneofs = {o.name: rng.choice(list(o.fields) + [None]) for o in msg.DESCRIPTOR.oneofs}
    for field in msg.DESCRIPTOR.fields:
        if field.containing_oneof is not None and chosen_oneofs[field.containing_oneof.name] is not field:
            continue
        is_message = field.type == d.FieldDescriptor.TYPE_MESSAGE
        if field.is_repeated:
            count = rng.choice([0, 0, 1, 3, 25 if depth < 2 else 1, 200 if depth == 0 else 2])
            target = getattr(msg, field.name)
            for _ in range(count):
                if is_message:
                    fill(rng, target.add(), depth + 1)
                else:
                    target.append(random_scalar(rng, field))
        elif is_message:
            if field.containing_oneof is not None or (depth < 4 and rng.random() < 0.5):
                fill(rng, getattr(msg, field.name), depth + 1)
                getattr(msg, field.name).SetInParent()
        else:
            setattr(msg, field.name, random_scalar(rng, field))


def main():
    mode = sys.argv[1]
    if mode == "reencode":
        out = []
        for name, payload in read_records(sys.argv[2]):
            msg = message_class(name).FromString(payload)
            msg.DiscardUnknownFields()
            out.append((name, msg.SerializeToString(deterministic=True)))
        write_records(sys.argv[3], out)
    elif mode == "generate":
        names = Path(sys.argv[2]).read_text().split()
        count, rng = int(sys.argv[4]), random.Random(int(sys.argv[5]))
        out = []
        for name in names:
            cls = message_class(name)
            for _ in range(count):
                msg = cls()
                fill(rng, msg, 0)
                out.append((name, msg.SerializeToString(deterministic=True)))
        write_records(sys.argv[3], out)
    elif mode == "compare":
        expected, actual = read_records(sys.argv[2]), read_records(sys.argv[3])
        if len(expected) != len(actual):
            sys.exit(f"record count differs: {len(expected)} != {len(actual)}")
        bad = 0
        for i, ((name, a), (name2, b)) in enumerate(zip(expected, actual)):
            cls = message_class(name)
            if name != name2 or cls.FromString(a) != cls.FromString(b):
                bad += 1
                if bad <= 5:
                    print(f"record {i} ({name}) differs:\n{cls.FromString(a)}\n---\n{cls.FromString(b)}", file=sys.stderr)
        if bad:
            sys.exit(f"{bad} of {len(expected)} records differ")
        print(f"{len(expected)} records equal")
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
