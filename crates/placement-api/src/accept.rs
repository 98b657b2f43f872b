//! `Accept` header matching with webob's rules: each offer takes the q of
//! the most specific media range that matches it; q=0 refuses; the result
//! is ordered by q, then by the order of the offers.

struct Range {
    kind: String,
    subtype: String,
    q: f32,
}

fn parse(header: &str) -> Vec<Range> {
    header
        .split(',')
        .filter_map(|part| {
            let mut pieces = part.split(';');
            let media = pieces.next()?.trim().to_ascii_lowercase();
            let (kind, subtype) = media.split_once('/')?;
            let mut q = 1.0;
            for param in pieces {
                if let Some((k, v)) = param.split_once('=')
                    && k.trim().eq_ignore_ascii_case("q")
                {
                    q = v.trim().parse().unwrap_or(1.0);
                }
            }
            Some(Range { kind: kind.trim().to_string(), subtype: subtype.trim().to_string(), q })
        })
        .collect()
}

/// The offers the header accepts, best first.
pub fn acceptable<'a>(header: &str, offers: &[&'a str]) -> Vec<&'a str> {
    let ranges = parse(header);
    let mut scored: Vec<(f32, usize, &'a str)> = Vec::new();
    for (order, offer) in offers.iter().enumerate() {
        let Some((kind, subtype)) = offer.split_once('/') else {
            continue;
        };
        let best = ranges
            .iter()
            .filter_map(|r| {
                let specificity = match (r.kind.as_str(), r.subtype.as_str()) {
                    ("*", "*") => 0,
                    (k, "*") if k == kind => 1,
                    (k, s) if k == kind && s == subtype => 2,
                    _ => return None,
                };
                Some((specificity, r.q))
            })
            .max_by_key(|(specificity, _)| *specificity);
        if let Some((_, q)) = best
            && q > 0.0
        {
            scored.push((q, order, offer));
        }
    }
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    scored.into_iter().map(|(_, _, offer)| offer).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn browser_accept_takes_json_through_the_wildcard() {
        let h = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert_eq!(acceptable(h, &["application/json"]), vec!["application/json"]);
        assert!(acceptable("text/html,application/xml;q=0.9", &["application/json"]).is_empty());
    }

    #[test]
    fn q_orders_and_zero_refuses() {
        assert_eq!(
            acceptable("text/html;q=0.5,application/json", &["text/html", "application/json"]),
            vec!["application/json", "text/html"]
        );
        assert!(acceptable("application/json;q=0", &["application/json"]).is_empty());
        assert!(acceptable("application/*;q=0.1,application/json;q=0", &["application/json"]).is_empty());
    }
}
