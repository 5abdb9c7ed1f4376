//! Builds the embedded territory table (`cog2026.txt`) from the INSEE COG CSV
//! files. Standard library only.
//!
//! Shared, via `#[path]`, by `examples/gen_territories.rs` (which writes the
//! table) and by the tests of `territory.rs` (which regenerate it and compare
//! it byte for byte with the embedded copy). See the module documentation of
//! `territory` and the header written by [`generate`] for the output format.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

/// The command that regenerates the table, run from the workspace root.
const COMMAND: &str = "cargo run -p essaim-protocol --example gen_territories -- ../shared/data/cog > protocol/src/territory/cog2026.txt";

/// One CSV file, split into rows of fields, with its column names.
struct Csv {
    file: &'static str,
    header: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Csv {
    fn read(dir: &Path, file: &'static str) -> Result<Csv, String> {
        let path = dir.join(file);
        let text = fs::read_to_string(&path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        let mut lines = text
            .split('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .enumerate()
            .filter(|(_, l)| !l.is_empty());
        let header: Vec<String> = match lines.next() {
            Some((_, h)) => h.split(',').map(str::to_owned).collect(),
            None => return Err(format!("{file}: empty file")),
        };
        let mut rows = Vec::new();
        for (i, line) in lines {
            let lineno = i + 1;
            if line.contains('"') {
                return Err(format!(
                    "{file}:{lineno}: quoted field; this generator only splits on ','"
                ));
            }
            let fields: Vec<String> = line.split(',').map(str::to_owned).collect();
            if fields.len() != header.len() {
                return Err(format!(
                    "{file}:{lineno}: {} fields, the header has {}",
                    fields.len(),
                    header.len()
                ));
            }
            rows.push((lineno, fields));
        }
        Ok(Csv { file, header, rows })
    }

    /// Index of a column, or an error naming the file and the column.
    fn col(&self, name: &str) -> Result<usize, String> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| format!("{}: no column {name}", self.file))
    }
}

fn is_digits(s: &str) -> bool {
    s.bytes().all(|b| b.is_ascii_digit())
}

fn is_region_code(s: &str) -> bool {
    s.len() == 2 && is_digits(s)
}

fn is_departement_code(s: &str) -> bool {
    match s.as_bytes() {
        [a, b] => (a.is_ascii_digit() && b.is_ascii_digit()) || s == "2A" || s == "2B",
        [b'9', b'7', c] => c.is_ascii_digit(),
        _ => false,
    }
}

fn is_commune_code(s: &str) -> bool {
    s.len() == 5
        && (is_digits(s) || ((s.starts_with("2A") || s.starts_with("2B")) && is_digits(&s[2..])))
}

/// A name must fit on the rest of a line: not empty, no control character,
/// no space at either end (the reader splits on the first spaces).
fn check_name(file: &str, lineno: usize, name: &str) -> Result<(), String> {
    if name.is_empty() || name.trim() != name || name.chars().any(char::is_control) {
        return Err(format!("{file}:{lineno}: unusable name {name:?}"));
    }
    Ok(())
}

/// Reads `regions.csv`, `departements.csv` and `communes.csv` from `dir` and
/// returns the text of `cog2026.txt`. Fails, naming the file and line, on
/// anything the table format or the `territory` module relies on: codes of
/// the wrong shape, duplicates, unknown parents, a commune code that does not
/// begin with its département code, an unknown `TYPECOM`.
pub(crate) fn generate(dir: &Path) -> Result<String, String> {
    // Régions: code -> name.
    let csv = Csv::read(dir, "regions.csv")?;
    let (c_reg, c_name) = (csv.col("REG")?, csv.col("LIBELLE")?);
    let mut regions = BTreeMap::new();
    for (lineno, row) in &csv.rows {
        let (code, name) = (&row[c_reg], &row[c_name]);
        if !is_region_code(code) {
            return Err(format!("regions.csv:{lineno}: bad région code {code:?}"));
        }
        check_name(csv.file, *lineno, name)?;
        if regions.insert(code.clone(), name.clone()).is_some() {
            return Err(format!("regions.csv:{lineno}: duplicate région {code}"));
        }
    }

    // Départements: code -> (région, name).
    let csv = Csv::read(dir, "departements.csv")?;
    let (c_dep, c_reg, c_name) = (csv.col("DEP")?, csv.col("REG")?, csv.col("LIBELLE")?);
    let mut departements = BTreeMap::new();
    for (lineno, row) in &csv.rows {
        let (code, reg, name) = (&row[c_dep], &row[c_reg], &row[c_name]);
        if !is_departement_code(code) {
            return Err(format!(
                "departements.csv:{lineno}: bad département code {code:?}"
            ));
        }
        if !regions.contains_key(reg) {
            return Err(format!(
                "departements.csv:{lineno}: {code} is in unknown région {reg:?}"
            ));
        }
        check_name(csv.file, *lineno, name)?;
        if departements
            .insert(code.clone(), (reg.clone(), name.clone()))
            .is_some()
        {
            return Err(format!(
                "departements.csv:{lineno}: duplicate département {code}"
            ));
        }
    }

    // Communes (TYPECOM=COM) by département, and arrondissements (ARM).
    let csv = Csv::read(dir, "communes.csv")?;
    let (c_type, c_com, c_reg, c_dep, c_name, c_parent) = (
        csv.col("TYPECOM")?,
        csv.col("COM")?,
        csv.col("REG")?,
        csv.col("DEP")?,
        csv.col("LIBELLE")?,
        csv.col("COMPARENT")?,
    );
    let mut communes: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    let mut commune_codes = BTreeSet::new();
    let mut arms = BTreeMap::new();
    for (lineno, row) in &csv.rows {
        let code = row[c_com].as_str();
        let name = row[c_name].as_str();
        match row[c_type].as_str() {
            "COM" => {
                let dep = row[c_dep].as_str();
                if !is_commune_code(code) {
                    return Err(format!("communes.csv:{lineno}: bad commune code {code:?}"));
                }
                let Some((reg, _)) = departements.get(dep) else {
                    return Err(format!(
                        "communes.csv:{lineno}: commune {code} is in unknown département {dep:?}"
                    ));
                };
                // The table stores a commune code as a suffix of its département code.
                if !code.starts_with(dep) {
                    return Err(format!(
                        "communes.csv:{lineno}: commune code {code} does not begin with its \
                         département code {dep}; the table format relies on it"
                    ));
                }
                if *reg != row[c_reg] {
                    return Err(format!(
                        "communes.csv:{lineno}: commune {code} says région {:?}, its département \
                         {dep} is in région {reg}",
                        row[c_reg]
                    ));
                }
                check_name(csv.file, *lineno, name)?;
                if !commune_codes.insert(code) {
                    return Err(format!("communes.csv:{lineno}: duplicate commune {code}"));
                }
                communes
                    .entry(dep)
                    .or_default()
                    .insert(&code[dep.len()..], name);
            }
            "ARM" => {
                let parent = row[c_parent].as_str();
                if !is_commune_code(code) || !is_commune_code(parent) {
                    return Err(format!(
                        "communes.csv:{lineno}: bad arrondissement {code:?} of {parent:?}"
                    ));
                }
                check_name(csv.file, *lineno, name)?;
                if arms.insert(code, (parent, name)).is_some() {
                    return Err(format!(
                        "communes.csv:{lineno}: duplicate arrondissement {code}"
                    ));
                }
            }
            // Communes déléguées and associées are not current communes.
            "COMD" | "COMA" => {}
            other => {
                return Err(format!("communes.csv:{lineno}: unknown TYPECOM {other:?}"));
            }
        }
    }
    for (code, (parent, _)) in &arms {
        if !commune_codes.contains(parent) {
            return Err(format!(
                "communes.csv: arrondissement {code} of unknown commune {parent}"
            ));
        }
        if commune_codes.contains(code) {
            return Err(format!(
                "communes.csv: {code} is both a commune and an arrondissement"
            ));
        }
    }

    let mut out = String::with_capacity(commune_codes.len() * 20);
    // Writing to a String cannot fail; the results are ignored below.
    let _ = write!(
        out,
        "\
# French territories: INSEE Code officiel géographique (COG) 2026.
# GENERATED FILE, DO NOT EDIT. Regenerate from the workspace root with
#   {COMMAND}
# (the generator is protocol/src/territory/generate.rs; a test of essaim-protocol
# regenerates this file and compares it byte for byte).
# Source: Insee, Code officiel géographique au 1er janvier 2026, files regions.csv,
# departements.csv and communes.csv (as in datagouv/decoupage-administratif, sources/),
# under the Licence Ouverte / Open Licence (Etalab). Names are the LIBELLE column.
#
# Format: UTF-8, one record per line; fields are separated by one space and the
# name is the rest of the line. Lines starting with '#' are comments.
#   R <reg> <name>              a région
#   D <dep> <reg> <name>        a département and its région, followed by its communes
#   <suffix> <name>             a current commune (TYPECOM=COM) of the preceding
#                               département; its code is <dep><suffix>
#                               (\"123 Lyon\" after \"D 69 84 Rhône\" is commune 69123)
#   A <code> <commune> <name>   a municipal arrondissement of Paris, Lyon or Marseille:
#                               not a commune; <commune> is the commune it is part of
# Each kind is sorted by code (byte order). Communes déléguées and associées are left out.
# {} régions, {} départements, {} communes, {} arrondissements.
",
        regions.len(),
        departements.len(),
        commune_codes.len(),
        arms.len()
    );
    for (code, name) in &regions {
        let _ = writeln!(out, "R {code} {name}");
    }
    for (code, (reg, name)) in &departements {
        let _ = writeln!(out, "D {code} {reg} {name}");
        for (suffix, name) in communes.get(code.as_str()).into_iter().flatten() {
            let _ = writeln!(out, "{suffix} {name}");
        }
    }
    for (code, (parent, name)) in &arms {
        let _ = writeln!(out, "A {code} {parent} {name}");
    }
    Ok(out)
}
