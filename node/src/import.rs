//! Imports: records from other formats turned into Essaim bodies, with
//! warnings for what could not be carried over.

pub mod dpg;
pub mod publiccode;
