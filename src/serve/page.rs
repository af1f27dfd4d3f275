//! The page, assembled at compile time from its parts in `page/`: the markup and styles
//! (`top.html`), then the script in order: the forms and the API (`app.js`), the network
//! diagram (`network.js`), the scalar-op graph (`graph.js`), training with its curves and
//! pictures (`train.js`), the "check my numbers" panel (`check.js`), the first load
//! (`start.js`). Plain JavaScript and SVG; nothing is fetched from the network.

/// The page, embedded in the binary.
pub const PAGE: &str = concat!(
    include_str!("page/top.html"),
    include_str!("page/app.js"),
    include_str!("page/network.js"),
    include_str!("page/graph.js"),
    include_str!("page/train.js"),
    include_str!("page/check.js"),
    include_str!("page/start.js"),
    include_str!("page/bottom.html"),
);
