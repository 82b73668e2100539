"""safetensors files from PyTorch, without the `safetensors` package.

save_file(state_dict, path, metadata=None) writes the bytes that the reference
implementation (`safetensors.torch.save_file`) writes for the same tensors:

    u64 little-endian N | N bytes of JSON header | tensor bytes

  * header JSON without whitespace, "__metadata__" first (only if metadata is given),
    then one entry per tensor: {"dtype": "F32", "shape": [..], "data_offsets": [b, e]};
  * tensors sorted by dtype in the reference's enum order, largest first (so I64 and F64
    before F32, ... BOOL last), then by name; data laid out in that order;
  * header padded with spaces to a multiple of 8 bytes.

Metadata keys are written sorted (the reference uses a hash map, so its order is
arbitrary; with a single key the bytes are identical).

load_file(path) -> {name: tensor} and load_metadata(path) -> {key: value} read any
valid file and reject malformed ones with a ValueError naming the problem.

Run as a script it checks itself: python3 safetensors_io.py
"""
import json
import struct

import numpy as np
import torch

# The reference's Dtype enum, in order: the canonical layout sorts by it, descending.
DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]
DTYPE_SIZE = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
              "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "F64": 8, "I64": 8, "U64": 8}
# torch dtype <-> safetensors name, and the numpy type that carries the bytes.
TORCH_TO_NAME = {torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16",
                 torch.float16: "F16", torch.bfloat16: "BF16", torch.int32: "I32",
                 torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}
NAME_TO_TORCH = {v: k for k, v in TORCH_TO_NAME.items()}
NUMPY_OF = {"BOOL": np.bool_, "U8": np.uint8, "I8": np.int8, "I16": np.int16, "F16": np.float16,
            "BF16": np.int16, "I32": np.int32, "F32": np.float32, "F64": np.float64,
            "I64": np.int64}
MAX_HEADER = 100_000_000


def _tensor_bytes(name, t):
    if not isinstance(t, torch.Tensor):
        raise ValueError(f"key '{name}' is not a torch.Tensor")
    if t.layout != torch.strided:
        raise ValueError(f"tensor '{name}' is sparse")
    if t.dtype not in TORCH_TO_NAME:
        raise ValueError(f"tensor '{name}' has unsupported dtype {t.dtype}")
    if not t.is_contiguous():
        raise ValueError(f"tensor '{name}' is not contiguous (call .contiguous())")
    t = t.detach().cpu()
    if t.dtype == torch.bfloat16:          # numpy has no bfloat16: move the raw bits
        t = t.view(torch.int16)
    return t.numpy().tobytes()             # C order, little-endian on this machine


def _check_shared(tensors):
    """The reference refuses tensors that share memory (tied weights)."""
    spans = []
    for name, t in tensors.items():
        n = t.numel() * t.element_size()
        if n:
            spans.append((t.data_ptr(), t.data_ptr() + n, name))
    spans.sort()
    for (b0, e0, n0), (b1, e1, n1) in zip(spans, spans[1:]):
        if b1 < e0:
            raise RuntimeError(f"tensors '{n0}' and '{n1}' share memory; save clones")


def serialize(tensors, metadata=None):
    """The file's bytes for {name: tensor} and optional {str: str} metadata."""
    if not isinstance(tensors, dict):
        raise ValueError("expected a dict of tensors")
    if metadata is not None:
        for k, v in metadata.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise ValueError(f"metadata must map str to str, got {k!r}: {v!r}")
    _check_shared(tensors)
    items = []
    for name, t in tensors.items():
        if not isinstance(name, str):
            raise ValueError(f"tensor name {name!r} is not a string")
        items.append((name, TORCH_TO_NAME.get(getattr(t, "dtype", None), None), t))
    for name, dtype, t in items:
        if dtype is None:
            _tensor_bytes(name, t)           # raises with the reason
    items.sort(key=lambda it: (-DTYPE_ORDER.index(it[1]), it[0]))

    header = {}
    if metadata is not None:
        header["__metadata__"] = {k: metadata[k] for k in sorted(metadata)}
    chunks, offset = [], 0
    for name, dtype, t in items:
        data = _tensor_bytes(name, t)
        header[name] = {"dtype": dtype, "shape": [int(d) for d in t.shape],
                        "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        chunks.append(data)
    # serde_json's compact output: no spaces, UTF-8 kept, control characters escaped.
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def save_file(tensors, filename, metadata=None):
    """Write {name: tensor} as safetensors (what safetensors.torch.save_file writes)."""
    data = serialize(tensors, metadata)
    with open(filename, "wb") as f:
        f.write(data)


def _parse(data, filename):
    """(metadata, [(name, dtype, shape, begin, end)]) after checking the format's rules."""
    def bad(msg):
        return ValueError(f"{filename}: {msg}")
    if len(data) < 8:
        raise bad("file shorter than the 8-byte header length")
    n = struct.unpack("<Q", data[:8])[0]
    if n > MAX_HEADER:
        raise bad(f"header length {n} exceeds the 100 MB limit")
    if 8 + n > len(data):
        raise bad(f"header length {n} goes beyond the end of the file")
    raw = data[8:8 + n]
    if b"\0" in raw:
        raise bad("header contains a NUL byte")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise bad(f"header is not valid UTF-8 ({e})") from None

    def no_duplicates(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise bad(f"'{k}' appears twice")
            d[k] = v
        return d
    try:
        header = json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as e:
        raise bad(f"header is not valid JSON ({e})") from None
    if not isinstance(header, dict):
        raise bad("header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None:
        if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
            raise bad("__metadata__ is not an object of strings")

    def is_uint(x):
        return isinstance(x, int) and not isinstance(x, bool) and x >= 0
    entries = []
    for name, info in header.items():
        if not isinstance(info, dict):
            raise bad(f"tensor '{name}': entry is not an object")
        for field in ("dtype", "shape", "data_offsets"):
            if field not in info:
                raise bad(f"tensor '{name}': missing '{field}'")
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in DTYPE_SIZE:
            raise bad(f"tensor '{name}': unknown dtype {dtype!r}")
        if not isinstance(shape, list) or not all(is_uint(d) for d in shape):
            raise bad(f"tensor '{name}': shape is not a list of non-negative integers")
        if (not isinstance(offsets, list) or len(offsets) != 2 or
                not all(is_uint(o) for o in offsets) or offsets[1] < offsets[0]):
            raise bad(f"tensor '{name}': invalid data_offsets {offsets!r}")
        nbytes = int(np.prod(shape, dtype=object)) * DTYPE_SIZE[dtype]
        if offsets[1] - offsets[0] != nbytes:
            raise bad(f"tensor '{name}': data_offsets {offsets} disagree with {dtype} {shape}")
        entries.append((name, dtype, shape, offsets[0], offsets[1]))
    entries.sort(key=lambda e: (e[3], e[4]))
    pos, buffer_size = 0, len(data) - 8 - n
    for name, _, _, begin, end in entries:
        if begin != pos:
            raise bad(f"tensor '{name}' {'overlaps' if begin < pos else 'leaves a gap'}")
        pos = end
    if pos != buffer_size:
        raise bad("tensors do not cover the data buffer exactly")
    return (metadata or {}), entries, 8 + n


def load_file(filename, device="cpu"):
    """{name: tensor} from a safetensors file (tensors own their memory)."""
    with open(filename, "rb") as f:
        data = f.read()
    _, entries, start = _parse(data, filename)
    out = {}
    for name, dtype, shape, begin, end in entries:
        if dtype not in NAME_TO_TORCH:
            raise ValueError(f"{filename}: tensor '{name}': dtype {dtype} unsupported by torch")
        arr = np.frombuffer(data, dtype=NUMPY_OF[dtype], count=(end - begin) // DTYPE_SIZE[dtype],
                            offset=start + begin).copy().reshape(shape)
        t = torch.from_numpy(arr)
        if dtype == "BF16":
            t = t.view(torch.bfloat16)
        out[name] = t.to(device)
    return out


def load_metadata(filename):
    """The __metadata__ dict ({} when absent)."""
    with open(filename, "rb") as f:
        data = f.read()
    return _parse(data, filename)[0]


if __name__ == "__main__":
    # Self-check against the reference's own test vectors (its serialization tests).
    t = torch.arange(6, dtype=torch.float32).reshape(1, 2, 3)
    b = serialize({"attn.0": t})
    assert b[:8] == struct.pack("<Q", 64), b[:8]
    assert b[8:72] == b'{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}'
    assert serialize({}) == struct.pack("<Q", 8) + b"{}      "
    assert serialize({}, {"framework": "pt"}) == (
        struct.pack("<Q", 40) + b'{"__metadata__":{"framework":"pt"}}     ')
    sd = {"w": torch.randn(3, 4), "n": torch.tensor(7), "a.b": torch.randn(2)}
    b = serialize(sd, {"arch": "unet"})
    assert b[8:].startswith(b'{"__metadata__":{"arch":"unet"},"n":{"dtype":"I64"'), b[:80]
    import os
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.safetensors")
        save_file(sd, p, {"arch": "unet"})
        back = load_file(p)
        assert back.keys() == sd.keys() and all(torch.equal(back[k], sd[k]) for k in sd)
        assert back["n"].dtype == torch.int64 and back["n"].shape == ()
        assert load_metadata(p) == {"arch": "unet"}
    print("safetensors_io: self-check passed")
