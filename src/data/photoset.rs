//! Photos gathered one at a time, then split into a [`Dataset`]: the one path behind both
//! `purrceptron convert --images` and the page's "your own dataset", so the same photos, seed
//! and test fraction give the same blob byte for byte wherever they were gathered.

use sha2::{Digest, Sha256};

use super::{check_classes, Dataset, Split, CLASSES};
use crate::preprocess::{self, Framing, Photo};
use crate::rng::Mt19937;
use crate::{Error, Result};

/// One photo given to the set: its name (the sort key of the split), the sha256 of its bytes
/// when they could be read, and its 64x64 pixels when they could be decoded.
#[derive(Clone, Debug)]
struct Entry {
    name: String,
    digest: Option<[u8; 32]>,
    pixels: Option<Vec<u8>>,
}

/// Photos of each class, preprocessed as they arrive (12 288 bytes kept per photo, the
/// original bytes are not kept).
///
/// Defaults: [`Framing::Crop`], the classic set's two classes. The split made by
/// [`PhotoSet::build`] does not depend on the order photos were added: each class is sorted by
/// name first (stable, so equal names keep their order).
#[derive(Clone, Debug)]
pub struct PhotoSet {
    fit: Framing,
    /// Class names, index = label (see [`check_classes`]).
    classes: Vec<String>,
    /// Index = label.
    photos: Vec<Vec<Entry>>,
}

impl Default for PhotoSet {
    fn default() -> Self {
        PhotoSet::new(Framing::default())
    }
}

/// How many photos a two-class [`PhotoSet`] holds: all given, and those that decoded, for label
/// 1 (`cats`) and label 0 (`non_cats`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct PhotoCounts {
    pub cats: usize,
    pub non_cats: usize,
    pub cats_ok: usize,
    pub non_cats_ok: usize,
}

/// How many photos of one class a [`PhotoSet`] holds: all given, and those that decoded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct ClassCount {
    pub given: usize,
    pub ok: usize,
}

/// Checks a test fraction: in `[0, 1)`.
pub fn check_test_fraction(test_fraction: f64) -> Result<()> {
    if !(0.0..1.0).contains(&test_fraction) {
        return Err(Error::InvalidParameter {
            name: "test_fraction",
            value: test_fraction.to_string(),
            expected: "a fraction in [0, 1)",
        });
    }
    Ok(())
}

impl PhotoSet {
    /// An empty set of the classic set's two classes (0 = non-cat, 1 = cat) whose photos will
    /// be fitted to 64x64 with `fit`.
    pub fn new(fit: Framing) -> Self {
        PhotoSet {
            fit,
            classes: CLASSES.map(String::from).to_vec(),
            photos: vec![Vec::new(), Vec::new()],
        }
    }

    /// An empty set of the classes named `classes` (index = label; 2 to 20 distinct names, see
    /// [`check_classes`]).
    pub fn with_classes(fit: Framing, classes: Vec<String>) -> Result<Self> {
        check_classes(&classes)?;
        Ok(PhotoSet {
            fit,
            photos: vec![Vec::new(); classes.len()],
            classes,
        })
    }

    /// The class names, index = label.
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Changes the classes: new class `i` is named `classes[i]` and takes the photos of the
    /// old class `from[i]`, or none (`None`: a class added). An old class no new one takes is
    /// removed with its photos; a renamed class keeps its photos. The names are checked as
    /// [`check_classes`] checks them, and each old class is taken at most once; on an error
    /// nothing changes.
    pub fn set_classes(&mut self, classes: Vec<String>, from: &[Option<usize>]) -> Result<()> {
        check_classes(&classes)?;
        let old = self.photos.len();
        let mut taken = vec![false; old];
        if from.len() != classes.len() {
            return Err(Error::Shape(format!(
                "{} sources for {} classes",
                from.len(),
                classes.len()
            )));
        }
        for &f in from.iter().flatten() {
            if f >= old || std::mem::replace(&mut taken[f], true) {
                return Err(Error::InvalidParameter {
                    name: "class source",
                    value: f.to_string(),
                    expected: "a class of the set, each taken at most once",
                });
            }
        }
        let mut photos: Vec<Option<Vec<Entry>>> = std::mem::take(&mut self.photos)
            .into_iter()
            .map(Some)
            .collect();
        self.photos = from
            .iter()
            .map(|f| f.and_then(|i| photos[i].take()).unwrap_or_default())
            .collect();
        self.classes = classes;
        Ok(())
    }

    fn class(&self, label: u8) -> Result<usize> {
        crate::check::labels(&[label], self.classes.len())?;
        Ok(usize::from(label))
    }

    /// Adds a photo of class `label` and returns it preprocessed.
    ///
    /// A photo that cannot be decoded is still counted (it appears in the blob's `source`, as
    /// the CLI reports what it was given) but adds no image; its error is returned. Only a
    /// label past the last class leaves the set unchanged.
    pub fn add(&mut self, label: u8, name: String, bytes: &[u8]) -> Result<Photo> {
        let class = self.class(label)?;
        let photo = preprocess::preprocess(bytes, self.fit);
        self.photos[class].push(Entry {
            name,
            digest: Some(Sha256::digest(bytes).into()),
            pixels: photo.as_ref().ok().map(|p| p.pixels.clone()),
        });
        photo
    }

    /// Counts a file of class `label` whose bytes could not be read (it adds no image and
    /// nothing to `source_sha256`).
    pub fn add_unreadable(&mut self, label: u8, name: String) -> Result<()> {
        let class = self.class(label)?;
        self.photos[class].push(Entry {
            name,
            digest: None,
            pixels: None,
        });
        Ok(())
    }

    /// Photos given and photos decoded, by label.
    pub fn class_counts(&self) -> Vec<ClassCount> {
        self.photos
            .iter()
            .map(|p| ClassCount {
                given: p.len(),
                ok: p.iter().filter(|e| e.pixels.is_some()).count(),
            })
            .collect()
    }

    /// Photos given and photos decoded, of labels 1 and 0 (the two zones of the page's own
    /// two-class dataset).
    pub fn counts(&self) -> PhotoCounts {
        let c = self.class_counts();
        let of = |label: usize| c.get(label).copied().unwrap_or_default();
        PhotoCounts {
            cats: of(1).given,
            non_cats: of(0).given,
            cats_ok: of(1).ok,
            non_cats_ok: of(0).ok,
        }
    }

    /// The decoded photos of class `label` numbered `from..from + count` in the order they were
    /// added (fewer past the last one): each its name and its 64x64x3 pixels. What the page
    /// draws of a class, a screenful at a time.
    pub fn decoded(&self, label: u8, from: usize, count: usize) -> Result<Vec<(&str, &[u8])>> {
        let class = self.class(label)?;
        Ok(self.photos[class]
            .iter()
            .filter_map(|e| e.pixels.as_deref().map(|p| (e.name.as_str(), p)))
            .skip(from)
            .take(count)
            .collect())
    }

    /// Forgets every photo; the classes stay.
    pub fn clear(&mut self) {
        for p in &mut self.photos {
            p.clear();
        }
    }

    /// Splits the decoded photos: the classes in [`class_order`] (the dataset's labels), then
    /// per class, sorted by name, shuffled with an MT19937 seeded with `seed`, the first
    /// `round(test_fraction * n)` go to the test split. `test_fraction` is in `[0, 1)`. Fails
    /// when a class has no decoded photo left for training.
    ///
    /// `source_sha256` hashes, class by class in the dataset's label order (non-cat then cat for
    /// the classic two), photos in sorted order, the label byte and the sha256 of each readable
    /// photo's bytes.
    pub fn build(&self, test_fraction: f64, seed: u32) -> Result<Dataset> {
        check_test_fraction(test_fraction)?;
        let order = class_order(&self.classes);
        let classes: Vec<String> = order.iter().map(|&i| self.classes[i].clone()).collect();
        let mut rng = Mt19937::new(seed);
        let mut source = Sha256::new();
        let mut train = Split::default();
        let mut test = Split::default();
        for (label, photos) in (0u8..).zip(order.iter().map(|&i| &self.photos[i])) {
            let mut sorted: Vec<&Entry> = photos.iter().collect();
            sorted.sort_by(|a, b| a.name.cmp(&b.name));
            let mut good = Vec::new();
            for entry in sorted {
                if let Some(digest) = &entry.digest {
                    source.update([label]);
                    source.update(digest);
                }
                if let Some(pixels) = &entry.pixels {
                    good.push(pixels);
                }
            }
            rng.shuffle(&mut good);
            let n_test = (test_fraction * good.len() as f64).round() as usize;
            for (i, pixels) in good.into_iter().enumerate() {
                let split = if i < n_test { &mut test } else { &mut train };
                split.pixels.extend_from_slice(pixels);
                split.labels.push(label);
            }
        }
        let classic = classes == CLASSES;
        if classic && (train.count(0) == 0 || train.count(1) == 0) {
            return Err(Error::InvalidDataset(format!(
                "training needs photos of both classes: {} cat and {} non-cat photos could be read",
                train.count(1) + test.count(1),
                train.count(0) + test.count(0)
            )));
        }
        if let Some(empty) = (0u8..).zip(&classes).find(|&(l, _)| train.count(l) == 0) {
            return Err(Error::InvalidDataset(format!(
                "training needs photos of every class: “{}” has no photo left for training \
                 ({} could be read)",
                empty.1,
                train.count(empty.0) + test.count(empty.0)
            )));
        }
        // The classic two keep the wording their files have always had.
        let given = |label: usize| self.photos[order[label]].len();
        let description = if classic {
            format!("photos: {} cat, {} non-cat", given(1), given(0))
        } else {
            let per_class: Vec<String> = (0..classes.len())
                .map(|label| format!("{} {}", given(label), classes[label]))
                .collect();
            format!("photos: {}", per_class.join(", "))
        };
        Ok(Dataset {
            train,
            test,
            classes,
            source: description,
            source_sha256: super::hex(&source.finalize()),
        })
    }
}

/// The order of a dataset's classes, as indices into `names`: the classic two (exactly `cat`
/// and `non-cat`, in any order) as `non-cat` then `cat`, any other names sorted (bytewise). The
/// CLI's folders and the page's class list both follow it, so the same photos give the same
/// dataset file whatever order they were given in.
pub fn class_order(names: &[String]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..names.len()).collect();
    let classic = names.len() == 2 && names.iter().all(|n| CLASSES.contains(&n.as_str()));
    if classic {
        order.sort_by_key(|&i| usize::from(names[i] == CLASSES[1]));
    } else {
        order.sort_by(|&a, &b| names[a].cmp(&names[b]));
    }
    order
}

/// Builds a two-class dataset (the classic set's classes) from photos of cats and of anything
/// else: [`from_class_photos`] with `non-cat` (label 0) and `cat` (label 1).
pub fn from_photos<C, N>(
    cats: C,
    non_cats: N,
    test_fraction: f64,
    seed: u32,
    framing: Framing,
) -> Result<(Dataset, Vec<(String, Error)>)>
where
    C: IntoIterator<Item = (String, Result<Vec<u8>>)>,
    N: IntoIterator<Item = (String, Result<Vec<u8>>)>,
{
    type Photos<'a> = Box<dyn Iterator<Item = (String, Result<Vec<u8>>)> + 'a>;
    let classes: Vec<(String, Photos)> = vec![
        (CLASSES[0].into(), Box::new(non_cats.into_iter())),
        (CLASSES[1].into(), Box::new(cats.into_iter())),
    ];
    from_class_photos(classes, test_fraction, seed, framing)
}

/// Builds a dataset from photos of each class: `classes` lists, in label order, each class's
/// name and its photos. Every photo goes through [`crate::preprocess::preprocess`], then a
/// seeded split puts `round(test_fraction * n)` photos of each class into the test split (see
/// [`PhotoSet::build`], which the page uses too).
///
/// The photos come as `(name, bytes or read error)`, consumed one photo at a time so a large
/// folder is never held in memory whole; the names order each class before the shuffle (so
/// the order they come in does not matter) and appear in the skip list. Photos that cannot be
/// read are skipped and returned beside the dataset with their error, so one bad file loses
/// nothing else. `test_fraction` is in `[0, 1)`; the class names are checked with
/// [`check_classes`], both before any photo is read.
pub fn from_class_photos<P>(
    classes: Vec<(String, P)>,
    test_fraction: f64,
    seed: u32,
    framing: Framing,
) -> Result<(Dataset, Vec<(String, Error)>)>
where
    P: IntoIterator<Item = (String, Result<Vec<u8>>)>,
{
    // Checked before any photo is read, so a typo does not cost a pass over a big folder.
    check_test_fraction(test_fraction)?;
    let names = classes.iter().map(|(name, _)| name.clone()).collect();
    let mut set = PhotoSet::with_classes(framing, names)?;
    let mut skipped = Vec::new();
    for (label, (_, photos)) in (0u8..).zip(classes) {
        for (name, bytes) in photos {
            let result = match bytes {
                Ok(bytes) => set.add(label, name.clone(), &bytes).map(drop),
                Err(e) => set.add_unreadable(label, name.clone()).and(Err(e)),
            };
            if let Err(e) = result {
                skipped.push((name, e));
            }
        }
    }
    let dataset = set.build(test_fraction, seed)?;
    Ok((dataset, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flat-coloured 8x8 PNG (the image crate encodes it; decoding goes through the real path).
    fn png(rgb: [u8; 3]) -> Vec<u8> {
        let img = image::RgbImage::from_pixel(8, 8, image::Rgb(rgb));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn classes_are_ordered_by_name_or_as_the_classic_two() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(class_order(&names(&["cat", "non-cat"])), [1, 0]);
        assert_eq!(class_order(&names(&["non-cat", "cat"])), [0, 1]);
        assert_eq!(
            class_order(&names(&["ripe", "no fruit", "unripe"])),
            [1, 0, 2]
        );
        assert_eq!(class_order(&names(&["cat", "dog"])), [0, 1]);
    }

    /// A class's decoded photos a window at a time, in the order given: an undecodable one
    /// takes no place; a window past the end is short or empty; a label past the last class
    /// is refused.
    #[test]
    fn decoded_photos_come_in_windows_in_the_order_given() {
        let mut set = PhotoSet::new(Framing::Crop);
        set.add(0, "a".into(), &png([10, 0, 0])).unwrap();
        assert!(set.add(0, "bad".into(), b"not a photo").is_err());
        set.add(0, "b".into(), &png([20, 0, 0])).unwrap();
        set.add(1, "c".into(), &png([30, 0, 0])).unwrap();
        set.add(0, "d".into(), &png([40, 0, 0])).unwrap();
        let names =
            |w: Vec<(&str, &[u8])>| w.iter().map(|(n, _)| n.to_string()).collect::<Vec<_>>();
        assert_eq!(names(set.decoded(0, 0, 10).unwrap()), ["a", "b", "d"]);
        let window = set.decoded(0, 1, 1).unwrap();
        assert_eq!(names(window.clone()), ["b"]);
        // A flat 8x8 photo gives a flat 64x64 image of its colour.
        assert_eq!(window[0].1.len(), crate::preprocess::PIXELS);
        assert!(window[0].1.chunks_exact(3).all(|p| p == [20, 0, 0]));
        assert!(set.decoded(0, 3, 5).unwrap().is_empty());
        assert_eq!(names(set.decoded(1, 0, 5).unwrap()), ["c"]);
        assert!(matches!(
            set.decoded(2, 0, 1),
            Err(Error::InvalidLabel { label: 2, .. })
        ));
    }

    /// Classes renamed, added, removed and given in another order: each keeps its photos, a
    /// removed one loses them, and the dataset is the one of the same photos given in sorted
    /// class order from the start (the CLI's folders).
    #[test]
    fn classes_change_and_keep_their_photos() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let colour = |l: u8, i: u8| png([l * 80, i * 30, 200 - l * 60]);
        let mut set = PhotoSet::new(Framing::Crop);
        for i in 0..4u8 {
            set.add(0, format!("o{i}.png"), &colour(0, i)).unwrap();
            set.add(1, format!("c{i}.png"), &colour(1, i)).unwrap();
        }
        // non-cat -> "sky", cat -> "leaves", then a new "dots" class with photos.
        set.set_classes(names(&["sky", "leaves", "dots"]), &[Some(0), Some(1), None])
            .unwrap();
        for i in 0..4u8 {
            set.add(2, format!("d{i}.png"), &colour(2, i)).unwrap();
        }
        let counts: Vec<usize> = set.class_counts().iter().map(|c| c.given).collect();
        assert_eq!(counts, [4, 4, 4]);
        let built = set.build(0.25, 5).unwrap();
        assert_eq!(built.classes, ["dots", "leaves", "sky"]);
        let mut direct =
            PhotoSet::with_classes(Framing::Crop, names(&["dots", "leaves", "sky"])).unwrap();
        for i in (0..4u8).rev() {
            direct.add(1, format!("c{i}.png"), &colour(1, i)).unwrap();
            direct.add(2, format!("o{i}.png"), &colour(0, i)).unwrap();
            direct.add(0, format!("d{i}.png"), &colour(2, i)).unwrap();
        }
        let want = direct.build(0.25, 5).unwrap();
        assert_eq!(built.to_bytes().unwrap(), want.to_bytes().unwrap());
        // "leaves" removed: its photos go with it.
        set.set_classes(names(&["sky", "dots"]), &[Some(0), Some(2)])
            .unwrap();
        let counts: Vec<usize> = set.class_counts().iter().map(|c| c.given).collect();
        assert_eq!(counts, [4, 4]);
        // Refused, and nothing changes: a duplicate name, one class, a source taken twice or
        // past the end, a source list of another length.
        for (n, from) in [
            (names(&["a", "a"]), vec![Some(0), Some(1)]),
            (names(&["a"]), vec![Some(0)]),
            (names(&["a", "b"]), vec![Some(0), Some(0)]),
            (names(&["a", "b"]), vec![Some(0), Some(2)]),
            (names(&["a", "b"]), vec![Some(0)]),
        ] {
            assert!(set.set_classes(n.clone(), &from).is_err(), "{n:?} {from:?}");
        }
        assert_eq!(set.classes(), names(&["sky", "dots"]));
    }

    #[test]
    fn order_of_adding_does_not_change_the_blob() {
        let photos: Vec<(u8, String, Vec<u8>)> = (0..10u8)
            .map(|i| (i % 2, format!("p{i}.png"), png([i * 20, 0, 255 - i * 20])))
            .collect();
        let mut a = PhotoSet::new(Framing::Crop);
        for (l, n, b) in &photos {
            a.add(*l, n.clone(), b).unwrap();
        }
        let mut b = PhotoSet::new(Framing::Crop);
        for (l, n, bytes) in photos.iter().rev() {
            b.add(*l, n.clone(), bytes).unwrap();
        }
        let (da, db) = (a.build(0.4, 3).unwrap(), b.build(0.4, 3).unwrap());
        assert_eq!(da.to_bytes().unwrap(), db.to_bytes().unwrap());
        // 5 per class, round(0.4 * 5) = 2 of each in the test split.
        assert_eq!((da.train.len(), da.test.len()), (6, 4));
        assert_eq!((da.test.count(0), da.test.count(1)), (2, 2));
        // Another seed gives another split of the same photos.
        let dc = a.build(0.4, 4).unwrap();
        assert_eq!(dc.source_sha256, da.source_sha256);
        assert_ne!(dc.content_sha256(), da.content_sha256());
    }

    #[test]
    fn bad_photos_are_counted_but_add_no_image() {
        let mut s = PhotoSet::new(Framing::Crop);
        s.add(1, "cat.png".into(), &png([200, 100, 0])).unwrap();
        s.add(0, "dog.png".into(), &png([0, 100, 200])).unwrap();
        let err = s.add(1, "notes.txt".into(), b"not a photo").unwrap_err();
        assert!(err.to_string().contains("unsupported"), "{err}");
        s.add_unreadable(1, "gone.png".into()).unwrap();
        assert!(s.add(2, "x.png".into(), &png([0; 3])).is_err());
        assert_eq!(
            s.counts(),
            PhotoCounts {
                cats: 3,
                non_cats: 1,
                cats_ok: 1,
                non_cats_ok: 1
            }
        );
        let d = s.build(0.0, 1).unwrap();
        assert_eq!(d.source, "photos: 3 cat, 1 non-cat");
        assert_eq!((d.train.len(), d.test.len()), (2, 0));
        assert!(s.build(1.0, 1).is_err());
        s.clear();
        assert!(s.build(0.0, 1).is_err());
    }

    #[test]
    fn three_named_classes_split_and_keep_their_names() {
        let colours = [[200, 100, 0], [0, 100, 200], [20, 200, 20]];
        let names: Vec<String> = ["ripe", "unripe", "no fruit"].map(String::from).to_vec();
        let photos = |c: usize| -> Vec<(String, Result<Vec<u8>>)> {
            (0..4)
                .map(|i| (format!("{c}-{i}.png"), Ok(png(colours[c]))))
                .collect()
        };
        let classes = (0..3).map(|c| (names[c].clone(), photos(c))).collect();
        let (d, skipped) = from_class_photos(classes, 0.25, 5, Framing::Crop).unwrap();
        assert!(skipped.is_empty());
        // The dataset orders its classes by name, as the CLI lists folders.
        assert_eq!(d.classes, ["no fruit", "ripe", "unripe"]);
        assert_eq!(d.source, "photos: 4 no fruit, 4 ripe, 4 unripe");
        // round(0.25 * 4) = 1 test photo of each class.
        assert_eq!((d.train.len(), d.test.len()), (9, 3));
        for label in 0..3 {
            assert_eq!((d.train.count(label), d.test.count(label)), (3, 1));
        }
        // The file keeps the names and loads back as the same dataset.
        assert_eq!(Dataset::from_bytes(&d.to_bytes().unwrap()).unwrap(), d);

        // A class left with no photo for training is named.
        let mut set = PhotoSet::with_classes(Framing::Crop, names.clone()).unwrap();
        set.add(0, "a.png".into(), &png(colours[0])).unwrap();
        set.add(2, "c.png".into(), &png(colours[2])).unwrap();
        assert!(set.add(3, "d.png".into(), &png(colours[2])).is_err());
        let err = set.build(0.0, 1).unwrap_err();
        assert!(err.to_string().contains("“unripe” has no photo"), "{err}");
        let counts = set.class_counts();
        assert_eq!(
            counts.iter().map(|c| c.given).collect::<Vec<_>>(),
            [1, 0, 1]
        );
        // Bad class lists are refused before any photo.
        assert!(PhotoSet::with_classes(Framing::Crop, vec!["one".into()]).is_err());
        assert!(PhotoSet::with_classes(Framing::Crop, vec!["a".into(), "a".into()]).is_err());
    }

    #[test]
    fn the_classic_two_classes_give_the_same_blob_either_way() {
        let cats = || -> Vec<(String, Result<Vec<u8>>)> {
            (0..3)
                .map(|i| (format!("c{i}.png"), Ok(png([200, i * 40, 0]))))
                .collect()
        };
        let others = || -> Vec<(String, Result<Vec<u8>>)> {
            (0..3)
                .map(|i| (format!("o{i}.png"), Ok(png([0, i * 40, 200]))))
                .collect()
        };
        let (a, _) = from_photos(cats(), others(), 0.3, 2, Framing::Crop).unwrap();
        let named = vec![
            ("non-cat".to_string(), others()),
            ("cat".to_string(), cats()),
        ];
        let (b, _) = from_class_photos(named, 0.3, 2, Framing::Crop).unwrap();
        assert_eq!(a.to_bytes().unwrap(), b.to_bytes().unwrap());
        assert_eq!(a.source, "photos: 3 cat, 3 non-cat");
    }
}
