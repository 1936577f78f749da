// The heat map of a card classified by ImageNet's cat classes: where the pretrained network saw
// the cat class, drawn semi-transparent over the image it saw (scaled up smoothly from its few
// regions: 4 x 4 at 128 pixels).

import { paint } from './helpers.js';

/**
 * Colours of `heat` (side x side values, row-major), normalised to their range: the regions
 * that raise the class most are opaque yellow-red, those that raise it least transparent.
 * Returns RGBA bytes.
 */
export function heatColours(heat, side) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const h of heat) {
    lo = Math.min(lo, h);
    hi = Math.max(hi, h);
  }
  const out = new Uint8ClampedArray(side * side * 4);
  for (let i = 0; i < side * side; i++) {
    const t = hi > lo ? (heat[i] - lo) / (hi - lo) : 0.5;
    out[4 * i] = 255;
    out[4 * i + 1] = Math.round(220 * (1 - t));
    out[4 * i + 2] = 0;
    out[4 * i + 3] = Math.round(40 + 170 * t);
  }
  return out;
}

/** Paints `seen` (RGBA, the canvas's size) on `canvas`, with the heat map over it when `on`. */
export function drawSeen(canvas, seen, { heat, heatSide, on }) {
  paint(canvas, seen);
  if (!on || !heat || !heatSide) return;
  const small = document.createElement('canvas');
  small.width = heatSide;
  small.height = heatSide;
  small.getContext('2d').putImageData(new ImageData(heatColours(heat, heatSide), heatSide, heatSide), 0, 0);
  const ctx = canvas.getContext('2d');
  ctx.save();
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.globalAlpha = 0.75;
  ctx.drawImage(small, 0, 0, canvas.width, canvas.height);
  ctx.restore();
}
