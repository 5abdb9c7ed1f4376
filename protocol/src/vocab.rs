//! Controlled vocabularies.
//!
//! Each term has a stable code (what records carry: lower-case ASCII,
//! hyphenated, no accents) and a French and an English label (what people
//! read). Codes never change meaning; a new term is a new code. The lists are
//! reproduced in `specs/records.md`, and a test checks that the two agree.

use crate::decode::ParseRule;
use crate::error::Rule;

/// A language the user interface speaks.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Lang {
    /// French, the default.
    Fr,
    /// English.
    En,
}

macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $name:ident, $vocab:literal {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, $fr:literal, $en:literal; )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub enum $name {
            $( $(#[$vmeta])* #[doc = concat!("`", $code, "`: ", $fr, " / ", $en)] $variant, )+
        }

        impl $name {
            /// Every term, in the order of the specification.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// The vocabulary's name, as errors and the spec call it.
            pub const VOCABULARY: &'static str = $vocab;

            /// The code carried by records.
            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            /// The label in the given language.
            pub fn label(self, lang: Lang) -> &'static str {
                match (self, lang) {
                    $( ($name::$variant, Lang::Fr) => $fr, ($name::$variant, Lang::En) => $en, )+
                }
            }

            /// The term with this code, if any.
            pub fn from_code(code: &str) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl ParseRule for $name {
            fn parse_rule(s: &str) -> Result<Self, Rule> {
                $name::from_code(s).ok_or_else(|| Rule::UnknownTerm {
                    vocabulary: $vocab,
                    allowed: $name::ALL.iter().map(|t| t.code()).collect::<Vec<_>>().join(", "),
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }

        crate::decode::string_type!($name);
    };
}

vocabulary! {
    /// The kind of a record.
    Kind, "record kind" {
        Hub = "hub", "Hub", "Hub";
        Initiative = "initiative", "Initiative", "Initiative";
        Endorsement = "endorsement", "Soutien", "Endorsement";
        Retraction = "retraction", "Retrait", "Retraction";
    }
}

vocabulary! {
    /// What kind of organisation runs a hub.
    HubKind, "hub kind" {
        Ruche = "ruche", "Ruche", "Hive (local social-innovation hub)";
        Incubateur = "incubateur", "Incubateur", "Incubator";
        Territoire = "territoire", "Territoire", "Territory";
        Reseau = "reseau", "Réseau", "Network";
        Financeur = "financeur", "Financeur", "Funder";
        Collectivite = "collectivite", "Collectivité territoriale", "Local authority";
        Administration = "administration", "Administration", "Public administration";
        Autre = "autre", "Autre", "Other";
    }
}

vocabulary! {
    /// What an initiative is about.
    Theme, "theme" {
        Insertion = "insertion", "Insertion par l'activité économique", "Work integration";
        Emploi = "emploi", "Emploi", "Employment";
        Alimentation = "alimentation", "Alimentation durable", "Sustainable food";
        Agriculture = "agriculture", "Agriculture", "Agriculture";
        Mobilite = "mobilite", "Mobilité", "Mobility";
        Habitat = "habitat", "Habitat et logement", "Housing";
        Sante = "sante", "Santé", "Health";
        Education = "education", "Éducation et formation", "Education and training";
        TransitionEcologique = "transition-ecologique", "Transition écologique", "Ecological transition";
        EconomieCirculaire = "economie-circulaire", "Économie circulaire", "Circular economy";
        Energie = "energie", "Énergie", "Energy";
        InclusionNumerique = "inclusion-numerique", "Inclusion numérique", "Digital inclusion";
        Handicap = "handicap", "Handicap", "Disability";
        GrandAge = "grand-age", "Grand âge et autonomie", "Ageing and autonomy";
        Jeunesse = "jeunesse", "Jeunesse", "Youth";
        Culture = "culture", "Culture", "Culture";
        Sport = "sport", "Sport", "Sport";
        Pauvrete = "pauvrete", "Lutte contre la pauvreté", "Fighting poverty";
        AccesAuxDroits = "acces-aux-droits", "Accès aux droits", "Access to rights";
        Egalite = "egalite", "Égalité femmes-hommes", "Gender equality";
        Citoyennete = "citoyennete", "Citoyenneté et démocratie", "Citizenship and democracy";
        FinanceSolidaire = "finance-solidaire", "Finance solidaire", "Solidarity finance";
        DeveloppementLocal = "developpement-local", "Développement local", "Local development";
        Exil = "exil", "Accueil des personnes exilées", "Refugees and migrants";
    }
}

vocabulary! {
    /// Who an initiative serves.
    Audience, "audience" {
        ToutPublic = "tout-public", "Tout public", "Everyone";
        Enfants = "enfants", "Enfants", "Children";
        Jeunes = "jeunes", "Jeunes", "Young people";
        Etudiants = "etudiants", "Étudiants", "Students";
        Seniors = "seniors", "Personnes âgées", "Older people";
        PersonnesHandicapees = "personnes-handicapees", "Personnes en situation de handicap", "People with disabilities";
        DemandeursEmploi = "demandeurs-emploi", "Demandeurs d'emploi", "Jobseekers";
        PersonnesPrecaires = "personnes-precaires", "Personnes en précarité", "People in poverty";
        Familles = "familles", "Familles", "Families";
        Femmes = "femmes", "Femmes", "Women";
        PersonnesExilees = "personnes-exilees", "Personnes exilées", "Refugees and migrants";
        HabitantsQpv = "habitants-qpv", "Habitants des quartiers prioritaires", "Residents of priority neighbourhoods";
        Ruraux = "ruraux", "Habitants des territoires ruraux", "Rural residents";
        Agriculteurs = "agriculteurs", "Agriculteurs", "Farmers";
        Entreprises = "entreprises", "Entreprises", "Businesses";
        Associations = "associations", "Associations", "Non-profits";
        Collectivites = "collectivites", "Collectivités", "Local authorities";
    }
}

vocabulary! {
    /// How far an initiative has come.
    Stage, "stage" {
        Emergence = "emergence", "Émergence", "Emergence";
        Experimentation = "experimentation", "Expérimentation", "Pilot";
        Evaluation = "evaluation", "Évaluation", "Evaluation";
        Consolidation = "consolidation", "Consolidation", "Consolidation";
        Essaimage = "essaimage", "Essaimage", "Replication";
    }
}

vocabulary! {
    /// Legal forms of the social and solidarity economy (loi ESS du 31 juillet 2014).
    LegalForm, "legal form" {
        Association = "association", "Association loi 1901", "Non-profit association";
        Fondation = "fondation", "Fondation", "Foundation";
        FondsDeDotation = "fonds-de-dotation", "Fonds de dotation", "Endowment fund";
        Mutuelle = "mutuelle", "Mutuelle", "Mutual";
        Scop = "scop", "SCOP (société coopérative et participative)", "Worker cooperative (SCOP)";
        Scic = "scic", "SCIC (société coopérative d'intérêt collectif)", "Multi-stakeholder cooperative (SCIC)";
        Cae = "cae", "CAE (coopérative d'activité et d'emploi)", "Business and employment cooperative (CAE)";
        Cooperative = "cooperative", "Autre coopérative", "Other cooperative";
        SocieteEss = "societe-ess", "Société commerciale de l'ESS (ESUS)", "Social enterprise company (ESUS)";
        Autre = "autre", "Autre", "Other";
    }
}

vocabulary! {
    /// How an initiative replicates (essaimage).
    ReplicationModel, "replication model" {
        Souple = "souple", "Essaimage souple", "Loose replication";
        Franchise = "franchise", "Franchise sociale", "Social franchise";
        Centralisee = "centralisee", "Essaimage centralisé (filiales)", "Centralised replication (branches)";
        Dissemination = "dissemination", "Dissémination", "Dissemination";
    }
}

vocabulary! {
    /// What an endorsement states.
    EndorsementType, "endorsement type" {
        Label = "label", "Label", "Label";
        Replication = "replication", "Essaimage", "Replication";
        Funding = "funding", "Financement", "Funding";
        Recommendation = "recommendation", "Recommandation", "Recommendation";
    }
}

/// Well-known labels of the French Impact families. Other labels are allowed;
/// these are the ones the user interface knows how to present and translate.
pub const WELL_KNOWN_LABELS: &[(&str, &str)] = &[
    ("French Impact — Pionnier", "French Impact — Pioneer"),
    (
        "Structure d'accompagnement labellisée",
        "Accredited support organisation",
    ),
    ("Territoire French Impact", "French Impact territory"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn codes_are_clean(codes: impl Iterator<Item = &'static str>) {
        let mut seen = std::collections::HashSet::new();
        for code in codes {
            assert!(seen.insert(code), "duplicate code {code}");
            assert!(
                code.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{code}"
            );
        }
    }

    #[test]
    fn codes_are_unique_ascii_and_round_trip() {
        codes_are_clean(Theme::ALL.iter().map(|t| t.code()));
        codes_are_clean(Audience::ALL.iter().map(|t| t.code()));
        codes_are_clean(LegalForm::ALL.iter().map(|t| t.code()));
        codes_are_clean(HubKind::ALL.iter().map(|t| t.code()));
        for t in Theme::ALL {
            assert_eq!(Theme::from_code(t.code()), Some(*t));
            assert!(!t.label(Lang::Fr).is_empty() && !t.label(Lang::En).is_empty());
        }
        assert_eq!(Stage::ALL.len(), 5);
        assert_eq!(ReplicationModel::ALL.len(), 4);
        assert_eq!(HubKind::ALL.len(), 8);
        assert!(Theme::from_code("Insertion").is_none());
    }
}
