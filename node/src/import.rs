//! Imports: records from other formats turned into Essaim bodies, with
//! warnings for what could not be carried over.
//!
//! | module | what it holds |
//! |---|---|
//! | [`dpg`] | the Digital Public Goods registry's export → initiatives |
//! | [`publiccode`] | a publiccode.yml, validated as the standard says → one initiative |
//! | `text` | what both share: slugs, accent folding, cleaning and cutting text |
//! | `spdx` | deprecated GNU licence ids read as their current form |

pub mod dpg;
pub mod publiccode;
mod spdx;
mod text;
