#!/usr/bin/python3
"""Make the small model-file fixtures of tests/io with the REAL writers (torch.save, pickle, numpy).

Run once with Debian's python (torch 1.13, numpy 1.24):
    /usr/bin/python3 tests/reference/make_io_fixtures.py
It writes tests/fixtures/io/*: the model files and expected.json, which records, for every tensor,
what torch/numpy say it holds (dtype, shape, stride, storage_offset, and the values in logical
row-major order; f16/bf16 values as their raw uint16 bit patterns so the comparison is exact).
The C++ tests compare the reader against expected.json, never against the reader's own output.
"""
import collections
import json
import os
import pickle
import struct

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "io")


def tensor_record(t):
    """What torch says a tensor is, independent of any reader."""
    dtype_names = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
                   torch.int32: "I32", torch.int64: "I64", torch.uint8: "U8", torch.float64: "F64"}
    flat = t.detach().contiguous().reshape(-1)
    if t.dtype in (torch.float16, torch.bfloat16):
        values = [int(v) & 0xFFFF for v in flat.view(torch.int16).tolist()]
    else:
        values = flat.tolist()
    return {"dtype": dtype_names[t.dtype], "shape": list(t.shape), "stride": list(t.stride()),
            "storage_offset": int(t.storage_offset()), "values": values}


def make_state_dict():
    """A real module state dict (OrderedDict with _metadata -> BUILD), plus every dtype, a
    transposed (non-contiguous) view and slices sharing one storage (storage_offset != 0)."""
    torch.manual_seed(7)

    class Tiny(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = torch.nn.Linear(4, 3)
            self.norm = torch.nn.LayerNorm(3)

    sd = Tiny().state_dict()
    sd["w_f16"] = torch.linspace(-2.0, 2.0, 5).to(torch.float16)
    sd["w_bf16"] = torch.tensor([[1.5, -0.25, 3.0], [1e-3, 65504.0, -7.0]]).to(torch.bfloat16)
    sd["idx_i64"] = torch.tensor([0, -1, 2**40, 7], dtype=torch.int64)
    sd["idx_i32"] = torch.tensor([[3, -4], [2**30, 9]], dtype=torch.int32)
    sd["bytes_u8"] = torch.arange(250, 256, dtype=torch.int32).to(torch.uint8)
    sd["scalar_f64"] = torch.tensor(3.141592653589793, dtype=torch.float64)
    base = torch.arange(15, dtype=torch.float32).reshape(3, 5)
    sd["transposed"] = base.t()                     # shape [5,3], stride [1,5]
    shared = torch.arange(10, dtype=torch.float32) * 0.5
    sd["shared_full"] = shared
    sd["shared_slice"] = shared[2:6]                # storage_offset 2, same storage
    sd["shared_strided"] = shared[1::3]             # storage_offset 1, stride [3]
    path = os.path.join(OUT, "tiny_model.torch")  # archive prefix will be "tiny_model/"
    torch.save(sd, path)
    return path, collections.OrderedDict((k, tensor_record(v)) for k, v in sd.items())


def make_single_tensor():
    torch.manual_seed(11)
    t = torch.randn(6, 4)
    path = os.path.join(OUT, "all_tokens_tiny.torch")
    torch.save(t, path)
    return path, tensor_record(t)


def make_gene_dict():
    """Like the protein embedding .pt files: plain dict gene symbol -> 1-D float tensor."""
    torch.manual_seed(3)
    genes = ["A1BG", "TP53", "MT-CO1", "GAPDH", "ENSG00000000003"] + [f"GENE{i:02d}" for i in range(45)]
    d = {g: torch.randn(8) for g in genes}
    path = os.path.join(OUT, "protein_embeddings_tiny.pt")
    torch.save(d, path)
    return path, collections.OrderedDict((k, tensor_record(v)) for k, v in d.items())


def make_mixed():
    """Python values of every kind the VM must rebuild, and a Parameter (_rebuild_parameter)."""
    obj = {
        "none": None, "yes": True, "no": False, "small": 7, "neg": -300, "big": 2**40,
        "huge_neg": -(2**62), "pi": 3.25, "text": "héllo",
        "list": [1, 2.5, "x"], "tuple": (1, (2, 3)), "nested": {"a": {"b": [None]}},
        "param": torch.nn.Parameter(torch.tensor([1.0, 2.0, 3.0])),
    }
    path = os.path.join(OUT, "mixed.pt")
    torch.save(obj, path)
    # (bytes are left out: protocol 2 pickles them through _codecs.encode, not on the allow-list)
    rec = {k: v for k, v in obj.items() if k not in ("param", "tuple")}
    rec["param"] = tensor_record(obj["param"])
    return path, rec


def make_pickles():
    offsets = collections.OrderedDict([("human", 0), ("mouse", 19790), ("frog", 42270),
                                       ("zebrafish", 70000), ("big", 2**33), ("neg", -5),
                                       ("mouse_lemur", 255), ("macaque", 65535)])
    paths = {}
    for proto in (2, 4):
        p = os.path.join(OUT, f"species_offsets_p{proto}.pkl")
        with open(p, "wb") as f:
            pickle.dump(dict(offsets), f, protocol=proto)
        paths[proto] = p
    # Protocol-4 opcodes beyond a dict of ints (BINBYTES, BINFLOAT, tuples, nesting, LONG1).
    values = {"raw": b"\x00\x01\xff", "pi": -2.5, "t": (1, "two", None), "flags": [True, False],
              "nested": {"k": [1, 2**40]}}
    with open(os.path.join(OUT, "plain_values_p4.pkl"), "wb") as f:
        pickle.dump(values, f, protocol=4)
    return paths, offsets


def make_safetensors():
    """Written by hand from numpy: 8-byte LE header length, JSON header, data."""
    rng = np.random.default_rng(5)
    a = rng.standard_normal((2, 3)).astype(np.float32)
    h = np.array([0.5, -1.0, 2.0, 1e-4], dtype=np.float16)
    i = np.array([1, -2, 2**40], dtype=np.int64)
    b32 = np.array([1.0, -2.5, 3.140625], dtype=np.float32)
    bf = (b32.view(np.uint32) >> 16).astype(np.uint16)   # bf16 = top half of f32 (exact here)
    entries = [("layer.weight", "F32", a), ("layer.half", "F16", h), ("ids", "I64", i),
               ("emb.bf16", "BF16", bf)]
    header = {"__metadata__": {"format": "pt", "note": "tiny"}}
    blobs, offset = [], 0
    expected = collections.OrderedDict()
    for name, dt, arr in entries:
        raw = arr.tobytes()
        header[name] = {"dtype": dt, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
        vals = arr.reshape(-1).tolist()
        if dt in ("F16",):
            vals = arr.view(np.uint16).reshape(-1).tolist()
        expected[name] = {"dtype": dt, "shape": list(arr.shape),
                          "stride": [int(s // arr.itemsize) for s in arr.strides], "storage_offset": 0,
                          "values": vals}
    hjson = json.dumps(header).encode()
    hjson += b" " * ((8 - len(hjson) % 8) % 8)
    path = os.path.join(OUT, "tiny.safetensors")
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(hjson)))
        f.write(hjson)
        for blob in blobs:
            f.write(blob)
    return path, expected, header["__metadata__"]


def main():
    os.makedirs(OUT, exist_ok=True)
    expected = collections.OrderedDict()
    _, expected["tiny_model.torch"] = make_state_dict()
    _, expected["all_tokens_tiny.torch"] = make_single_tensor()
    _, expected["protein_embeddings_tiny.pt"] = make_gene_dict()
    _, expected["mixed.pt"] = make_mixed()
    _, offsets = make_pickles()
    expected["species_offsets"] = offsets
    _, st, meta = make_safetensors()
    expected["tiny.safetensors"] = {"tensors": st, "metadata": meta}
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
