//! oslo.policy check strings: `role:admin or (role:reader and
//! project_id:%(project_id)s)`, `rule:admin_api`, `@`, `!`, `not ...`.

#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    Always,
    Never,
    /// `rule:name`: the named rule's check.
    Rule(String),
    /// `role:name`: the credentials carry this role (case-insensitive).
    Role(String),
    /// `kind:match`: a credential (or literal) equals the match, in which
    /// `%(key)s` is replaced by the target's value.
    Generic {
        kind: String,
        matched: String,
    },
    Not(Box<Check>),
    And(Vec<Check>),
    Or(Vec<Check>),
    /// A word that is no check (oslo.policy would deny; we refuse to load).
    Malformed(String),
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Check(Check),
}

fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    for word in text.split_whitespace() {
        let mut word = word;
        while let Some(rest) = word.strip_prefix('(') {
            tokens.push(Token::Open);
            word = rest;
        }
        let mut closes = 0;
        while let Some(rest) = word.strip_suffix(')') {
            closes += 1;
            word = rest;
        }
        if !word.is_empty() {
            tokens.push(match word.to_ascii_lowercase().as_str() {
                "and" => Token::And,
                "or" => Token::Or,
                "not" => Token::Not,
                _ => Token::Check(parse_atom(word)),
            });
        }
        tokens.extend(std::iter::repeat_n(Token::Close, closes));
    }
    tokens
}

fn parse_atom(word: &str) -> Check {
    match word {
        "@" => return Check::Always,
        "!" => return Check::Never,
        _ => {}
    }
    let Some((kind, matched)) = word.split_once(':') else {
        return Check::Malformed(word.to_string());
    };
    let unquote = |s: &str| s.trim_matches(|c| c == '"' || c == '\'').to_string();
    match kind {
        "rule" => Check::Rule(matched.to_string()),
        "role" => Check::Role(matched.to_ascii_lowercase()),
        _ => Check::Generic { kind: unquote(kind), matched: unquote(matched) },
    }
}

/// Parse a check string. An empty string always passes, as in oslo.policy.
/// A malformed one is an error here (oslo.policy would deny everything
/// silently).
pub fn parse(text: &str) -> Result<Check, String> {
    let tokens = tokenize(text);
    if tokens.is_empty() {
        return Ok(Check::Always);
    }
    let mut parser = Parser { tokens, pos: 0 };
    match parser.or_expr() {
        Some(check) if parser.pos == parser.tokens.len() => Ok(check),
        _ => Err(format!("{text:?} is not a valid check string")),
    }
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn or_expr(&mut self) -> Option<Check> {
        let mut parts = vec![self.and_expr()?];
        while self.peek() == Some(&Token::Or) {
            self.pos += 1;
            parts.push(self.and_expr()?);
        }
        Some(if parts.len() == 1 { parts.remove(0) } else { Check::Or(parts) })
    }

    fn and_expr(&mut self) -> Option<Check> {
        let mut parts = vec![self.unary()?];
        while self.peek() == Some(&Token::And) {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Some(if parts.len() == 1 { parts.remove(0) } else { Check::And(parts) })
    }

    fn unary(&mut self) -> Option<Check> {
        let token = self.tokens.get(self.pos).cloned()?;
        self.pos += 1;
        match token {
            Token::Not => Some(Check::Not(Box::new(self.unary()?))),
            Token::Open => {
                let inner = self.or_expr()?;
                (self.peek() == Some(&Token::Close)).then(|| self.pos += 1)?;
                Some(inner)
            }
            Token::Check(c) => Some(c),
            Token::Close | Token::And | Token::Or => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precedence_is_not_then_and_then_or() {
        assert_eq!(
            parse("role:a or role:b and not role:c").unwrap(),
            Check::Or(vec![
                Check::Role("a".into()),
                Check::And(vec![Check::Role("b".into()), Check::Not(Box::new(Check::Role("c".into())))]),
            ])
        );
    }

    #[test]
    fn parentheses_and_special_checks() {
        assert_eq!(
            parse("(role:a or @) and rule:x").unwrap(),
            Check::And(vec![Check::Or(vec![Check::Role("a".into()), Check::Always]), Check::Rule("x".into())])
        );
        assert_eq!(parse("").unwrap(), Check::Always);
        assert_eq!(parse("!").unwrap(), Check::Never);
        assert!(parse("role:a and").is_err());
        assert!(parse("(role:a").is_err());
        assert_eq!(parse("admin").unwrap(), Check::Malformed("admin".into()));
    }

    #[test]
    fn generic_checks_keep_their_template() {
        assert_eq!(
            parse("project_id:%(project_id)s").unwrap(),
            Check::Generic { kind: "project_id".into(), matched: "%(project_id)s".into() }
        );
        assert_eq!(parse("role:Admin").unwrap(), Check::Role("admin".into()));
    }
}
