//! Where the OPL model comes from: `namespaces.location` names one file, or, as in Keto, a
//! directory whose files each hold classes (every file is parsed on its own, so a class
//! refers only to classes of its own file, as Keto's parser sees them). Also `base64://`
//! and `http(s)://` for one file.

use crate::namespaces::Namespaces;
use crate::opl;
use std::collections::HashMap;

/// The files read for a location, in name order, with their bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OplSource {
    pub files: Vec<(String, Vec<u8>)>,
}

impl OplSource {
    /// Reads the location (a `file://` directory file by file).
    pub async fn read(location: &str) -> Result<OplSource, String> {
        match location.strip_prefix("file://") {
            Some(path) => Self::read_local(path).await,
            None => {
                let bytes = gatehouse_core::loader::load(location)
                    .await
                    .map_err(|e| format!("namespaces.location: {e}"))?;
                Ok(OplSource {
                    files: vec![(location.to_string(), bytes)],
                })
            }
        }
    }

    /// A file, or a directory's files: those not hidden (a Kubernetes ConfigMap mount keeps
    /// its real files in hidden `..data` folders and links them by their own names).
    pub async fn read_local(path: &str) -> Result<OplSource, String> {
        let cannot = |e: std::io::Error| format!("namespaces.location: cannot read {path}: {e}");
        if !tokio::fs::metadata(path).await.map_err(cannot)?.is_dir() {
            let bytes = tokio::fs::read(path).await.map_err(cannot)?;
            return Ok(OplSource {
                files: vec![(format!("file://{path}"), bytes)],
            });
        }
        let mut names = Vec::new();
        let mut dir = tokio::fs::read_dir(path).await.map_err(cannot)?;
        while let Some(entry) = dir.next_entry().await.map_err(cannot)? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_file = tokio::fs::metadata(entry.path())
                .await
                .is_ok_and(|m| m.is_file());
            if !name.starts_with('.') && is_file {
                names.push(entry.path());
            }
        }
        names.sort();
        let mut files = Vec::with_capacity(names.len());
        for file in names {
            let bytes = tokio::fs::read(&file).await.map_err(cannot)?;
            files.push((format!("file://{}", file.display()), bytes));
        }
        Ok(OplSource { files })
    }

    /// Every file's classes; all files' errors, each with its file, line and column.
    pub fn parse(&self) -> Result<Namespaces, String> {
        let mut classes = Vec::new();
        let mut errors = Vec::new();
        let mut declared_in: HashMap<String, &str> = HashMap::new();
        for (file, bytes) in &self.files {
            let Ok(source) = std::str::from_utf8(bytes) else {
                errors.push(format!("{file}: not UTF-8"));
                continue;
            };
            match opl::parse(source) {
                Ok(found) => {
                    for class in found {
                        if let Some(first) = declared_in.insert(class.name.clone(), file) {
                            errors.push(format!(
                                "{file}: class {} is declared in {first} too",
                                class.name
                            ));
                        }
                        classes.push(class);
                    }
                }
                Err(found) => errors.extend(
                    found
                        .iter()
                        .map(|e| format!("{file}:{}:{}: {}", e.line, e.column, e.message)),
                ),
            }
        }
        if !errors.is_empty() {
            return Err(format!("the OPL file has errors:\n{}", errors.join("\n")));
        }
        Ok(Namespaces::from_opl(classes))
    }
}
