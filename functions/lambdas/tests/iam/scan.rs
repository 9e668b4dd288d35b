//! A small reader of this workspace's Rust sources, enough to follow calls: every `fn` with its
//! body and the `impl` it belongs to, and from a body the calls it makes. Comments, strings
//! and `#[cfg(test)]` items are blanked first. Resolution is by name and over-approximates
//! (a method call on a receiver of unknown type may mean any method of that name of a type in
//! scope), so what it finds reachable includes everything the code can call.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Func {
    pub name: String,
    /// The type of the `impl` it is in (`Self`), if any.
    pub self_ty: Option<String>,
    /// The trait of that `impl`, if any.
    pub trait_: Option<String>,
    pub body: String,
    pub file: PathBuf,
    /// The `aws_sdk_*` crates its file names.
    pub sdks: BTreeSet<String>,
}

/// A call found in a body.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Call {
    /// `self.name(…)`
    SelfMethod(String),
    /// `recv.name(…)`, `recv` not `self`; `receiver` is the identifier just before the dot,
    /// if there is one (`self.store.backfill(` → `store`).
    Method {
        receiver: Option<String>,
        name: String,
    },
    /// `Type::name(…)` (`Self::` resolved by the caller).
    Path { ty: String, name: String },
    /// `name(…)`
    Free(String),
}

pub fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Every function of the files under `dirs`.
pub fn scan(dirs: &[PathBuf]) -> Vec<Func> {
    let mut out = Vec::new();
    for dir in dirs {
        for file in rust_files(dir) {
            let raw = std::fs::read_to_string(&file).unwrap();
            let text = blank_tests(&strip(&raw));
            out.extend(functions(&text, &file));
        }
    }
    out
}

/// Comments, string and char literals replaced by spaces (line breaks kept).
pub fn strip(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r'
            && (next == Some('"') || next == Some('#'))
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_alphanumeric() || *p == '_')
        {
            // Raw string r"…" / r#"…"#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push('"');
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                out.push(blank(b[j]));
                j += 1;
            }
            out.push('"');
            i = j;
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let end = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&k| b[k] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match end {
                Some(e) => {
                    out.push_str("' '");
                    out.extend(std::iter::repeat_n(' ', e - i - 2));
                    i = e + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Positions of matching braces: `close[open]`.
fn matching(text: &[u8]) -> Vec<Option<usize>> {
    let mut close = vec![None; text.len()];
    let mut stack = Vec::new();
    for (i, &c) in text.iter().enumerate() {
        match c {
            b'{' => stack.push(i),
            b'}' => {
                if let Some(o) = stack.pop() {
                    close[o] = Some(i);
                }
            }
            _ => {}
        }
    }
    close
}

/// `#[cfg(test)]` items (test modules, test helpers) blanked.
fn blank_tests(text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    let close = matching(&bytes);
    let mut from = 0;
    while let Some(p) = find(&bytes, b"#[cfg(test)]", from) {
        from = p + 1;
        let brace = (p..bytes.len()).find(|&k| bytes[k] == b'{' || bytes[k] == b';');
        if let Some(k) = brace {
            let end = if bytes[k] == b'{' {
                close[k].unwrap_or(k)
            } else {
                k
            };
            for b in &mut bytes[p..=end] {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        }
    }
    String::from_utf8(bytes).unwrap()
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    (from..hay.len().saturating_sub(needle.len() - 1)).find(|&i| hay[i..].starts_with(needle))
}

fn is_ident(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Occurrences of the keyword `kw` as a whole word.
fn keyword(text: &[u8], kw: &[u8]) -> Vec<usize> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(p) = find(text, kw, from) {
        from = p + 1;
        let before = p == 0 || !is_ident(text[p - 1]);
        let after = text.get(p + kw.len()).is_none_or(|&c| !is_ident(c));
        if before && after {
            out.push(p);
        }
    }
    out
}

fn last_ident(s: &str) -> Option<String> {
    // `a::b::Type<X>` → `Type`
    let s = strip_generics(s);
    let s = s.trim().trim_start_matches('&').trim();
    let word: String = s
        .rsplit("::")
        .next()?
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    (!word.is_empty()).then_some(word)
}

fn strip_generics(s: &str) -> String {
    let mut depth = 0;
    let mut out = String::new();
    for c in s.chars() {
        match c {
            '<' => depth += 1,
            '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn functions(text: &str, file: &Path) -> Vec<Func> {
    let bytes = text.as_bytes();
    let close = matching(bytes);
    let sdks: BTreeSet<String> = keyword_prefixed(text, "aws_sdk_");
    // impl blocks: (open, close, self type, trait)
    let mut impls = Vec::new();
    for p in keyword(bytes, b"impl") {
        let prev = text[..p].trim_end().bytes().last();
        if !matches!(prev, None | Some(b'}' | b';' | b'{' | b']')) {
            continue; // `impl Trait` in a type position
        }
        let Some(open) = (p..bytes.len()).find(|&k| bytes[k] == b'{') else {
            continue;
        };
        let header = strip_generics(&text[p + 4..open]);
        let header = header.split(" where ").next().unwrap_or("").trim();
        let (tr, ty) = match header.split_once(" for ") {
            Some((t, ty)) => (last_ident(t), last_ident(ty)),
            None => (None, last_ident(header)),
        };
        impls.push((open, close[open].unwrap_or(bytes.len()), ty, tr));
    }
    let mut out = Vec::new();
    for p in keyword(bytes, b"fn") {
        let rest = &text[p + 2..];
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if name.is_empty() {
            continue; // `fn(…)` pointer types
        }
        let Some(k) = (p..bytes.len()).find(|&k| bytes[k] == b'{' || bytes[k] == b';') else {
            continue;
        };
        if bytes[k] == b';' {
            continue; // a declaration without a body
        }
        let end = close[k].unwrap_or(bytes.len() - 1);
        let owner = impls
            .iter()
            .filter(|(o, c, _, _)| *o < p && p < *c)
            .min_by_key(|(o, c, _, _)| c - o);
        out.push(Func {
            name,
            self_ty: owner.and_then(|o| o.2.clone()),
            trait_: owner.and_then(|o| o.3.clone()),
            body: text[k..=end].to_string(),
            file: file.to_path_buf(),
            sdks: sdks.clone(),
        });
    }
    out
}

/// `aws_sdk_dynamodb` → `dynamodb`, for every such crate the text names.
fn keyword_prefixed(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut from = 0;
    while let Some(p) = text[from..].find(prefix) {
        let start = from + p + prefix.len();
        let word: String = text[start..]
            .chars()
            .take_while(|c| c.is_alphanumeric())
            .collect();
        if !word.is_empty() {
            out.insert(word);
        }
        from = start;
    }
    out
}

/// Identifiers of a body (for types it names).
pub fn idents(body: &str) -> BTreeSet<String> {
    body.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// `.name()` with nothing between the parentheses: how SDK operations are called.
pub fn empty_calls(body: &str) -> BTreeSet<String> {
    let b = body.as_bytes();
    let mut out = BTreeSet::new();
    for (i, _) in body.match_indices("()") {
        let mut s = i;
        while s > 0 && is_ident(b[s - 1]) {
            s -= 1;
        }
        let mut d = s;
        while d > 0 && b[d - 1].is_ascii_whitespace() {
            d -= 1;
        }
        if s < i && d > 0 && b[d - 1] == b'.' {
            out.insert(body[s..i].to_string());
        }
    }
    out
}

/// The calls of a body.
pub fn calls(body: &str) -> BTreeSet<Call> {
    let b = body.as_bytes();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i < b.len() {
        if !is_ident(b[i]) || (i > 0 && is_ident(b[i - 1])) || b[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_ident(b[i]) {
            i += 1;
        }
        let name = &body[start..i];
        let mut j = i;
        while j < b.len() && b[j].is_ascii_whitespace() {
            j += 1;
        }
        // Turbofish: name::<…>(
        if body[j..].starts_with("::<") {
            let mut depth = 0;
            let mut k = j + 2;
            while k < b.len() {
                match b[k] {
                    b'<' => depth += 1,
                    b'>' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                k += 1;
            }
            j = k + 1;
            while j < b.len() && b[j].is_ascii_whitespace() {
                j += 1;
            }
        }
        if b.get(j) != Some(&b'(') {
            continue;
        }
        // What precedes the name.
        let mut p = start;
        while p > 0 && b[p - 1].is_ascii_whitespace() {
            p -= 1;
        }
        let call = if p > 0 && b[p - 1] == b'.' {
            let mut q = p - 1;
            while q > 0 && b[q - 1].is_ascii_whitespace() {
                q -= 1;
            }
            let r_end = q;
            while q > 0 && is_ident(b[q - 1]) {
                q -= 1;
            }
            let receiver = (q < r_end).then(|| body[q..r_end].to_string());
            let before_recv = body[..q].trim_end();
            if receiver.as_deref() == Some("self") && !before_recv.ends_with('.') {
                Call::SelfMethod(name.to_string())
            } else {
                Call::Method {
                    receiver,
                    name: name.to_string(),
                }
            }
        } else if p >= 2 && &body[p - 2..p] == "::" {
            let mut q = p - 2;
            let t_end = q;
            while q > 0 && is_ident(b[q - 1]) {
                q -= 1;
            }
            Call::Path {
                ty: body[q..t_end].to_string(),
                name: name.to_string(),
            }
        } else {
            if matches!(
                name,
                "if" | "while" | "match" | "for" | "return" | "in" | "fn" | "move" | "as"
            ) {
                continue;
            }
            Call::Free(name.to_string())
        };
        out.insert(call);
    }
    out
}
