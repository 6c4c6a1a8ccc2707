// The mixer's layout templates, copied from crates/mcu-mixer/src/layout.rs
// (Layout::template): tiles as [x, y, w, h, role, z] in normalised canvas
// coordinates, in the mixer's tile order (a tile's index is its pin slot).
// tests/console.rs checks this table against the mixer.

import { svg } from "./dom.js";

export const LAYOUTS = {
  "1x1": [
    [0, 0, 1, 1, "main", 0],
  ],
  "2x2": [
    [0, 0, 0.5, 0.5, "side", 0],
    [0.5, 0, 0.5, 0.5, "side", 0],
    [0, 0.5, 0.5, 0.5, "side", 0],
    [0.5, 0.5, 0.5, 0.5, "side", 0],
  ],
  "3x3": [
    [0, 0, 0.3333, 0.3333, "side", 0],
    [0.3333, 0, 0.3333, 0.3333, "side", 0],
    [0.6667, 0, 0.3333, 0.3333, "side", 0],
    [0, 0.3333, 0.3333, 0.3333, "side", 0],
    [0.3333, 0.3333, 0.3333, 0.3333, "side", 0],
    [0.6667, 0.3333, 0.3333, 0.3333, "side", 0],
    [0, 0.6667, 0.3333, 0.3333, "side", 0],
    [0.3333, 0.6667, 0.3333, 0.3333, "side", 0],
    [0.6667, 0.6667, 0.3333, 0.3333, "side", 0],
  ],
  "4x4": [
    [0, 0, 0.25, 0.25, "side", 0],
    [0.25, 0, 0.25, 0.25, "side", 0],
    [0.5, 0, 0.25, 0.25, "side", 0],
    [0.75, 0, 0.25, 0.25, "side", 0],
    [0, 0.25, 0.25, 0.25, "side", 0],
    [0.25, 0.25, 0.25, 0.25, "side", 0],
    [0.5, 0.25, 0.25, 0.25, "side", 0],
    [0.75, 0.25, 0.25, 0.25, "side", 0],
    [0, 0.5, 0.25, 0.25, "side", 0],
    [0.25, 0.5, 0.25, 0.25, "side", 0],
    [0.5, 0.5, 0.25, 0.25, "side", 0],
    [0.75, 0.5, 0.25, 0.25, "side", 0],
    [0, 0.75, 0.25, 0.25, "side", 0],
    [0.25, 0.75, 0.25, 0.25, "side", 0],
    [0.5, 0.75, 0.25, 0.25, "side", 0],
    [0.75, 0.75, 0.25, 0.25, "side", 0],
  ],
  "1+5": [
    [0, 0, 0.6667, 0.6667, "main", 0],
    [0.6667, 0, 0.3333, 0.3333, "side", 0],
    [0.6667, 0.3333, 0.3333, 0.3333, "side", 0],
    [0, 0.6667, 0.3333, 0.3333, "side", 0],
    [0.3333, 0.6667, 0.3333, 0.3333, "side", 0],
    [0.6667, 0.6667, 0.3333, 0.3333, "side", 0],
  ],
  "1+7": [
    [0, 0, 0.75, 0.75, "main", 0],
    [0.75, 0, 0.25, 0.25, "side", 0],
    [0.75, 0.25, 0.25, 0.25, "side", 0],
    [0.75, 0.5, 0.25, 0.25, "side", 0],
    [0, 0.75, 0.25, 0.25, "side", 0],
    [0.25, 0.75, 0.25, 0.25, "side", 0],
    [0.5, 0.75, 0.25, 0.25, "side", 0],
    [0.75, 0.75, 0.25, 0.25, "side", 0],
  ],
  "1+12": [
    [0.25, 0.25, 0.5, 0.5, "main", 0],
    [0, 0, 0.25, 0.25, "side", 0],
    [0.25, 0, 0.25, 0.25, "side", 0],
    [0.5, 0, 0.25, 0.25, "side", 0],
    [0.75, 0, 0.25, 0.25, "side", 0],
    [0, 0.25, 0.25, 0.25, "side", 0],
    [0.75, 0.25, 0.25, 0.25, "side", 0],
    [0, 0.5, 0.25, 0.25, "side", 0],
    [0.75, 0.5, 0.25, 0.25, "side", 0],
    [0, 0.75, 0.25, 0.25, "side", 0],
    [0.25, 0.75, 0.25, 0.25, "side", 0],
    [0.5, 0.75, 0.25, 0.25, "side", 0],
    [0.75, 0.75, 0.25, 0.25, "side", 0],
  ],
  "2+8": [
    [0, 0.25, 0.5, 0.5, "main", 0],
    [0.5, 0.25, 0.5, 0.5, "main", 0],
    [0, 0, 0.25, 0.25, "side", 0],
    [0.25, 0, 0.25, 0.25, "side", 0],
    [0.5, 0, 0.25, 0.25, "side", 0],
    [0.75, 0, 0.25, 0.25, "side", 0],
    [0, 0.75, 0.25, 0.25, "side", 0],
    [0.25, 0.75, 0.25, 0.25, "side", 0],
    [0.5, 0.75, 0.25, 0.25, "side", 0],
    [0.75, 0.75, 0.25, 0.25, "side", 0],
  ],
  "speaker+pip": [
    [0, 0, 1, 1, "main", 0],
    [0.72, 0.72, 0.25, 0.25, "pip", 1],
  ],
};

/** Layout names in the mixer's order. */
export const LAYOUT_NAMES = Object.keys(LAYOUTS);

const W = 160;
const H = 90;

/**
 * An SVG picture of a layout (16:9): one rect per tile, main tiles shaded,
 * each tile tagged with `data-slot` (its index). With `numbers`, each tile
 * shows its slot number (from 1, as operators count).
 */
export function thumbnail(name, { numbers = false, labels = [] } = {}) {
  const tiles = (LAYOUTS[name] || []).map((t, slot) => ({ t, slot }));
  tiles.sort((a, b) => a.t[5] - b.t[5]);
  const pic = svg("svg", { viewBox: `0 0 ${W} ${H}`, class: "thumb", role: "img", "aria-label": name });
  pic.append(svg("rect", { x: 0, y: 0, width: W, height: H, class: "canvas" }));
  for (const { t, slot } of tiles) {
    const [x, y, w, h, role] = t;
    const g = svg("g", { class: "tile " + role, "data-slot": slot });
    g.append(svg("rect", { x: x * W + 1, y: y * H + 1, width: w * W - 2, height: h * H - 2 }));
    const label = labels[slot];
    if (numbers || label) {
      const text = svg("text", { x: (x + w / 2) * W, y: (y + h / 2) * H, "text-anchor": "middle", "dominant-baseline": "middle" });
      text.textContent = label ? label : String(slot + 1);
      g.append(text);
    }
    pic.append(g);
  }
  return pic;
}
