//! French territories as typed INSEE codes, checked against the Code officiel
//! géographique (COG) 2026.
//!
//! # Why typed codes
//!
//! An initiative says where it acts with territory codes. Bare INSEE codes are
//! ambiguous: région and département codes overlap (`84` is both the région
//! Auvergne-Rhône-Alpes and the département Vaucluse), and a five-character
//! code may be a commune, a commune déléguée or an arrondissement. So a record
//! writes the level in front of the code:
//!
//! | written | level | example |
//! |---|---|---|
//! | `FR` | the whole country | `FR` (France) |
//! | `reg:` + 2 digits | région | `reg:84` (Auvergne-Rhône-Alpes) |
//! | `dep:` + 2 digits, `2A`, `2B` or `97` + 1 digit | département | `dep:69`, `dep:2A`, `dep:971` |
//! | `com:` + 5 characters | commune | `com:69123` (Lyon), `com:2A004` (Ajaccio) |
//!
//! Parsing is strict: no surrounding whitespace, lower-case prefixes only,
//! upper-case `2A`/`2B`, and the code must be in the COG 2026 (only current
//! communes, `TYPECOM=COM`). Each refusal is its own [`TerritoryError`]
//! variant saying what to write instead; the arrondissements of Paris, Lyon and
//! Marseille (`com:69381`) are refused with the commune to use (`com:69123`).
//! [`Territory`]'s [`Display`](fmt::Display) gives back exactly the canonical
//! string, so `parse(t.to_string()) == t`.
//!
//! The hierarchy commune → département → région → `FR` is available through
//! [`Territory::parent`], [`Territory::ancestors`] and
//! [`Territory::contains`], e.g. for hierarchical facets where an initiative in
//! a commune also counts for its département and its région.
//!
//! # The embedded table
//!
//! The list of territories is `territory/cog2026.txt`, compiled into the crate
//! with `include_str!` and parsed once, on first use, into sorted tables
//! searched by binary search. It is generated (by `src/territory/generate.rs`,
//! run as `examples/gen_territories.rs`) from the INSEE files; from the
//! workspace root:
//!
//! ```text
//! cargo run -p essaim-protocol --example gen_territories -- ../shared/data/cog > protocol/src/territory/cog2026.txt
//! ```
//!
//! A test regenerates it and compares it byte for byte. The format is UTF-8
//! text, one record per line, fields separated by one space, the name being the
//! rest of the line; lines starting with `#` are comments:
//!
//! ```text
//! R <reg> <name>              a région
//! D <dep> <reg> <name>        a département and its région, followed by its communes
//! <suffix> <name>             a commune of the preceding département, code <dep><suffix>
//! A <code> <commune> <name>   an arrondissement (not a commune) and the commune it is part of
//! ```
//!
//! For example `D 69 84 Rhône` followed by `123 Lyon` is commune `69123`, and
//! `A 69381 69123 Lyon 1er Arrondissement` is an arrondissement of Lyon. Every
//! kind is sorted by code (byte order), so `29` < `2A` < `2B` < `30`.
//!
//! # Source
//!
//! Insee, Code officiel géographique au 1er janvier 2026 (`regions.csv`,
//! `departements.csv`, `communes.csv`), Licence Ouverte / Open Licence
//! (Etalab). Names are the `LIBELLE` column.

use std::fmt;
use std::iter::FusedIterator;
use std::ops::Range;
use std::str::FromStr;
use std::sync::OnceLock;

#[cfg(test)]
#[path = "territory/generate.rs"]
mod generate;

/// The embedded table; see the module documentation for its format.
static TABLE_TEXT: &str = include_str!("territory/cog2026.txt");

/// Inputs longer than this are refused before any other check. The longest
/// valid code, `com:2A004`, has 9 bytes.
const MAX_INPUT_LEN: usize = 16;

/// Offending values longer than this are cut in errors, so that a huge input
/// does not end up whole in messages and logs.
const MAX_SHOWN_LEN: usize = 40;

/// A French territory: the whole country, a région, a département or a
/// commune of the INSEE COG 2026.
///
/// Obtained with [`Territory::parse`] (or [`str::parse`]), [`regions`],
/// [`departements`] or [`communes_of`]; written back with
/// [`Display`](fmt::Display) and serialized as that string. It is a small
/// `Copy` handle into the embedded table. The order is by level
/// ([`Level::National`] first), then by INSEE code.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Territory(Node);

/// The inside of a [`Territory`]: indices into the tables of [`tables()`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
enum Node {
    National,
    Region(u8),
    Departement(u16),
    Commune(u32),
}

/// The level of a [`Territory`] in the hierarchy, from the largest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Level {
    /// The whole country, `FR`.
    National,
    /// A région, `reg:NN`.
    Region,
    /// A département, `dep:NN`.
    Departement,
    /// A commune, `com:NNNNN`.
    Commune,
}

/// Why a string is not a [`Territory`]. Each variant carries the offending
/// value (cut to about 40 bytes when longer) and its message says what to
/// write instead; [`TerritoryError::code`] gives a stable error code.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TerritoryError {
    /// Not of the form `FR`, `reg:NN`, `dep:NN` (`2A`, `2B`, `97N`) or
    /// `com:NNNNN`.
    #[error(
        "`{}` is not a territory code; write FR, reg:NN, dep:NN, or com:NNNNN{}",
        shown(.value),
        suggestion(.value)
    )]
    Syntax {
        /// The offending value.
        value: String,
    },
    /// Well formed, but no such région in the COG 2026.
    #[error(
        "`{}` is not a région of the INSEE COG 2026; write reg: and a région code, \
         e.g. reg:84 (Auvergne-Rhône-Alpes), or FR for the whole country",
        shown(.value)
    )]
    UnknownRegion {
        /// The offending value.
        value: String,
    },
    /// Well formed, but no such département in the COG 2026.
    #[error(
        "`{}` is not a département of the INSEE COG 2026; {}",
        shown(.value),
        departement_hint(.value)
    )]
    UnknownDepartement {
        /// The offending value.
        value: String,
    },
    /// Well formed, but not a current commune of the COG 2026 (communes
    /// déléguées and associées are not current communes).
    #[error(
        "`{}` is not a current commune of the INSEE COG 2026; {}",
        shown(.value),
        commune_hint(.value)
    )]
    UnknownCommune {
        /// The offending value.
        value: String,
    },
    /// A municipal arrondissement of Paris, Lyon or Marseille, which is not a
    /// commune.
    #[error(
        "`{}` is a municipal arrondissement, not a commune; write {} ({})",
        shown(.value),
        .commune,
        commune_name(.commune)
    )]
    Arrondissement {
        /// The offending value, e.g. `com:69381`.
        value: String,
        /// The commune to write instead, as a territory code, e.g. `com:69123`.
        commune: String,
    },
}

impl TerritoryError {
    /// A stable snake_case code for this error, for APIs and translations:
    /// `territory_syntax`, `unknown_region`, `unknown_departement`,
    /// `unknown_commune` or `arrondissement_not_commune`.
    pub fn code(&self) -> &'static str {
        match self {
            TerritoryError::Syntax { .. } => "territory_syntax",
            TerritoryError::UnknownRegion { .. } => "unknown_region",
            TerritoryError::UnknownDepartement { .. } => "unknown_departement",
            TerritoryError::UnknownCommune { .. } => "unknown_commune",
            TerritoryError::Arrondissement { .. } => "arrondissement_not_commune",
        }
    }

    /// The offending value (cut to about 40 bytes when longer).
    pub fn value(&self) -> &str {
        match self {
            TerritoryError::Syntax { value }
            | TerritoryError::UnknownRegion { value }
            | TerritoryError::UnknownDepartement { value }
            | TerritoryError::UnknownCommune { value }
            | TerritoryError::Arrondissement { value, .. } => value,
        }
    }
}

impl Territory {
    /// The whole country, `FR`.
    pub const NATIONAL: Territory = Territory(Node::National);

    /// Parses a canonical territory code: exactly `FR`, `reg:` + 2 digits,
    /// `dep:` + (2 digits, `2A`, `2B` or `97` + 1 digit), or `com:` + 5
    /// characters (digits, or `2A`/`2B` + 3 digits), present in the COG 2026.
    /// Never panics; inputs over 16 bytes are refused at once.
    pub fn parse(s: &str) -> Result<Territory, TerritoryError> {
        let syntax = || TerritoryError::Syntax {
            value: offending(s),
        };
        if s.len() > MAX_INPUT_LEN {
            return Err(syntax());
        }
        if s == "FR" {
            return Ok(Territory::NATIONAL);
        }
        let Some((prefix, code)) = s.split_at_checked(4) else {
            return Err(syntax());
        };
        let t = tables();
        match prefix {
            "reg:" if is_region_code(code) => t
                .region_index(code)
                .map(|i| Territory(Node::Region(i)))
                .ok_or_else(|| TerritoryError::UnknownRegion {
                    value: offending(s),
                }),
            "dep:" if is_departement_code(code) => t
                .departement_index(code)
                .map(|i| Territory(Node::Departement(i)))
                .ok_or_else(|| TerritoryError::UnknownDepartement {
                    value: offending(s),
                }),
            "com:" if is_commune_code(code) => {
                if let Some(i) = t.commune_index(code) {
                    Ok(Territory(Node::Commune(i)))
                } else if let Some(arm) = t.arrondissement(code) {
                    Err(TerritoryError::Arrondissement {
                        value: offending(s),
                        commune: Territory(Node::Commune(arm.commune)).to_string(),
                    })
                } else {
                    Err(TerritoryError::UnknownCommune {
                        value: offending(s),
                    })
                }
            }
            _ => Err(syntax()),
        }
    }

    /// The level of this territory.
    pub fn level(&self) -> Level {
        match self.0 {
            Node::National => Level::National,
            Node::Region(_) => Level::Region,
            Node::Departement(_) => Level::Departement,
            Node::Commune(_) => Level::Commune,
        }
    }

    /// The bare INSEE code (`84`, `2A`, `69123`), or `FR` for the whole
    /// country. Without the level prefix it is ambiguous; use
    /// [`Display`](fmt::Display) for the canonical form.
    pub fn code(&self) -> &'static str {
        let t = tables();
        match self.0 {
            Node::National => "FR",
            Node::Region(i) => t.regions[usize::from(i)].code,
            Node::Departement(i) => t.departements[usize::from(i)].code,
            Node::Commune(i) => t.commune_code(i),
        }
    }

    /// The French name, as in the COG (`Auvergne-Rhône-Alpes`,
    /// `L'Abergement-Clémenciat`), or `France` for the whole country.
    pub fn name(&self) -> &'static str {
        let t = tables();
        match self.0 {
            Node::National => "France",
            Node::Region(i) => t.regions[usize::from(i)].name,
            Node::Departement(i) => t.departements[usize::from(i)].name,
            Node::Commune(i) => t.communes[i as usize].name(),
        }
    }

    /// The département of a commune; a département itself; `None` for a
    /// région or the whole country.
    pub fn departement(&self) -> Option<Territory> {
        match self.0 {
            Node::Commune(i) => Some(Territory(Node::Departement(
                tables().communes[i as usize].departement,
            ))),
            Node::Departement(_) => Some(*self),
            Node::National | Node::Region(_) => None,
        }
    }

    /// The région of a commune or a département; a région itself; `None` for
    /// the whole country.
    pub fn region(&self) -> Option<Territory> {
        match self.0 {
            Node::Commune(_) => self.departement().and_then(|d| d.region()),
            Node::Departement(i) => Some(Territory(Node::Region(
                tables().departements[usize::from(i)].region,
            ))),
            Node::Region(_) => Some(*self),
            Node::National => None,
        }
    }

    /// The territory one level up: commune → département → région → `FR`;
    /// `None` for `FR`.
    pub fn parent(&self) -> Option<Territory> {
        match self.0 {
            Node::Commune(_) => self.departement(),
            Node::Departement(_) => self.region(),
            Node::Region(_) => Some(Territory::NATIONAL),
            Node::National => None,
        }
    }

    /// This territory, then each of its parents up to `FR` included: for
    /// `com:69123`, `com:69123`, `dep:69`, `reg:84`, `FR`.
    pub fn ancestors(&self) -> Ancestors {
        Ancestors(Some(*self))
    }

    /// Whether `other` is this territory or lies within it: `FR` contains
    /// everything, `reg:84` contains `dep:69` and `com:69123`.
    pub fn contains(&self, other: &Territory) -> bool {
        match self.0 {
            Node::National => true,
            _ => self.level() <= other.level() && other.ancestors().any(|a| a == *self),
        }
    }

    /// The canonical string, built on the stack.
    fn canonical(&self) -> Canonical {
        let prefix: &[u8] = match self.0 {
            Node::National => b"",
            Node::Region(_) => b"reg:",
            Node::Departement(_) => b"dep:",
            Node::Commune(_) => b"com:",
        };
        let mut c = Canonical {
            buf: [0; 9],
            len: 0,
        };
        for &b in prefix.iter().chain(self.code().as_bytes()) {
            if let Some(slot) = c.buf.get_mut(c.len) {
                *slot = b;
                c.len += 1;
            }
        }
        c
    }
}

/// A canonical territory string (at most 9 ASCII bytes).
struct Canonical {
    buf: [u8; 9],
    len: usize,
}

impl Canonical {
    fn as_str(&self) -> &str {
        self.buf
            .get(..self.len)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default()
    }
}

impl fmt::Display for Territory {
    /// The canonical code: `FR`, `reg:84`, `dep:2A`, `com:69123`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.canonical().as_str())
    }
}

impl fmt::Debug for Territory {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Territory")
            .field(&self.canonical().as_str())
            .finish()
    }
}

impl FromStr for Territory {
    type Err = TerritoryError;

    fn from_str(s: &str) -> Result<Territory, TerritoryError> {
        Territory::parse(s)
    }
}

impl serde::Serialize for Territory {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.canonical().as_str())
    }
}

/// Iterator over a territory and its parents up to `FR`, from
/// [`Territory::ancestors`].
#[derive(Clone, Debug)]
pub struct Ancestors(Option<Territory>);

impl Iterator for Ancestors {
    type Item = Territory;

    fn next(&mut self) -> Option<Territory> {
        let current = self.0?;
        self.0 = current.parent();
        Some(current)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = match self.0.map(|t| t.level()) {
            None => 0,
            Some(Level::National) => 1,
            Some(Level::Region) => 2,
            Some(Level::Departement) => 3,
            Some(Level::Commune) => 4,
        };
        (n, Some(n))
    }
}

impl ExactSizeIterator for Ancestors {}
impl FusedIterator for Ancestors {}

/// The régions, in code order.
pub fn regions() -> impl ExactSizeIterator<Item = Territory> {
    (0..tables().region_count).map(|i| Territory(Node::Region(i)))
}

/// The départements, in code order (`29`, `2A`, `2B`, `30`, …, `95`, `971`, …).
pub fn departements() -> impl ExactSizeIterator<Item = Territory> {
    (0..tables().departement_count).map(|i| Territory(Node::Departement(i)))
}

/// The communes of a département, in code order; nothing if `dep` is not a
/// département.
pub fn communes_of(dep: Territory) -> impl ExactSizeIterator<Item = Territory> {
    let range = match dep.0 {
        Node::Departement(i) => tables().departements[usize::from(i)].communes.clone(),
        _ => 0..0,
    };
    range.map(|i| Territory(Node::Commune(i)))
}

/// The numbers of régions, départements and communes in the table.
pub fn counts() -> (usize, usize, usize) {
    let t = tables();
    (t.regions.len(), t.departements.len(), t.communes.len())
}

// ---------------------------------------------------------------------------
// Syntax of codes (shared with the generator's checks, which it duplicates).

fn is_region_code(s: &str) -> bool {
    matches!(s.as_bytes(), [a, b] if a.is_ascii_digit() && b.is_ascii_digit())
}

fn is_departement_code(s: &str) -> bool {
    match s.as_bytes() {
        [a, b] => (a.is_ascii_digit() && b.is_ascii_digit()) || s == "2A" || s == "2B",
        [b'9', b'7', c] => c.is_ascii_digit(),
        _ => false,
    }
}

fn is_commune_code(s: &str) -> bool {
    match s.as_bytes() {
        [a, b, rest @ ..] if rest.len() == 3 && rest.iter().all(u8::is_ascii_digit) => {
            (a.is_ascii_digit() && b.is_ascii_digit()) || (*a == b'2' && matches!(b, b'A' | b'B'))
        }
        _ => false,
    }
}

// ---------------------------------------------------------------------------
// Error messages.

/// The offending value as kept in an error: cut when very long.
fn offending(s: &str) -> String {
    if s.len() <= MAX_SHOWN_LEN {
        return s.to_owned();
    }
    let mut end = MAX_SHOWN_LEN - 8;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

/// The offending value for a message: control characters escaped.
fn shown(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// ` (did you mean `dep:2A`?)` when an obvious fix gives a valid code.
fn suggestion(value: &str) -> String {
    let trimmed = value.trim();
    let fixed = if trimmed.eq_ignore_ascii_case("fr") {
        "FR".to_owned()
    } else if let Some((prefix, code)) = trimmed.split_once(':') {
        format!(
            "{}:{}",
            prefix.trim().to_ascii_lowercase(),
            code.trim().to_ascii_uppercase()
        )
    } else {
        // A bare five-character code can only be a commune.
        format!("com:{}", trimmed.to_ascii_uppercase())
    };
    match Territory::parse(&fixed) {
        Ok(t) if fixed != value => format!(" (did you mean `{t}`?)"),
        _ => String::new(),
    }
}

fn departement_hint(value: &str) -> &'static str {
    match value.strip_prefix("dep:") {
        Some("20") => "Corsica is dep:2A (Corse-du-Sud) and dep:2B (Haute-Corse)",
        Some(code) if code.starts_with("97") => {
            "the overseas départements are dep:971 to dep:974 and dep:976; \
             write FR for a collectivité d'outre-mer"
        }
        _ => "write dep: and a département code, e.g. dep:69, dep:2A or dep:971",
    }
}

fn commune_hint(value: &str) -> &'static str {
    if value.starts_with("com:20") {
        "Corsican communes are com:2A… and com:2B…"
    } else {
        "for a former or delegated commune write the code of the commune it is now part of \
         (com:NNNNN), or its département (dep:NN)"
    }
}

fn commune_name(commune: &str) -> &'static str {
    Territory::parse(commune).map_or("?", |t| t.name())
}

// ---------------------------------------------------------------------------
// The tables, parsed once from the embedded text.

struct RegionRow {
    code: &'static str,
    name: &'static str,
}

struct DepartementRow {
    code: &'static str,
    name: &'static str,
    region: u8,
    communes: Range<u32>,
}

/// A commune; its code is in [`Tables::commune_codes`], at the same index.
/// Kept small (8 bytes): the name is a span of the embedded text.
struct CommuneRow {
    name_start: u32,
    name_len: u8,
    departement: u16,
}

impl CommuneRow {
    fn name(&self) -> &'static str {
        let start = self.name_start as usize;
        TABLE_TEXT
            .get(start..start + usize::from(self.name_len))
            .unwrap_or_default()
    }
}

struct ArrondissementRow {
    code: &'static str,
    commune: u32,
}

struct Tables {
    regions: Vec<RegionRow>,
    region_count: u8,
    departements: Vec<DepartementRow>,
    departement_count: u16,
    /// The commune codes, 5 ASCII bytes each, sorted.
    commune_codes: String,
    communes: Vec<CommuneRow>,
    arrondissements: Vec<ArrondissementRow>,
}

impl Tables {
    fn region_index(&self, code: &str) -> Option<u8> {
        let i = self.regions.binary_search_by(|r| r.code.cmp(code)).ok()?;
        u8::try_from(i).ok()
    }

    fn departement_index(&self, code: &str) -> Option<u16> {
        let i = self
            .departements
            .binary_search_by(|d| d.code.cmp(code))
            .ok()?;
        u16::try_from(i).ok()
    }

    fn commune_index(&self, code: &str) -> Option<u32> {
        let key: &[u8; 5] = code.as_bytes().try_into().ok()?;
        let (codes, _) = self.commune_codes.as_bytes().as_chunks::<5>();
        let i = codes.binary_search(key).ok()?;
        u32::try_from(i).ok()
    }

    fn commune_code(&self, i: u32) -> &str {
        let start = i as usize * 5;
        self.commune_codes.get(start..start + 5).unwrap_or_default()
    }

    fn arrondissement(&self, code: &str) -> Option<&ArrondissementRow> {
        let i = self
            .arrondissements
            .binary_search_by(|a| a.code.cmp(code))
            .ok()?;
        self.arrondissements.get(i)
    }
}

/// The tables, parsed from the embedded text on first use.
fn tables() -> &'static Tables {
    static TABLES: OnceLock<Tables> = OnceLock::new();
    TABLES.get_or_init(|| match load(TABLE_TEXT) {
        Ok(tables) => tables,
        Err(e) => panic!(
            "the embedded territory table territory/cog2026.txt is invalid ({e}); it is \
             generated by examples/gen_territories.rs and checked by a test"
        ),
    })
}

/// Parses the embedded table, checking everything the lookups rely on: code
/// syntax, sorted unique codes, known parents, index sizes.
fn load(text: &'static str) -> Result<Tables, String> {
    let mut regions: Vec<RegionRow> = Vec::new();
    let mut departements: Vec<DepartementRow> = Vec::new();
    let mut commune_codes = String::with_capacity(35_000 * 5);
    let mut communes: Vec<CommuneRow> = Vec::with_capacity(35_000);
    let mut arrondissements: Vec<ArrondissementRow> = Vec::new();
    let mut line_start = 0;
    for (n, raw) in text.split_inclusive('\n').enumerate() {
        let start = line_start;
        line_start += raw.len();
        let line = raw.strip_suffix('\n').unwrap_or(raw);
        let bad = |what: &str| format!("line {}: {what}: {line:?}", n + 1);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let first = line.as_bytes()[0];
        if first.is_ascii_digit() {
            // A commune of the last département.
            let departement = u16::try_from(departements.len().wrapping_sub(1))
                .map_err(|_| bad("too many départements"))?;
            let (Some(dep), true) = (departements.last_mut(), arrondissements.is_empty()) else {
                return Err(bad("commune outside a département"));
            };
            let (suffix, name) = line.split_once(' ').ok_or_else(|| bad("no name"))?;
            // The code is <dep><suffix>; built in place, without allocating.
            let previous = commune_codes.len().checked_sub(5).map(|p| p..p + 5);
            commune_codes.push_str(dep.code);
            commune_codes.push_str(suffix);
            let code = commune_codes
                .get(commune_codes.len().saturating_sub(5)..)
                .unwrap_or("");
            if suffix.len() + dep.code.len() != 5 || !is_commune_code(code) {
                return Err(bad("bad commune code"));
            }
            if previous.is_some_and(|p| commune_codes.get(p).is_none_or(|prev| prev >= code)) {
                return Err(bad("commune codes not sorted"));
            }
            let name_len = u8::try_from(name.len()).map_err(|_| bad("name too long"))?;
            if name.is_empty() {
                return Err(bad("empty name"));
            }
            let name_start = u32::try_from(start + line.len() - name.len())
                .map_err(|_| bad("table too large"))?;
            let index = u32::try_from(communes.len()).map_err(|_| bad("too many communes"))?;
            communes.push(CommuneRow {
                name_start,
                name_len,
                departement,
            });
            dep.communes.end = index + 1;
            continue;
        }
        let (tag, rest) = line.split_once(' ').ok_or_else(|| bad("no fields"))?;
        match tag {
            "R" => {
                let (code, name) = rest.split_once(' ').ok_or_else(|| bad("no name"))?;
                if !is_region_code(code) || name.is_empty() || !departements.is_empty() {
                    return Err(bad("bad région"));
                }
                if regions.last().is_some_and(|r| r.code >= code) {
                    return Err(bad("région codes not sorted"));
                }
                regions.push(RegionRow { code, name });
            }
            "D" => {
                let (code, rest) = rest.split_once(' ').ok_or_else(|| bad("no région"))?;
                let (reg, name) = rest.split_once(' ').ok_or_else(|| bad("no name"))?;
                if !is_departement_code(code) || name.is_empty() || !arrondissements.is_empty() {
                    return Err(bad("bad département"));
                }
                if departements.last().is_some_and(|d| d.code >= code) {
                    return Err(bad("département codes not sorted"));
                }
                let region = regions
                    .binary_search_by(|r| r.code.cmp(reg))
                    .ok()
                    .and_then(|i| u8::try_from(i).ok())
                    .ok_or_else(|| bad("unknown région"))?;
                let at = u32::try_from(communes.len()).map_err(|_| bad("too many communes"))?;
                departements.push(DepartementRow {
                    code,
                    name,
                    region,
                    communes: at..at,
                });
            }
            "A" => {
                let (code, rest) = rest.split_once(' ').ok_or_else(|| bad("no commune"))?;
                let (parent, name) = rest.split_once(' ').ok_or_else(|| bad("no name"))?;
                if !is_commune_code(code) || name.is_empty() {
                    return Err(bad("bad arrondissement"));
                }
                if arrondissements.last().is_some_and(|a| a.code >= code) {
                    return Err(bad("arrondissement codes not sorted"));
                }
                let (codes, _) = commune_codes.as_bytes().as_chunks::<5>();
                let as_key = |c: &str| -> Option<[u8; 5]> { c.as_bytes().try_into().ok() };
                let key = as_key(code).ok_or_else(|| bad("bad arrondissement"))?;
                if codes.binary_search(&key).is_ok() {
                    return Err(bad("arrondissement is also a commune"));
                }
                let parent = as_key(parent)
                    .and_then(|p| codes.binary_search(&p).ok())
                    .and_then(|i| u32::try_from(i).ok())
                    .ok_or_else(|| bad("arrondissement of an unknown commune"))?;
                arrondissements.push(ArrondissementRow {
                    code,
                    commune: parent,
                });
            }
            _ => return Err(bad("unknown record")),
        }
    }
    if regions.is_empty() || departements.is_empty() || communes.is_empty() {
        return Err("empty table".to_owned());
    }
    let region_count = u8::try_from(regions.len()).map_err(|_| "too many régions".to_owned())?;
    let departement_count =
        u16::try_from(departements.len()).map_err(|_| "too many départements".to_owned())?;
    Ok(Tables {
        regions,
        region_count,
        departements,
        departement_count,
        commune_codes,
        communes,
        arrondissements,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn t(s: &str) -> Territory {
        Territory::parse(s).unwrap()
    }

    fn err(s: &str) -> TerritoryError {
        Territory::parse(s).unwrap_err()
    }

    #[test]
    fn counts_match_cog_2026() {
        assert_eq!(counts(), (18, 101, 34_875));
        assert_eq!(regions().len(), 18);
        assert_eq!(departements().len(), 101);
        assert_eq!(
            departements().map(|d| communes_of(d).len()).sum::<usize>(),
            34_875
        );
        assert_eq!(tables().arrondissements.len(), 45);
    }

    #[test]
    fn lyon() {
        let lyon = t("com:69123");
        assert_eq!(lyon.name(), "Lyon");
        assert_eq!(lyon.code(), "69123");
        assert_eq!(lyon.level(), Level::Commune);
        assert_eq!(lyon.departement(), Some(t("dep:69")));
        assert_eq!(lyon.region(), Some(t("reg:84")));
        assert_eq!(lyon.parent(), Some(t("dep:69")));
        assert_eq!(t("dep:69").name(), "Rhône");
        assert_eq!(t("dep:69").parent(), Some(t("reg:84")));
        assert_eq!(t("reg:84").parent(), Some(Territory::NATIONAL));
        assert_eq!(Territory::NATIONAL.parent(), None);
        assert_eq!(lyon.to_string(), "com:69123");
        assert_eq!(format!("{lyon:?}"), r#"Territory("com:69123")"#);
        assert_eq!(format!("[{lyon:>10}]"), "[ com:69123]");
    }

    #[test]
    fn region_and_departement_codes_overlap() {
        let reg = t("reg:84");
        let dep = t("dep:84");
        assert_ne!(reg, dep);
        assert_eq!(reg.code(), dep.code());
        assert_eq!(reg.name(), "Auvergne-Rhône-Alpes");
        assert_eq!(dep.name(), "Vaucluse");
        assert_eq!(reg.level(), Level::Region);
        assert_eq!(dep.level(), Level::Departement);
        assert_eq!(dep.region(), Some(t("reg:93")));
        assert_eq!(reg.region(), Some(reg));
        assert_eq!(reg.departement(), None);
    }

    #[test]
    fn corsica_and_overseas() {
        assert_eq!(t("dep:2A").name(), "Corse-du-Sud");
        assert_eq!(t("dep:2B").name(), "Haute-Corse");
        assert_eq!(t("com:2A004").name(), "Ajaccio");
        assert_eq!(t("com:2A004").departement(), Some(t("dep:2A")));
        assert_eq!(t("dep:2A").region(), Some(t("reg:94")));
        assert_eq!(t("dep:971").name(), "Guadeloupe");
        assert_eq!(t("com:97101").departement(), Some(t("dep:971")));
        assert_eq!(t("dep:971").region(), Some(t("reg:01")));
        assert_eq!(t("dep:976").to_string(), "dep:976");
        assert_eq!(t("FR").name(), "France");
        assert_eq!(t("FR").code(), "FR");
        assert_eq!(t("com:01001").name(), "L'Abergement-Clémenciat");
    }

    #[test]
    fn rejections() {
        let cases: &[(&str, &str)] = &[
            ("com:69999", "unknown_commune"),
            ("com:20004", "unknown_commune"),
            ("dep:84x", "territory_syntax"),
            ("dep:20", "unknown_departement"),
            ("dep:975", "unknown_departement"),
            ("dep:96", "unknown_departement"),
            ("dep:2a", "territory_syntax"),
            ("dep:2C", "territory_syntax"),
            ("dep:981", "territory_syntax"),
            ("dep:6", "territory_syntax"),
            ("reg:99", "unknown_region"),
            ("reg:1", "territory_syntax"),
            (" dep:69", "territory_syntax"),
            ("dep:69 ", "territory_syntax"),
            ("dep: 69", "territory_syntax"),
            ("DEP:69", "territory_syntax"),
            ("Dep:69", "territory_syntax"),
            ("fr", "territory_syntax"),
            ("FR ", "territory_syntax"),
            ("France", "territory_syntax"),
            ("69", "territory_syntax"),
            ("69123", "territory_syntax"),
            ("com:2a004", "territory_syntax"),
            ("com:6912", "territory_syntax"),
            ("com:691234", "territory_syntax"),
            ("com:69381", "arrondissement_not_commune"),
            ("", "territory_syntax"),
            ("reg:", "territory_syntax"),
            ("dep:", "territory_syntax"),
            ("com:", "territory_syntax"),
            ("reg", "territory_syntax"),
            ("dép:69", "territory_syntax"),
            ("dep:６９", "territory_syntax"),
            ("com:６９123", "territory_syntax"),
            ("reg:8\u{0}", "territory_syntax"),
            ("dep:69\n", "territory_syntax"),
        ];
        for (input, code) in cases {
            let e = err(input);
            assert_eq!(e.code(), *code, "{input:?}: {e}");
            assert_eq!(e.value(), *input);
            assert!(!e.to_string().is_empty());
        }
    }

    #[test]
    fn arrondissement_hint() {
        let e = err("com:69381");
        assert_eq!(
            e,
            TerritoryError::Arrondissement {
                value: "com:69381".into(),
                commune: "com:69123".into()
            }
        );
        assert_eq!(
            e.to_string(),
            "`com:69381` is a municipal arrondissement, not a commune; write com:69123 (Lyon)"
        );
        let TerritoryError::Arrondissement { commune, .. } = err("com:75116") else {
            panic!("com:75116 is an arrondissement of Paris");
        };
        assert_eq!(t(&commune).name(), "Paris");
        let TerritoryError::Arrondissement { commune, .. } = err("com:13201") else {
            panic!("com:13201 is an arrondissement of Marseille");
        };
        assert_eq!(t(&commune).name(), "Marseille");
    }

    #[test]
    fn messages() {
        assert_eq!(
            err("dep:84x").to_string(),
            "`dep:84x` is not a territory code; write FR, reg:NN, dep:NN, or com:NNNNN"
        );
        assert!(
            err("dep:2a")
                .to_string()
                .ends_with("(did you mean `dep:2A`?)")
        );
        assert!(
            err(" dep:69")
                .to_string()
                .ends_with("(did you mean `dep:69`?)")
        );
        assert!(
            err("DEP:69")
                .to_string()
                .ends_with("(did you mean `dep:69`?)")
        );
        assert!(err("fr").to_string().ends_with("(did you mean `FR`?)"));
        assert!(
            err("69123")
                .to_string()
                .ends_with("(did you mean `com:69123`?)")
        );
        assert!(err("dep:20").to_string().contains("dep:2A"));
        assert!(err("reg:99").to_string().contains("reg:84"));
        assert!(
            err("com:69999")
                .to_string()
                .starts_with("`com:69999` is not a current commune")
        );
        // Control characters are escaped in messages.
        assert!(err("dep:69\n").to_string().starts_with("`dep:69\\n`"));
    }

    #[test]
    fn long_and_odd_inputs() {
        let long = "com:69123".repeat(1000);
        let e = err(&long);
        assert_eq!(e.code(), "territory_syntax");
        assert!(e.value().len() <= MAX_SHOWN_LEN, "{}", e.value());
        assert!(e.value().ends_with('…'));
        // 17 bytes: refused on length alone.
        assert_eq!(err("com:69123        ").code(), "territory_syntax");
        // Cut on a character boundary.
        let e = err(&"é".repeat(100));
        assert!(e.value().starts_with("éé"));
        assert!(e.to_string().len() < 200);
        for s in [
            "\u{feff}FR",
            "reg:８４",
            "com:2Ａ004",
            "🇫🇷",
            "\0",
            "dep:\u{301}69",
        ] {
            assert_eq!(err(s).code(), "territory_syntax", "{s:?}");
        }
    }

    #[test]
    fn round_trip_every_territory() {
        let mut all = vec![Territory::NATIONAL];
        all.extend(regions());
        for dep in departements() {
            all.push(dep);
            all.extend(communes_of(dep));
        }
        assert_eq!(all.len(), 1 + 18 + 101 + 34_875);
        for &x in &all {
            let s = x.to_string();
            assert_eq!(Territory::parse(&s), Ok(x), "{s}");
            assert_eq!(s.parse::<Territory>(), Ok(x));
            assert!(!x.name().is_empty(), "{s}");
            assert!(x.contains(&x));
            assert!(Territory::NATIONAL.contains(&x));
            assert_eq!(x.ancestors().last(), Some(Territory::NATIONAL));
            assert_eq!(x.ancestors().count(), x.ancestors().len());
            if let Some(dep) = x.departement() {
                assert!(dep.contains(&x));
                if x.level() == Level::Commune {
                    assert!(x.code().starts_with(dep.code()), "{s}");
                }
            }
        }
        // Each level is in code order, and the order of territories follows it.
        let communes: Vec<Territory> = departements().flat_map(communes_of).collect();
        for level in [
            regions().collect::<Vec<_>>(),
            departements().collect(),
            communes,
        ] {
            for w in level.windows(2) {
                assert!(
                    w[0] < w[1] && w[0].code() < w[1].code(),
                    "{} {}",
                    w[0],
                    w[1]
                );
            }
        }
        assert!(Territory::NATIONAL < t("reg:01") && t("reg:94") < t("dep:01"));
        assert!(t("dep:976") < t("com:01001"));
        // communes_of anything else is empty.
        assert_eq!(communes_of(t("reg:84")).len(), 0);
        assert_eq!(communes_of(t("com:69123")).len(), 0);
        assert_eq!(communes_of(Territory::NATIONAL).len(), 0);
        assert_eq!(communes_of(t("dep:69")).next(), Some(t("com:69001")));
    }

    #[test]
    fn ancestors_and_contains() {
        let lyon = t("com:69123");
        let chain: Vec<String> = lyon.ancestors().map(|a| a.to_string()).collect();
        assert_eq!(chain, ["com:69123", "dep:69", "reg:84", "FR"]);
        assert_eq!(
            Territory::NATIONAL.ancestors().collect::<Vec<_>>(),
            [Territory::NATIONAL]
        );
        assert_eq!(t("reg:84").ancestors().len(), 2);

        assert!(t("FR").contains(&lyon));
        assert!(t("reg:84").contains(&t("dep:69")));
        assert!(t("reg:84").contains(&lyon));
        assert!(t("dep:69").contains(&lyon));
        assert!(lyon.contains(&lyon));
        assert!(!lyon.contains(&t("dep:69")));
        assert!(!t("dep:69").contains(&t("reg:84")));
        assert!(!t("reg:84").contains(&t("dep:84")));
        assert!(!t("dep:84").contains(&t("reg:84")));
        assert!(!t("reg:93").contains(&lyon));
        assert!(!t("dep:13").contains(&lyon));
        assert!(!lyon.contains(&Territory::NATIONAL));
        assert!(t("reg:94").contains(&t("com:2B033")));
    }

    #[test]
    fn serializes_as_canonical_string() {
        assert_eq!(serde_json::to_string(&t("dep:2A")).unwrap(), r#""dep:2A""#);
        assert_eq!(
            serde_json::to_string(&Territory::NATIONAL).unwrap(),
            r#""FR""#
        );
        assert_eq!(
            serde_json::to_string(&[t("com:97101")]).unwrap(),
            r#"["com:97101"]"#
        );
    }

    #[test]
    fn embedded_table_is_up_to_date() {
        let dir = std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/cog"
        ));
        if !dir.is_dir() {
            println!(
                "skipped: {} not found, the embedded table is not re-checked",
                dir.display()
            );
            return;
        }
        let generated = generate::generate(dir).unwrap();
        // Compare line by line first, for a readable failure.
        for (n, (a, b)) in generated.lines().zip(TABLE_TEXT.lines()).enumerate() {
            assert_eq!(
                a,
                b,
                "territory/cog2026.txt line {} is stale; regenerate it",
                n + 1
            );
        }
        assert!(
            generated == TABLE_TEXT,
            "territory/cog2026.txt is stale; regenerate it with examples/gen_territories.rs"
        );
    }

    proptest::proptest! {
        #[test]
        fn parse_never_panics(s in "\\PC{0,24}") {
            if let Err(e) = Territory::parse(&s) {
                let _ = e.to_string();
            }
        }

        #[test]
        fn parsed_codes_round_trip(s in "(FR|reg:|dep:|com:)[0-9AB]{0,6}") {
            match Territory::parse(&s) {
                Ok(x) => proptest::prop_assert_eq!(x.to_string(), s),
                Err(e) => proptest::prop_assert!(!e.to_string().is_empty()),
            }
        }
    }
}
