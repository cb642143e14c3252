//! Loads documents referenced by URL in Ory configs: `file://PATH`, `base64://DATA`,
//! `http(s)://...`, or a plain path.

use base64::Engine;

/// Fetches the bytes behind `url`. HTTP loads are bounded in time and size.
pub async fn load(url: &str) -> Result<Vec<u8>, String> {
    if let Some(path) = url.strip_prefix("file://") {
        return tokio::fs::read(path)
            .await
            .map_err(|e| format!("cannot read {path}: {e}"));
    }
    if let Some(data) = url.strip_prefix("base64://") {
        return base64::engine::general_purpose::STANDARD
            .decode(data.trim())
            .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(data.trim()))
            .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(data.trim()))
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(data.trim()))
            .map_err(|e| format!("invalid base64 data: {e}"));
    }
    if url.starts_with("http://") || url.starts_with("https://") {
        crate::install_tls_provider();
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .map_err(|e| e.to_string())?;
        let res = client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("cannot fetch {url}: {e}"))?;
        if !res.status().is_success() {
            return Err(format!("fetching {url} answered {}", res.status()));
        }
        let bytes = res
            .bytes()
            .await
            .map_err(|e| format!("cannot read {url}: {e}"))?;
        if bytes.len() > 5 << 20 {
            return Err(format!("{url} is larger than 5 MiB"));
        }
        return Ok(bytes.to_vec());
    }
    if url.contains("://") {
        return Err(format!(
            "unsupported URL scheme in {url:?} (use file://, base64://, http:// or https://)"
        ));
    }
    tokio::fs::read(url)
        .await
        .map_err(|e| format!("cannot read {url}: {e}"))
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn loads_base64_and_files() {
        assert_eq!(super::load("base64://aGVsbG8=").await.unwrap(), b"hello");
        let dir = std::env::temp_dir().join(format!("gh-loader-{}", std::process::id()));
        std::fs::write(&dir, b"x").unwrap();
        assert_eq!(
            super::load(&format!("file://{}", dir.display()))
                .await
                .unwrap(),
            b"x"
        );
        assert!(super::load("ftp://x").await.is_err());
        let _ = std::fs::remove_file(dir);
    }
}
