//! Go templates of rules (mutator headers and cookies, authorizer payloads), parsed once
//! per distinct source text. Keying the cache by the text itself means an edited rule
//! takes effect on reload (Oathkeeper keys by rule id and header name, and keeps the old
//! template until restart).

use gatehouse_gotmpl::Template;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Parsed templates by source text.
#[derive(Default)]
pub struct Templates {
    parsed: Mutex<HashMap<String, Arc<Template>>>,
}

/// Past this many distinct templates the cache starts over, so rule churn cannot grow it
/// without bound.
const MAX_CACHED: usize = 10_000;

impl Templates {
    /// Renders `source` with `data`; the error says what failed (parse or execution).
    pub fn render(&self, source: &str, data: &Value) -> Result<String, String> {
        let t = self.parse(source)?;
        t.render(data).map_err(|e| e.to_string())
    }

    pub fn parse(&self, source: &str) -> Result<Arc<Template>, String> {
        if let Ok(cache) = self.parsed.lock()
            && let Some(t) = cache.get(source)
        {
            return Ok(t.clone());
        }
        let t = Arc::new(parse(source)?);
        if let Ok(mut cache) = self.parsed.lock() {
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
            cache.insert(source.to_string(), t.clone());
        }
        Ok(t)
    }
}

/// Parses with Oathkeeper's dialect of Go templates.
pub fn parse(source: &str) -> Result<Template, String> {
    Template::parse_oathkeeper("rule", source)
        .map_err(|e| format!("line {}, column {}: {}", e.line, e.column, e.message))
}
