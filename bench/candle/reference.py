"""EfficientNet-Lite0 in plain numpy (float64) from a backbone.safetensors in Purrceptron's
format, on the benchmark's synthetic image 0: prints the first pooled features and their sum,
to check the candle network (and ours) against. Usage: python3 reference.py [BACKBONE] [SIDE]
"""
import json
import struct
import sys

import numpy as np

BLOCKS = [(3, 1, 1, 32, 16), (3, 2, 6, 16, 24), (3, 1, 6, 24, 24), (5, 2, 6, 24, 40),
          (5, 1, 6, 40, 40), (3, 2, 6, 40, 80), (3, 1, 6, 80, 80), (3, 1, 6, 80, 80),
          (5, 1, 6, 80, 112), (5, 1, 6, 112, 112), (5, 1, 6, 112, 112), (5, 2, 6, 112, 192),
          (5, 1, 6, 192, 192), (5, 1, 6, 192, 192), (5, 1, 6, 192, 192), (3, 1, 6, 192, 320)]


def load(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    body = raw[8 + n:]
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        dtype = {"I8": np.int8, "F32": np.float32}[t["dtype"]]
        out[name] = np.frombuffer(body[a:b], dtype=dtype).reshape(t["shape"])
    return out


def weight(t, name):
    # f32 weights as the format defines them: (q as f32) * scale, in f32.
    return (t[name + ".weight"].astype(np.float32) * t[name + ".scale"]).astype(np.float64)


def pad_same(x, k, s):
    h, w = x.shape[:2]
    def one(size):
        out = -(-size // s)
        total = max((out - 1) * s + k - size, 0)
        return total // 2, total - total // 2
    return np.pad(x, (one(h), one(w), (0, 0))), -(-h // s), -(-w // s)


def conv(x, w, b, k, s, depthwise):
    x, oh, ow = pad_same(x, k, s)
    acc = 0.0
    for dy in range(k):
        for dx in range(k):
            patch = x[dy:dy + (oh - 1) * s + 1:s, dx:dx + (ow - 1) * s + 1:s]
            acc = acc + (patch * w[dy, dx] if depthwise else patch @ w[dy, dx])
    return acc + b


def relu6(x):
    return np.clip(x, 0, 6)


def features(t, image):
    x = (image.astype(np.float64) - 127) / 128
    x = relu6(conv(x, weight(t, "stem"), t["stem.bias"], 3, 2, False))
    for i, (k, s, e, cin, cout) in enumerate(BLOCKS):
        inp = x
        if e != 1:
            x = relu6(x @ weight(t, f"blocks.{i}.expand") + t[f"blocks.{i}.expand.bias"])
        x = relu6(conv(x, weight(t, f"blocks.{i}.depthwise"), t[f"blocks.{i}.depthwise.bias"],
                       k, s, True))
        x = x @ weight(t, f"blocks.{i}.project") + t[f"blocks.{i}.project.bias"]
        if s == 1 and cin == cout:
            x = x + inp
    x = relu6(x @ weight(t, "head") + t["head.bias"])
    return x.mean(axis=(0, 1))


def synthetic(k, side):
    y, x, c = np.meshgrid(np.arange(side), np.arange(side), np.arange(3), indexing="ij")
    return ((7 * x + 13 * y + 29 * c + 31 * k) % 256).astype(np.uint8)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else "/work/cache/backbone-ref.safetensors"
    side = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    t = load(path)
    f = features(t, synthetic(0, side))
    logits = f @ weight(t, "classifier") + t["classifier.bias"]
    print("numpy features[0..8]", np.round(f[:8], 6).tolist(), "sum %.6f" % f.sum(),
          "| logits argmax", int(logits.argmax()), "(%.4f)" % logits.max())
