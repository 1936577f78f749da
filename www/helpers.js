// Small helpers shared by the page's modules (and the benchmark page): element lookup, number
// and text formatting, painting RGBA bytes, and saving bytes as a download. Nothing here keeps
// state or touches the page when imported, so the workers may import it too.

export const $ = (id) => document.getElementById(id);

/** A number that is neither NaN nor infinite. */
export const finite = (x) => typeof x === 'number' && Number.isFinite(x);

/** 0.7 -> "70.0%"; anything not a finite number -> "—". */
export const percent = (x) => (finite(x) ? `${(100 * x).toFixed(1)}%` : '—');

/** plural(1, 'cat', 'cats') -> "1 cat"; plural(2, ...) -> "2 cats". */
export const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** 12345 -> "12,345". */
export const formatCount = (n) => n.toLocaleString('en-US');

/** Seconds as "4.2 s", "37 s" or "3 min". */
export const formatSeconds = (s) => (s < 10 ? `${s.toFixed(1)} s` : s < 90 ? `${Math.round(s)} s` : `${Math.round(s / 60)} min`);

/**
 * "train: 209 images, 72 cats / 137 non-cats" for a split summary {n, cats, non_cats,
 * per_class}; with other classes than the classic two, "train: 9 images: 3 ripe, 3 unripe, 3
 * no fruit" (`classes`: the dataset's class names, index = label).
 */
export function describeSplit(name, s, classes = ['non-cat', 'cat']) {
  const classic = classes.length === 2 && classes[0] === 'non-cat' && classes[1] === 'cat';
  if (!classic && Array.isArray(s.per_class)) {
    return `${name}: ${plural(s.n, 'image', 'images')}: ${classes.map((c, i) => `${formatCount(s.per_class[i] ?? 0)} ${c}`).join(', ')}`;
  }
  return `${name}: ${plural(s.n, 'image', 'images')}, ${plural(s.cats, 'cat', 'cats')} / ` +
    `${plural(s.non_cats, 'non-cat', 'non-cats')}`;
}

/** Both splits of a dataset summary, as one sentence's clauses: "train: ...; test: ...". */
export const describeSplits = (summary) => `${describeSplit('train', summary.train, summary.classes)}; ` +
  `${describeSplit('test', summary.test, summary.classes)}`;

/** The text of anything thrown. */
export const messageOf = (e) => (e instanceof Error ? e.message : String(e));

/**
 * A side x side canvas (an image for assistive technology, named `label`) showing the RGBA
 * bytes of `bytes` from byte `offset`.
 */
export function rgbaCanvas(bytes, side, label, offset = 0) {
  const canvas = document.createElement('canvas');
  canvas.width = side;
  canvas.height = side;
  canvas.setAttribute('role', 'img');
  if (label !== undefined) canvas.setAttribute('aria-label', label);
  paint(canvas, bytes, offset);
  return canvas;
}

/** Paints RGBA bytes (from byte `offset`) over the whole of a square canvas. */
export function paint(canvas, bytes, offset = 0) {
  const side = canvas.width;
  const pixels = new Uint8ClampedArray(bytes.buffer, bytes.byteOffset + offset, side * side * 4);
  canvas.getContext('2d').putImageData(new ImageData(pixels, side, side), 0, 0);
}

/** Saves bytes as a file the browser downloads; the object URL is freed after `keepMs`. */
export function downloadBytes(bytes, name, keepMs) {
  const url = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own reference by now; the URL only needs to outlive the click.
  setTimeout(() => URL.revokeObjectURL(url), keepMs);
}

/** Every file under a dropped directory entry, with its path inside the drop. */
export async function filesOf(entry) {
  if (entry.isFile) {
    const file = await new Promise((resolve, reject) => entry.file(resolve, reject));
    return [{ file, name: entry.fullPath.replace(/^\//, '') }];
  }
  if (!entry.isDirectory) return [];
  const reader = entry.createReader();
  const out = [];
  // readEntries hands out a directory in batches; an empty batch means the end.
  for (;;) {
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) out.push(...(await filesOf(child)));
  }
  return out;
}
