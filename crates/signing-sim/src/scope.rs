//! TPP's scope syntax (`name:r1,r2;name2`), parsed once for the config check and the token checks.

use std::collections::{BTreeMap, BTreeSet};

/// A parsed TPP scope (`name:r1,r2;name2`), lower-cased because TPP compares it without case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope(BTreeMap<String, BTreeSet<String>>);

impl Scope {
    pub fn parse(s: &str) -> Result<Scope, String> {
        let valid = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        let mut map: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for part in s.split(';').map(str::trim).filter(|p| !p.is_empty()) {
            let (name, restrictions) = match part.split_once(':') {
                Some((n, r)) => (n.trim(), Some(r)),
                None => (part, None),
            };
            if !valid(name) {
                return Err(format!("{part:?} is not a valid scope"));
            }
            let entry = map.entry(name.to_lowercase()).or_default();
            for r in restrictions.into_iter().flat_map(|r| r.split(',')) {
                let r = r.trim();
                if !valid(r) {
                    return Err(format!("{part:?} has an invalid restriction {r:?}"));
                }
                entry.insert(r.to_lowercase());
            }
        }
        if map.is_empty() {
            return Err("scope is empty".to_string());
        }
        Ok(Scope(map))
    }

    /// Whether every scope and restriction requested is granted by `self`.
    pub fn allows(&self, requested: &Scope) -> bool {
        requested
            .0
            .iter()
            .all(|(name, restrictions)| self.0.get(name).is_some_and(|granted| restrictions.is_subset(granted)))
    }

    pub fn has(&self, name: &str, restriction: Option<&str>) -> bool {
        match (self.0.get(name), restriction) {
            (Some(r), Some(want)) => r.contains(want),
            (Some(_), None) => true,
            (None, _) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_parsing_and_subset() {
        let allowed = Scope::parse("codesign:approve,manage;certificate:manage").expect("valid");
        assert!(allowed.allows(&Scope::parse("Codesign:Approve").expect("valid")));
        assert!(allowed.allows(&Scope::parse("codesign:approve;certificate:manage").expect("v")));
        assert!(allowed.allows(&Scope::parse("codesign").expect("valid")));
        assert!(!allowed.allows(&Scope::parse("codesign:delete").expect("valid")));
        assert!(!allowed.allows(&Scope::parse("ssh:manage").expect("valid")));
        assert!(Scope::parse("").is_err());
        assert!(Scope::parse("codesign:").is_err());
        assert!(Scope::parse("code sign").is_err());
    }
}
