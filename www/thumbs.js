// A class's photos as the model sees them (64x64), virtualised: the scroll box stands for every
// decoded photo of the class, but only the rows in view (and one either side) exist as
// elements, their pixels asked of the worker as they come into view. Thousands of photos cost a
// few dozen canvases, and the page holds no pixels of its own.

import { rgbaCanvas } from './helpers.js';

/** A thumbnail's side and the gap between two, CSS pixels (owndata.css draws them so). */
const CELL = 64;
const GAP = 6;
/** Rows drawn beyond the box's edges, so a small scroll shows drawn thumbnails at once. */
const SPARE_ROWS = 1;
const RGBA = CELL * CELL * 4;

/**
 * Wires one class's grid. `box` is the scroll container, `list` the `<ul>` inside it;
 * `fetch(from, count)` resolves with `{names, rgba}` for the class's decoded photos numbered
 * `from..from + count` (fewer past the last); `onError(e)` hears of a fetch that failed (its
 * cells stay empty until they are scrolled out of view and back). Returns {setTotal(n), redraw()}: `setTotal` says
 * how many decoded photos the class has now; `redraw` forgets what is drawn (the photos changed
 * under the same numbers: cleared, or the class removed and the labels closed up).
 */
export function createThumbGrid({ box, list, fetch, onError }) {
  let total = 0;
  let columns = 1;
  /** @type {Map<number, HTMLLIElement>} drawn or being drawn, by photo number */
  const cells = new Map();
  let scheduled = false;
  let fetching = false;
  let generation = 0; // bumped by redraw, so a reply for forgotten cells is dropped

  const rows = () => Math.ceil(total / columns);

  function layout() {
    const width = box.clientWidth;
    // A hidden panel has no width: keep the last column count rather than one column.
    if (width > 0) columns = Math.max(1, Math.floor((width + GAP) / (CELL + GAP)));
    list.style.height = `${Math.max(0, rows() * (CELL + GAP) - GAP)}px`;
    box.hidden = total === 0;
  }

  /** Photo numbers of the rows in view, plus the spare ones. */
  function inView() {
    const row = CELL + GAP;
    const first = Math.max(0, Math.floor(box.scrollTop / row) - SPARE_ROWS);
    const last = Math.min(rows() - 1, Math.floor((box.scrollTop + box.clientHeight) / row) + SPARE_ROWS);
    return { from: first * columns, to: Math.min(total, (last + 1) * columns) };
  }

  function place(li, n) {
    li.style.top = `${Math.floor(n / columns) * (CELL + GAP)}px`;
    li.style.left = `${(n % columns) * (CELL + GAP)}px`;
  }

  async function render() {
    scheduled = false;
    layout();
    const { from, to } = inView();
    for (const [n, li] of cells) {
      if (n < from || n >= to) {
        li.remove();
        cells.delete(n);
      } else {
        place(li, n);
      }
    }
    // The first run of missing numbers in view: one request at a time, then look again.
    let start = from;
    while (start < to && cells.has(start)) start++;
    if (start >= to || fetching) return;
    let end = start;
    while (end < to && !cells.has(end)) end++;
    for (let n = start; n < end; n++) {
      const li = document.createElement('li');
      li.className = 'own-thumb';
      place(li, n);
      cells.set(n, li);
      list.append(li);
    }
    fetching = true;
    const asked = generation;
    try {
      const { names, rgba } = await fetch(start, end - start).catch((e) => {
        onError(e);
        return { names: [], rgba: new Uint8Array(0) };
      });
      if (asked !== generation) return;
      names.forEach((name, i) => {
        const li = cells.get(start + i);
        if (!li) return;
        li.title = name;
        li.replaceChildren(rgbaCanvas(rgba, CELL, name, i * RGBA));
      });
    } finally {
      fetching = false;
      if (asked === generation) schedule();
    }
  }

  function schedule() {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => render().catch(onError));
  }

  box.addEventListener('scroll', schedule, { passive: true });
  new ResizeObserver(schedule).observe(box);

  return {
    setTotal(n) {
      total = n;
      schedule();
    },
    redraw() {
      generation++;
      fetching = false;
      for (const li of cells.values()) li.remove();
      cells.clear();
      schedule();
    },
  };
}
