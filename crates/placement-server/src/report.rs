//! Text output of placement-manage and placement-status in the layout
//! upstream's tools print (PrettyTable tables, textwrap'd details), so
//! that scripts parsing upstream's output keep working.

/// How cells are placed in their column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Centre,
}

/// A table with a header row, one space of padding each side of a cell,
/// multi-line cells, and a rule after every row when `rule_every_row`.
pub fn table(headers: &[&str], rows: &[Vec<String>], align: Align, rule_every_row: bool) -> String {
    let width = |cell: &str| cell.lines().map(|l| l.chars().count()).max().unwrap_or(0);
    let widths: Vec<usize> = (0..headers.len())
        .map(|c| rows.iter().map(|r| width(&r[c])).chain([width(headers[c])]).max().unwrap_or(0))
        .collect();
    let mut rule: String = widths.iter().map(|w| format!("+{}", "-".repeat(w + 2))).collect();
    rule.push_str("+\n");
    let render = |cells: Vec<&str>| -> String {
        let height = cells.iter().map(|c| c.lines().count().max(1)).max().unwrap_or(1);
        (0..height)
            .map(|i| {
                let line: String = cells
                    .iter()
                    .zip(&widths)
                    .map(|(cell, w)| format!("| {} ", justify(cell.lines().nth(i).unwrap_or(""), *w, align)))
                    .collect();
                format!("{line}|\n")
            })
            .collect()
    };
    let mut out = format!("{rule}{}{rule}", render(headers.to_vec()));
    for row in rows {
        out.push_str(&render(row.iter().map(String::as_str).collect()));
        if rule_every_row {
            out.push_str(&rule);
        }
    }
    if !rule_every_row && !rows.is_empty() {
        out.push_str(&rule);
    }
    out
}

/// PrettyTable's centring: with odd spare room, the extra space goes
/// right of odd-length text and left of even-length text.
fn justify(text: &str, width: usize, align: Align) -> String {
    let len = text.chars().count();
    let spare = width.saturating_sub(len);
    let (left, right) = match align {
        Align::Left => (0, spare),
        Align::Centre if spare.is_multiple_of(2) => (spare / 2, spare / 2),
        Align::Centre if len % 2 == 1 => (spare / 2, spare / 2 + 1),
        Align::Centre => (spare / 2 + 1, spare / 2),
    };
    format!("{}{text}{}", " ".repeat(left), " ".repeat(right))
}

/// Python's `textwrap.wrap(text, width, subsequent_indent=indent)`: words
/// break at spaces and after hyphens inside words; a word longer than a
/// line is cut, at its last hyphen that fits if it has one.
pub fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let mut chunks: Vec<String> = split_chunks(text).into_iter().rev().collect();
    let mut lines = Vec::new();
    while !chunks.is_empty() {
        let prefix = if lines.is_empty() { "" } else { indent };
        let room = width - prefix.chars().count();
        if !lines.is_empty() && chunks.last().is_some_and(|c| c.trim().is_empty()) {
            chunks.pop();
        }
        let mut line: Vec<String> = Vec::new();
        let mut used = 0;
        while let Some(chunk) = chunks.last() {
            let len = chunk.chars().count();
            if used + len > room {
                break;
            }
            used += len;
            line.push(chunks.pop().unwrap_or_default());
        }
        if chunks.last().is_some_and(|c| c.chars().count() > room) {
            let chunk = chunks.pop().unwrap_or_default();
            let space_left = room - used;
            let chars: Vec<char> = chunk.chars().collect();
            let mut end = space_left;
            if let Some(h) = chars[..space_left.min(chars.len())].iter().rposition(|c| *c == '-')
                && h > 0
                && chars[..h].iter().any(|c| *c != '-')
            {
                end = h + 1;
            }
            line.push(chars[..end].iter().collect());
            chunks.push(chars[end..].iter().collect());
        }
        if line.last().is_some_and(|c| c.trim().is_empty()) {
            line.pop();
        }
        if !line.is_empty() {
            lines.push(format!("{prefix}{}", line.concat()));
        }
    }
    lines
}

/// Python textwrap's chunks: runs of spaces, and words split after a
/// hyphen that has two letters (or letter-hyphen-letter) before it and a
/// letter after it.
fn split_chunks(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().map(|c| if c.is_whitespace() { ' ' } else { c }).collect();
    let letter = |i: usize| chars.get(i).is_some_and(|c| c.is_alphabetic() || *c == '_');
    let mut chunks = Vec::new();
    let mut start = 0;
    for i in 0..chars.len() {
        let next_is_space = chars.get(i + 1).is_some_and(|c| *c == ' ');
        let here_is_space = chars[i] == ' ';
        let boundary = if here_is_space {
            !next_is_space
        } else {
            next_is_space
                || (chars[i] == '-'
                    && i > start
                    && ((i >= 2 && letter(i - 1) && letter(i - 2))
                        || (i >= 3 && letter(i - 1) && chars[i - 2] == '-' && letter(i - 3)))
                    && letter(i + 1)
                    && (letter(i + 2) || (chars.get(i + 2) == Some(&'-') && letter(i + 3))))
        };
        if boundary || i + 1 == chars.len() {
            chunks.push(chars[start..=i].iter().collect());
            start = i + 1;
        }
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn centred_table_as_prettytable_prints_it() {
        let rows = vec![
            vec!["set_root_provider_ids".to_string(), "10".to_string(), "10".to_string()],
            vec!["create_incomplete_consumers".to_string(), "0".to_string(), "0".to_string()],
        ];
        let expected = "\
+-----------------------------+-------------+-----------+
|          Migration          | Total Found | Completed |
+-----------------------------+-------------+-----------+
|    set_root_provider_ids    |      10     |     10    |
| create_incomplete_consumers |      0      |     0     |
+-----------------------------+-------------+-----------+
";
        assert_eq!(table(&["Migration", "Total Found", "Completed"], &rows, Align::Centre, false), expected);
    }

    #[test]
    fn wraps_after_hyphens_and_cuts_long_words() {
        let text = "Your policy file is JSON-formatted which is deprecated. You need to switch to \
                    YAML-formatted file.";
        assert_eq!(
            wrap(text, 60, "  "),
            ["Your policy file is JSON-formatted which is deprecated. You", "  need to switch to YAML-formatted file."]
        );
        assert_eq!(
            wrap("see https://example.org/a-long-path-name", 20, "  "),
            ["see https://example.", "  org/a-long-path-", "  name"]
        );
        let policy = "Your policy file is JSON-formatted which is deprecated. You need to switch to \
                      YAML-formatted file. Use the ``oslopolicy-convert-json-to-yaml`` tool to convert the \
                      existing JSON-formatted files to YAML in a backwards-compatible manner: \
                      https://docs.openstack.org/oslo.policy/latest/cli/oslopolicy-convert-json-to-yaml.html.";
        // As Python 3.11's textwrap prints it.
        assert_eq!(
            wrap(policy, 60, "  "),
            [
                "Your policy file is JSON-formatted which is deprecated. You",
                "  need to switch to YAML-formatted file. Use the",
                "  ``oslopolicy-convert-json-to-yaml`` tool to convert the",
                "  existing JSON-formatted files to YAML in a backwards-",
                "  compatible manner: https://docs.openstack.org/oslo.policy/",
                "  latest/cli/oslopolicy-convert-json-to-yaml.html.",
            ]
        );
        assert_eq!(wrap("x", 60, "  "), ["x"]);
    }
}
