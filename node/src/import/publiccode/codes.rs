//! The codes of languages and countries the standard refers to: BCP 47
//! language tags (RFC 5646) with ISO 639 languages, ISO 15924 scripts and
//! ISO 3166-1 or UN M.49 regions, and ISO 3166-1 alpha-2 countries.
//!
//! The registries are embedded (from Debian's iso-codes 4.15), so a tag is
//! checked offline: `en_GB`, `eng` or `xx` are refused as the reference
//! validator refuses them.

/// A BCP 47 (RFC 5646) language tag whose subtags are registered: the
/// primary language is an ISO 639 code (a two-letter one where it exists:
/// `en`, not `eng`), scripts are ISO 15924, regions ISO 3166-1 or UN M.49.
/// Variants and extensions are checked for their form. POSIX locales
/// (`en_GB`) are not BCP 47.
pub fn is_language_tag(tag: &str) -> bool {
    if tag.is_empty()
        || tag.len() > 64
        || !tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return false;
    }
    let lower = tag.to_ascii_lowercase();
    if GRANDFATHERED.contains(&lower.as_str()) {
        return true;
    }
    let parts: Vec<&str> = lower.split('-').collect();
    if parts.iter().any(|p| p.is_empty() || p.len() > 8) {
        return false;
    }
    let alpha = |s: &str| s.bytes().all(|b| b.is_ascii_alphabetic());
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    let private_use = |rest: &[&str]| !rest.is_empty() && rest.iter().all(|p| p.len() <= 8);
    if parts[0] == "x" {
        return private_use(&parts[1..]);
    }
    let language = parts[0];
    if !alpha(language) || !is_language(language) {
        return false;
    }
    let mut i = 1;
    let mut extlangs = 0;
    while i < parts.len() && parts[i].len() == 3 && alpha(parts[i]) && extlangs < 3 {
        if !EXTLANG_PREFIXES.contains(&language) || !is_language(parts[i]) {
            return false;
        }
        extlangs += 1;
        i += 1;
    }
    if i < parts.len() && parts[i].len() == 4 && alpha(parts[i]) {
        if !is_script(parts[i]) {
            return false;
        }
        i += 1;
    }
    if i < parts.len() {
        let p = parts[i];
        if p.len() == 2 && alpha(p) {
            if !is_region(&p.to_ascii_uppercase()) {
                return false;
            }
            i += 1;
        } else if p.len() == 3 && digits(p) {
            if !M49_REGIONS.contains(&p) {
                return false;
            }
            i += 1;
        }
    }
    let mut variants: Vec<&str> = Vec::new();
    while i < parts.len() {
        let p = parts[i];
        let variant = (5..=8).contains(&p.len())
            || (p.len() == 4 && p.starts_with(|c: char| c.is_ascii_digit()));
        if !variant {
            break;
        }
        if variants.contains(&p) {
            return false;
        }
        variants.push(p);
        i += 1;
    }
    let mut singletons: Vec<&str> = Vec::new();
    while i < parts.len() && parts[i].len() == 1 && parts[i] != "x" {
        if singletons.contains(&parts[i]) {
            return false;
        }
        singletons.push(parts[i]);
        i += 1;
        let start = i;
        while i < parts.len() && parts[i].len() >= 2 {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    if i < parts.len() && parts[i] == "x" {
        return private_use(&parts[i + 1..]);
    }
    i == parts.len()
}

/// A registered primary language subtag, lower-case.
fn is_language(code: &str) -> bool {
    match code.len() {
        2 => ISO_639_1.split(' ').any(|c| c == code),
        3 => {
            let b = code.as_bytes();
            if !b.iter().all(u8::is_ascii_lowercase) {
                return false;
            }
            let index = b
                .iter()
                .fold(0usize, |acc, &x| acc * 26 + usize::from(x - b'a'));
            // Each chunk holds LANGUAGE_CHUNK bytes as hex.
            let byte = index / 8;
            let at = byte % LANGUAGE_CHUNK * 2;
            let byte = LANGUAGES_3
                .get(byte / LANGUAGE_CHUNK)
                .and_then(|chunk| chunk.get(at..at + 2))
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .unwrap_or(0);
            byte & (1 << (index % 8)) != 0
        }
        _ => false,
    }
}

fn is_script(code: &str) -> bool {
    let mut title = code[..1].to_ascii_uppercase();
    title.push_str(&code[1..]);
    ISO_15924.split(' ').any(|s| s == title) || ("Qaaa"..="Qabx").contains(&title.as_str())
}

/// An ISO 3166-1 alpha-2 code (upper-case).
pub(super) fn is_country(code: &str) -> bool {
    code.len() == 2 && ISO_3166_1.split(' ').any(|c| c == code)
}

/// A region subtag: a country, or a private-use code.
fn is_region(code: &str) -> bool {
    is_country(code)
        || code == "AA"
        || code == "ZZ"
        || (code.starts_with('Q') && code[1..] >= *"M")
        || code.starts_with('X')
}

/// Grandfathered tags of RFC 5646, lower-case.
const GRANDFATHERED: &[&str] = &[
    "en-gb-oed",
    "i-ami",
    "i-bnn",
    "i-default",
    "i-enochian",
    "i-hak",
    "i-klingon",
    "i-lux",
    "i-mingo",
    "i-navajo",
    "i-pwn",
    "i-tao",
    "i-tay",
    "i-tsu",
    "sgn-be-fr",
    "sgn-be-nl",
    "sgn-ch-de",
    "art-lojban",
    "cel-gaulish",
    "no-bok",
    "no-nyn",
    "zh-guoyu",
    "zh-hakka",
    "zh-min",
    "zh-min-nan",
    "zh-xiang",
];

/// The macrolanguages that extended language subtags follow (`zh-yue`).
const EXTLANG_PREFIXES: &[&str] = &["ar", "lv", "ms", "sgn", "sw", "uz", "zh"];

/// UN M.49 area codes of the IANA language subtag registry.
const M49_REGIONS: &[&str] = &[
    "001", "002", "003", "005", "009", "011", "013", "014", "015", "017", "018", "019", "021",
    "029", "030", "034", "035", "039", "053", "054", "057", "061", "142", "143", "145", "150",
    "151", "154", "155", "202", "419",
];

/// ISO 639-1 two-letter language codes (from Debian's iso-codes 4.15).
const ISO_639_1: &str = "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca \
ce ch co cr cs cu cv cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv \
ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks \
ku kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr \
nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg sh si sk sl sm sn so sq sr \
ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za \
zh zu";

/// Bytes per chunk of [`LANGUAGES_3`].
const LANGUAGE_CHUNK: usize = 44;

/// Three-letter language subtags (ISO 639-3 individual languages, ISO 639-2
/// and 639-5 codes) that have no two-letter code, and `qaa`-`qtz` (local
/// use): a bit set over `aaa`..`zzz`, bit `(a*26 + b)*26 + c`, as hex bytes.
/// Generated from Debian's iso-codes 4.15 (`iso_639-3.json`,
/// `iso_639-2.json`, `iso_639-5.json`).
const LANGUAGES_3: &[&str] = &[
    "ffedfdfeefffbfdbfbfffedaf71f3c576f9773f8fff7ff70bf03ffffcb058552e9fffd7fffffff77ffffffff",
    "fffff7e3e9ffffff4dbc0a7abeff7ffffefff7ffffefffdf2bf4f1f05de79f140720dfed1f3ec921f8bfeedf",
    "ffff7fffff7fffffffff7ffdfffffff77fefffffefffbfcfbffffdbfffedfffffffebfffffffefdffffff3ff",
    "fb77fffffffefffffbfffff7fffff5dfffff7fdffffffffeffffdfffffdff9ffffeefffffffffff73fbdfdc5",
    "ad6f40ef9cc1432c0825410050440080bbfff29fb44245d6932488f77be7175655790e1c377ff3ef9fef5d38",
    "65080000bcffbfffffff7f373ec787cfff018100b0058000000000034000009221d0fd75ffdefe5e04000264",
    "8d19c1df7b22000000df6dce22e5d9f3fe7ffdcf9d1441048600d100f0c7675fd6995eb7edef030002000000",
    "c0575a479269012ed67b74df7f7f000000010456030000b0140751140a000100001011490000601000000010",
    "00004404001080051800000500802804000010d52d1064152453b5d5bfe2cd03008000400000000000041739",
    "01dd57992198a700000140820000000400000002014000440000b0feab390002000000040000000000200040",
    "04000000020000001083a80500000000042004a608040008815000000831864000000000400003f503100804",
    "000000e03bb31300800011000000000000000000000000ffffdfefffdfcf83a2c0ffdf27ef1fe5031020b0c5",
    "8045259b03dfb9df03d04890010e81a39354db38f37fff6df9ffff7f0408000121123c5ffd0f854f44000004",
    "fffddfd6e81bf437a30d0000207b7902078400f0ff7ffe001804810000008010941c01000000000010400004",
    "08b4fea50c4000009124046c0060f0fffb7ff618059fdf6e030011000000400535b6822804000451e2fffd3f",
    "0509080540000000001000000c0000000021026ce348148820c0478007000000cc5040248547844020100020",
    "0250881100d1ecee50350d01690e59eb3308002005401000000050449649d65da7814797fb00100008008000",
    "404500010200014080000208f8ebd739c49d1600000c04012020d9a201000000124400000410f09d95130480",
    "0001d016400010f090624cd202014a0046040008020020c0008006000800000000f0d8ef1502080000010000",
    "000010010010000000ffd7e37dffffffffff7ffffff6ffffffffffff3ff7ffdffffbffffdbfd7ffffffeffff",
    "fffffffffffffffffdffdfdfdcf7ffdfffffffffffbefbffffffffff7ffffefffdffffefffffefffebfdfbff",
    "fffffff5dfffbf7bbddddfffbc98052cff07f0fbff7f000800c37d1b06e672f0ef7c7f4422309f7b1efdff56",
    "f2ff3edff20e95f7ffff47800102002040559f8a9ff96e118751d0f3ff77400105d1585c0040001004020020",
    "0a807bb7fdfefeffffffffffffefffbfff7ffffffffffffff7dffff7ffffdf7bffff7fffffffedffbdfffffb",
    "ffffdfdf7dfdfff7fffff7fffffffbffefff7fffffff7fdfffbfefb7ff7fdfffe7fffffff6fef67fffff7fff",
    "fffcf7fd5fff7f9fbefffeff7ff77f028204ffbfffffd7effffff7ffe29ee7fff7ff567dc5ffffffffffefde",
    "fdbf7d0fa75106c497d05dafa6fffdff635d4bffffff3f2014005751c265f50de2ffffdf4205c50500220074",
    "691008054100010600000000005160050401000006112000180192f1fd676b06950647edfb4d9d7b83046240",
    "0015420000005483f95f108ec946dff7131100200000009000000000000a1000014000f0df7dbf7dbe4fffbf",
    "40148461b0ff5d7a040200492d1426ffedf1afef3f000002c7e01efcbbfdbdfbf7fcf7fffff4f5ed43f47710",
    "0101447fffb7ddf95f0586eff537bd1d00000043714200400000014319200800ffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffefbde757ee135d09c14021fa17018000000000f0feffbf00230020000008000030b5e3",
    "100000001124160001023082a301500001831148000000f0dfdfbf12aa107fd8520080200000000040100202",
    "3c00104210615f9c31000000015c0220000001004201200000bf5fffffffff2fdfdecfbdfbafffff7f4b4010",
    "f17debfdf7fffffbdfff6ff17bf13fff7fffeef7e7bfffd3fddffffd7ebf57ff6f81769fdcf7fdfffffffbfe",
    "ff5f5747ef5f501062feff9f159f150f7dc67da192f5f77e7ffffffffffdddffffbdf65fff3f409802bfe3ff",
    "e3f6fe5cfedf7fd03e157bb8ffbefffff6fff7f773ffffeedff7d7fdef2f80bfc5ffffffdf9ffffffffffdbf",
    "df7f061f77fff8db5dcf7d16b9ea7ba01e2000300204244804000040d4060400000400040030090650000800",
    "00002400040010dc58d74d0f144ff11664d5480a000200400008000000dcffeb1f58484124a0040010124022",
    "001000000000000001000000801010bf6f93000100000000000000c0802d0000000000000a000000c086c202",
    "00000001fe18020012f0ff793f00250000000a00000000000040001003000920000001000083000000000100",
    "0000000000000000000000ffffffcf7ebe11100000920146cdf15e00010030140451100104f63f32050400b0",
    "80205575977ddf71cc78d543f557671401000000000008f7db1f5460036805108b38ba010000300024440000",
    "10023102010000f0f5ff97d7bc50d6787a155005a484e9410000006b39527440e8209062920000027fefff7f",
    "8553f4effffff2ddc74cf542fcffff1f0080c0568c169ffb377defffb5a4af014418015d4e4a08502830e080",
    "10202400ffffff4ffe0106880a40160100150b3e01000010906945020201e1bfbf02000010d4a7d1549e44de",
    "fd8766b15520d483d8303d800000004cf011c5846f500022507fbfcb0700201084b245100644000012021100",
    "f0fffd7f050216890000000800100c020000000083300228840033c00324000000cbe43a46c814f1ffff7f16",
    "0101845007fcffff0f010040103801011c1240e1761608031000000001000000000022240a4080000000",
];

/// ISO 15924 script codes (from Debian's iso-codes 4.15).
const ISO_15924: &str = "Adlm Afak Aghb Ahom Arab Aran Armi Armn Avst Bali Bamu Bass Batk \
Beng Bhks Blis Bopo Brah Brai Bugi Buhd Cakm Cans Cari Cham Cher Cirt Copt Cprt Cyrl Cyrs Deva \
Dsrt Dupl Egyd Egyh Egyp Elba Ethi Geok Geor Glag Goth Gran Grek Gujr Guru Hanb Hang Hani Hano \
Hans Hant Hatr Hebr Hira Hluw Hmng Hrkt Hung Inds Ital Jamo Java Jpan Jurc Kali Kana Khar Khmr \
Khoj Kitl Kits Knda Kore Kpel Kthi Lana Laoo Latf Latg Latn Leke Lepc Limb Lina Linb Lisu Loma \
Lyci Lydi Mahj Mand Mani Marc Maya Mend Merc Mero Mlym Modi Mong Moon Mroo Mtei Mult Mymr Narb \
Nbat Newa Nkgb Nkoo Nshu Ogam Olck Orkh Orya Osge Osma Palm Pauc Perm Phag Phli Phlp Phlv Phnx \
Piqd Plrd Prti Rjng Roro Runr Samr Sara Sarb Saur Sgnw Shaw Shrd Sidd Sind Sinh Sora Sund Sylo \
Syrc Syre Syrj Syrn Tagb Takr Tale Talu Taml Tang Tavt Telu Teng Tfng Tglg Thaa Thai Tibt Tirh \
Ugar Vaii Visp Wara Wole Xpeo Xsux Yiii Zinh Zmth Zsye Zsym Zxxx Zyyy Zzzz";

/// ISO 3166-1 alpha-2 country codes (from Debian's iso-codes 4.15).
const ISO_3166_1: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG \
BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX \
CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN \
GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI \
KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ \
MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR \
PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC \
TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT \
ZA ZM ZW";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_tags() {
        for ok in [
            "en",
            "it",
            "fr",
            "de",
            "en-GB",
            "EN-gb",
            "sl-IT-nedis",
            "zh-Hant-TW",
            "es-419",
            "pms",
            "fur",
            "zh-yue",
            "x-private",
            "i-klingon",
            "de-CH-1996",
            "en-US-x-twain",
            "sr-Latn-RS",
            "en-a-bbb-x-a-ccc",
        ] {
            assert!(is_language_tag(ok), "{ok}");
        }
        for bad in [
            "",
            "en_GB",
            "hr_HR",
            "xxx",
            "eng",
            "no such language",
            "en-",
            "-en",
            "e",
            "en-ZQ",
            "en-Abcd",
            "en-999",
            "toolonglanguage",
            "en-a",
            "en-x",
            "en-GB-GB",
            "de-1996-1996",
            "abcd",
        ] {
            assert!(!is_language_tag(bad), "{bad}");
        }
    }

    #[test]
    fn countries() {
        assert!(is_country("FR") && !is_country("UK") && !is_country("fr"));
    }
}
