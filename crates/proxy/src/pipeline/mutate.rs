//! Mutators: what the upstream (or the decision's caller) is told about the request:
//! headers and cookies rendered from templates, signed id_tokens, or a session enriched by
//! a hydrator API.

use super::session::Reads;
use super::{Denied, Session, resolve};
use crate::Proxy;
use crate::rule::Handler;
use serde_json::Value;

pub async fn mutate(
    px: &Proxy,
    h: &Handler,
    session: &mut Session,
    rule_id: &str,
) -> Result<(), Denied> {
    let r = resolve(&px.config.mutators, "mutator", h)?;
    match r.name {
        "noop" => Ok(()),
        "header" => {
            for (name, value) in render_map(px, r.config, "headers", session, rule_id)? {
                session.set_header(&name, value);
            }
            Ok(())
        }
        "cookie" => {
            let rendered = render_map(px, r.config, "cookies", session, rule_id)?;
            let mut cookies: Vec<(String, String)> =
                super::session::Incoming::cookies_of(&session.request.headers)
                    .into_iter()
                    .filter(|(k, _)| !rendered.iter().any(|(n, _)| n == k))
                    .collect();
            cookies.extend(rendered);
            let header = cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            session.set_header("Cookie", header);
            Ok(())
        }
        "hydrator" => Box::pin(super::hydrator::hydrate(px, r.config, session)).await,
        "id_token" => Box::pin(super::id_token::mutate(px, r.config, session, rule_id)).await,
        other => Err(Denied::internal(format!(
            "The mutator {other:?} is not available in this version of gatehouse"
        ))),
    }
}

/// Renders every template of a `headers`/`cookies` map. A value with CR, LF, other
/// control characters or non-ASCII text is refused: it would split or smuggle headers, or
/// reach the upstream mangled.
fn render_map(
    px: &Proxy,
    config: &Value,
    key: &str,
    session: &Session,
    rule_id: &str,
) -> Result<Vec<(String, String)>, Denied> {
    let Some(map) = config.get(key).and_then(Value::as_object) else {
        return Err(Denied::internal(format!(
            "rule {rule_id:?}: the mutator needs a `{key}` map"
        )));
    };
    let mut templates = Vec::with_capacity(map.len());
    for (name, source) in map {
        let t = px
            .templates
            .parse(source.as_str().unwrap_or(""))
            .map_err(|e| Denied::internal(format!("rule {rule_id:?} {key}.{name}: {e}")))?;
        templates.push((name, t));
    }
    let reads = templates
        .iter()
        .fold(Reads::default(), |r, (_, t)| r.and(Reads::of(t)));
    let data = session.template_data_for(reads);
    let mut out = Vec::with_capacity(map.len());
    for (name, t) in templates {
        let value = t
            .render(&data)
            .map_err(|e| Denied::internal(format!("rule {rule_id:?} {key}.{name}: {e}")))?;
        if value
            .chars()
            .any(|c| (c.is_control() && c != '\t') || !c.is_ascii())
        {
            return Err(Denied::internal(format!(
                "rule {rule_id:?} {key}.{name}: the rendered value has control characters (CR/LF) or non-ASCII text; it was not sent"
            )));
        }
        out.push((name.clone(), value));
    }
    Ok(out)
}
