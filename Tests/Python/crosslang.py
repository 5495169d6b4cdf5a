#!/usr/bin/env python3
"""Cross-language check of the Swift message layer against Python protobuf.

Records are exchanged as files: [u16 BE name length][name][u32 BE length][bytes]...
  reencode IN OUT          parse every record with the Python stub class (unknown fields
                           discarded, so a field Python cannot read is lost and the Swift
                           side sees the difference), write it back re-encoded
  generate NAMES OUT N SEED  N random messages per type named in NAMES (one per line)
  compare EXPECTED ACTUAL  the two files hold equal messages, record by record
  json-check BIN COMPACT PRETTY  proto3 JSON written by Swift (compact and indented), record by
                           record for the messages in BIN: the compact text must load to exactly
                           json_format.MessageToDict's value (same keys, value types and floats),
                           the indented text must be byte for byte json_format.MessageToJson's
                           (indent=2, ensure_ascii=False: we write UTF-8, not \\u escapes)
  json-parse IN OUT        json_format.Parse every JSON record into its stub class, write binary
  json-encode IN OUT NAMES json_format.MessageToJson of every binary record, keys as json_name
                           (NAMES=json) or as the proto field names (NAMES=proto)
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
from google.protobuf import descriptor_pool, json_format, message_factory  # noqa: E402

# Load every stub so the default pool knows every type: ours for cellhub.v1, grpc.testing and
# grpc.reflection.v1, grpcio-health-checking's and grpcio-reflection's stock modules for
# grpc.health.v1 and grpc.reflection.v1alpha.
for package in ("cellhub.v1", "grpc_testing", "grpc_reflection_v1"):
    path = root / ("Clients/python/" if package.startswith("cellhub") else "Tests/Python/interop_stubs/") / package.replace(".", "/")
    for info in pkgutil.iter_modules([str(path)]):
        if info.name.endswith("_pb2"):
            importlib.import_module(f"{package}.{info.name}")
importlib.import_module("grpc_health.v1.health_pb2")
importlib.import_module("grpc_reflection.v1alpha.reflection_pb2")
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


def same_json(a, b):
    """Equal JSON values with equal types (1 is not 1.0, -0.0 is not 0.0, key order aside)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_json(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same_json(x, y) for x, y in zip(a, b))
    if isinstance(a, float):
        return repr(a) == repr(b)
    return a == b


def json_check(binary, compact, pretty):
    """Swift's JSON against json_format's for the same messages; exits with the differences."""
    import json
    records, texts, pretty_texts = read_records(binary), read_records(compact), read_records(pretty)
    if not len(records) == len(texts) == len(pretty_texts):
        sys.exit(f"record counts differ: {len(records)}, {len(texts)}, {len(pretty_texts)}")
    bad = []
    for i, ((name, payload), (_, text), (_, pretty_text)) in enumerate(zip(records, texts, pretty_texts)):
        msg = message_class(name).FromString(payload)
        expected = json_format.MessageToDict(msg)
        swift = json.loads(text.decode())
        if not same_json(swift, expected):
            bad.append(f"record {i} ({name}) compact JSON differs from MessageToDict:\n{text.decode()[:2000]}\n---\n{json.dumps(expected)[:2000]}")
        elif pretty_text.decode() != json_format.MessageToJson(msg, indent=2, ensure_ascii=False):
            expected_text = json_format.MessageToJson(msg, indent=2, ensure_ascii=False)
            bad.append(f"record {i} ({name}) indented JSON differs from MessageToJson:\n{pretty_text.decode()[:2000]}\n---\n{expected_text[:2000]}")
    for line in bad[:5]:
        print(line, file=sys.stderr)
    if bad:
        sys.exit(f"{len(bad)} of {len(records)} records differ")
    print(f"{len(records)} records match json_format")


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
    elif mode == "json-check":
        json_check(sys.argv[2], sys.argv[3], sys.argv[4])
    elif mode == "json-parse":
        out = []
        for name, payload in read_records(sys.argv[2]):
            try:
                msg = json_format.Parse(payload.decode(), message_class(name)())
            except json_format.ParseError as e:
                sys.exit(f"json_format.Parse rejected a {name} written by Swift: {e}\n{payload.decode()[:2000]}")
            out.append((name, msg.SerializeToString(deterministic=True)))
        write_records(sys.argv[3], out)
    elif mode == "json-encode":
        proto_names = {"json": False, "proto": True}[sys.argv[4]]
        out = []
        for name, payload in read_records(sys.argv[2]):
            msg = message_class(name).FromString(payload)
            text = json_format.MessageToJson(msg, preserving_proto_field_name=proto_names)
            out.append((name, text.encode()))
        write_records(sys.argv[3], out)
    else:
        sys.exit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
