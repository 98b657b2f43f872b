//! oslo.config's INI dialect: `[section]` headers, `key = value` (or
//! `key: value`) lines, `#` and `;` comments, indented continuation lines,
//! and repeated keys kept in order (the last one wins for single values).

/// One file's entries: (section, key, value) in file order. Section and
/// key names are kept as written; lookups normalise them.
#[derive(Debug, Default, Clone)]
pub struct IniFile {
    pub entries: Vec<(String, String, String)>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("{path}:{line}: {message}")]
pub struct IniError {
    pub path: String,
    pub line: usize,
    pub message: String,
}

pub fn parse(path: &str, text: &str) -> Result<IniFile, IniError> {
    let mut file = IniFile::default();
    let mut section: Option<String> = None;
    let err = |line: usize, message: &str| IniError { path: path.to_string(), line, message: message.to_string() };
    for (n, raw) in text.lines().enumerate() {
        let line_no = n + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
            continue;
        }
        if raw.starts_with([' ', '\t']) {
            // A continuation of the previous value.
            match file.entries.last_mut() {
                Some(last) => {
                    last.2.push('\n');
                    last.2.push_str(trimmed);
                    continue;
                }
                None => return Err(err(line_no, "unexpected continuation line")),
            }
        }
        if let Some(rest) = trimmed.strip_prefix('[') {
            let name = rest.strip_suffix(']').ok_or_else(|| err(line_no, "invalid section header"))?.trim();
            if name.is_empty() {
                return Err(err(line_no, "empty section name"));
            }
            section = Some(name.to_string());
            continue;
        }
        let split = trimmed.find(['=', ':']).ok_or_else(|| err(line_no, "expected 'key = value'"))?;
        let key = trimmed[..split].trim();
        let value = trimmed[split + 1..].trim();
        let section = section.clone().ok_or_else(|| err(line_no, "option outside of any section"))?;
        if key.is_empty() {
            return Err(err(line_no, "empty option name"));
        }
        file.entries.push((section, key.to_string(), unquote(value).to_string()));
    }
    Ok(file)
}

fn unquote(value: &str) -> &str {
    for q in ['"', '\''] {
        if value.len() >= 2 && value.starts_with(q) && value.ends_with(q) {
            return &value[1..value.len() - 1];
        }
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_keys_comments_and_continuations() {
        let text = "# comment\n[DEFAULT]\ndebug = True\n\n[placement_database]\nconnection: sqlite:////tmp/x.db\n; other\n[cors]\nallowed_origin = a,\n  b\n";
        let f = parse("p.conf", text).unwrap();
        assert_eq!(f.entries[0], ("DEFAULT".into(), "debug".into(), "True".into()));
        assert_eq!(f.entries[1].2, "sqlite:////tmp/x.db");
        assert_eq!(f.entries[2].2, "a,\nb");
    }

    #[test]
    fn malformed_lines_name_the_file_and_line() {
        assert_eq!(
            parse("p.conf", "[a]\nnot an option\n").unwrap_err(),
            IniError { path: "p.conf".into(), line: 2, message: "expected 'key = value'".into() }
        );
        assert!(parse("p.conf", "debug = 1\n").is_err());
    }
}
