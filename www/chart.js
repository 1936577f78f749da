// The cost chart: the training's cost by iteration as it arrives, drawn at most once a frame,
// and under it the last few saved runs' curves (dashed), which a checkbox hides.

import { $, finite, formatCount } from './helpers.js';

const RUN_COLOURS = ['#3b6fb6', '#2a8f6a', '#8a5bbf', '#b08a1a'];

function niceCeil(x) {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 4, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

/** A polyline through [iteration, cost] points, in the current stroke style. */
function strokeCurve(ctx, points, x, y) {
  ctx.beginPath();
  points.forEach(([it, c], i) => (i === 0 ? ctx.moveTo(x(it), y(c)) : ctx.lineTo(x(it), y(c))));
  ctx.stroke();
}

/**
 * Wires the chart. `placeholder()` is the text shown while there is no cost to draw.
 * Returns {reset, add, replace, setRuns, schedule}.
 */
export function createChart({ placeholder }) {
  const el = { canvas: $('curve'), legend: $('curve-legend'), compare: $('compare') };
  let points = []; // [[iteration, cost]] of the current training
  let iterations = 1; // the x axis's extent for the current training
  let frame = 0;
  let runs = []; // earlier runs: [{name, points, iterations, colour}]
  let compare = true;

  const visibleRuns = () => (compare ? runs : []);

  // Redraws at most once per frame however many progress messages arrive; a few hundred points
  // on one canvas is well under a millisecond.
  function schedule() {
    if (frame) return;
    frame = requestAnimationFrame(() => {
      frame = 0;
      draw();
    });
  }

  function draw() {
    const canvas = el.canvas;
    const dpr = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || 640;
    const h = canvas.clientHeight || 220;
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(h * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
    }
    const ctx = canvas.getContext('2d');
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    const pad = { left: 52, right: 14, top: 12, bottom: 30 };
    const pw = Math.max(10, w - pad.left - pad.right);
    const ph = Math.max(10, h - pad.top - pad.bottom);
    const earlier = visibleRuns();
    const earlierIterations = earlier.reduce((m, r) => Math.max(m, r.iterations), 0);
    const earlierCost = earlier.reduce((m, r) => r.points.reduce((mm, [, c]) => Math.max(mm, c), m), 0);
    const xMax = Math.max(1, iterations, earlierIterations);
    const yMax = niceCeil(points.reduce((m, [, c]) => Math.max(m, c), earlierCost) || 0.7);
    const x = (it) => pad.left + (pw * it) / xMax;
    const y = (c) => pad.top + ph * (1 - Math.min(c, yMax) / yMax);

    ctx.font = '12px system-ui, sans-serif';
    ctx.lineWidth = 1;
    ctx.strokeStyle = '#e4ded6';
    ctx.fillStyle = '#6b635b';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    for (let i = 0; i <= 4; i++) {
      const c = (yMax * i) / 4;
      const yy = Math.round(y(c)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(pad.left, yy);
      ctx.lineTo(pad.left + pw, yy);
      ctx.stroke();
      // Trailing zeros trimmed: 0, 0.25, 0.5, 0.75, 1 rather than 0.3 and 0.8 for the quarters.
      ctx.fillText(String(Number(c.toFixed(3))), pad.left - 6, yy);
    }
    ctx.textAlign = 'center';
    ctx.textBaseline = 'top';
    for (const f of [0, 0.5, 1]) {
      const it = Math.round(xMax * f);
      ctx.textAlign = f === 0 ? 'left' : f === 1 ? 'right' : 'center';
      ctx.fillText(formatCount(it), x(it), pad.top + ph + 8);
    }
    ctx.save();
    ctx.lineWidth = 1.5;
    ctx.setLineDash([5, 3]);
    for (const r of earlier) {
      ctx.strokeStyle = r.colour;
      strokeCurve(ctx, r.points, x, y);
    }
    ctx.restore();
    if (points.length === 0) {
      ctx.textAlign = 'center';
      ctx.textBaseline = 'middle';
      ctx.fillText(placeholder(), pad.left + pw / 2, pad.top + ph / 2);
      return;
    }
    ctx.strokeStyle = '#c2571a';
    ctx.lineWidth = 2;
    ctx.lineJoin = 'round';
    strokeCurve(ctx, points, x, y);
    const [lastIt, lastC] = points[points.length - 1];
    ctx.fillStyle = '#c2571a';
    ctx.beginPath();
    ctx.arc(x(lastIt), y(lastC), 3.5, 0, 2 * Math.PI);
    ctx.fill();
  }

  function legend() {
    el.compare.closest('.compare').hidden = runs.length === 0;
    const items = visibleRuns().map((r) => {
      const li = document.createElement('li');
      li.dataset.testid = 'curve-run';
      const swatch = document.createElement('span');
      swatch.className = 'swatch dashed';
      swatch.style.borderColor = r.colour;
      const last = r.points[r.points.length - 1];
      li.append(swatch, `${r.name}${last ? ` (cost ${last[1].toFixed(4)})` : ''}`);
      return li;
    });
    el.legend.replaceChildren(...items);
    el.legend.hidden = items.length === 0;
  }

  el.compare.addEventListener('change', () => {
    compare = el.compare.checked;
    legend();
    schedule();
  });
  window.addEventListener('resize', schedule);

  return {
    schedule,
    /** A new training of `total` iterations starts: no points yet. */
    reset(total) {
      points = [];
      iterations = total;
      schedule();
    },
    /** A cost from a progress report; one not past the last point's iteration is ignored. */
    add(iteration, cost) {
      if (finite(cost) && (points.length === 0 || points[points.length - 1][0] < iteration)) {
        points.push([iteration, cost]);
        schedule();
      }
    },
    /** The training's full cost record (non-finite costs dropped), over `total` iterations. */
    replace(costs, total) {
      points = costs.filter(([, c]) => finite(c));
      iterations = total;
      schedule();
    },
    /** Earlier runs to draw under the current one: [{name, costs, iterations}], newest first. */
    setRuns(list) {
      runs = list.map((r, i) => ({
        name: r.name,
        points: r.costs.filter(([, c]) => finite(c)),
        iterations: Math.max(1, r.iterations),
        colour: RUN_COLOURS[i % RUN_COLOURS.length],
      }));
      legend();
      schedule();
    },
    draw,
  };
}
