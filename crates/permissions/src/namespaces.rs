//! The namespaces a server knows: a plain list (Keto's legacy config, any relation goes,
//! no rewrites) or the classes of an OPL file (relations and permits with rewrites).

use crate::opl;
use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

/// The namespaces in force. A check's engine takes a snapshot and keeps it to its end; a
/// reload replaces the whole set at once (`crate::reload`).
#[derive(Debug, Default)]
pub struct Current(RwLock<Arc<Namespaces>>);

impl Current {
    pub fn new(namespaces: Namespaces) -> Current {
        Current(RwLock::new(Arc::new(namespaces)))
    }

    pub fn get(&self) -> Arc<Namespaces> {
        self.0
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub fn set(&self, namespaces: Namespaces) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(namespaces);
    }
}

#[derive(Debug, Default)]
pub struct Namespaces {
    by_name: HashMap<String, Option<opl::Namespace>>,
    names: Vec<String>,
}

/// What a namespace says about one relation.
pub enum RelationDef<'a> {
    /// Legacy namespace: every relation exists and has no rewrite.
    Any,
    Defined(&'a opl::Relation),
    Undefined,
}

impl Namespaces {
    /// Legacy namespaces by name.
    pub fn from_names(names: Vec<String>) -> Namespaces {
        let mut n = Namespaces::default();
        for name in names {
            if !n.by_name.contains_key(&name) {
                n.names.push(name.clone());
                n.by_name.insert(name, None);
            }
        }
        n
    }

    /// The classes of a parsed OPL file.
    pub fn from_opl(classes: Vec<opl::Namespace>) -> Namespaces {
        let mut n = Namespaces::default();
        for class in classes {
            n.names.push(class.name.clone());
            n.by_name.insert(class.name.clone(), Some(class));
        }
        n
    }

    pub fn exists(&self, name: &str) -> bool {
        self.by_name.contains_key(name)
    }

    /// In declaration order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    pub fn relation(&self, namespace: &str, relation: &str) -> RelationDef<'_> {
        match self.by_name.get(namespace) {
            None => RelationDef::Undefined,
            Some(None) => RelationDef::Any,
            Some(Some(class)) => match class.relation(relation) {
                Some(r) => RelationDef::Defined(r),
                None => RelationDef::Undefined,
            },
        }
    }
}
