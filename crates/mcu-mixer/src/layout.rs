//! Layouts: named templates of tiles in normalised coordinates, custom layouts
//! from TOML, and slot filling by priority.

use serde::{Deserialize, Serialize};

/// How a source picture is placed in a tile whose aspect differs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FitMode {
    /// Letterbox: the whole picture is shown, bars fill the rest of the tile.
    #[default]
    Fit,
    /// Crop: the tile is filled, the picture's overflowing edges are cut.
    Fill,
}
