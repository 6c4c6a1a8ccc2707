//! The custom layouts shipped in `config/layouts/` load and validate.

use std::path::Path;

use mcu_mixer::layout::{LayoutLibrary, TileRole};

#[test]
fn shipped_custom_layouts_load() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/layouts");
    let mut lib = LayoutLibrary::with_templates();
    let names = lib.load_dir(&dir).expect("config/layouts loads");
    assert!(names.contains(&"chu-toa-2+4".to_string()), "{names:?}");
    let l = lib.get("chu-toa-2+4").unwrap();
    assert_eq!(
        l.tiles.iter().filter(|t| t.role == TileRole::Chair).count(),
        1
    );
    let pip = lib.get("bao-cao-pip").unwrap();
    assert_eq!(pip.tiles[1].role, TileRole::Pip);
    // The templates are still there next to the custom ones.
    assert!(lib.get("1+7").is_some());
}
