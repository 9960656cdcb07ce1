//! Limits on what one document may ask, checked before validation and planning so that
//! an oversized document costs the router little: tokens (and bracket nesting) are
//! counted on the text before parsing; depth, aliases and root fields on the parsed
//! document. Each limit is refused with its own `extensions.code`.

use std::collections::{HashMap, HashSet};

use graphql_tools::static_graphql::query::{
    Definition, Document, FragmentDefinition, OperationDefinition, Selection, SelectionSet,
};

use crate::config::Limits;
use crate::error::ErrorCode;
use crate::response::Rejection;

/// Brackets may nest this much deeper than `max_depth` allows fields to (inline
/// fragments, list and object arguments nest too), and at least this much in all.
const NESTING_ALLOWANCE: usize = 64;

/// Counts the lexical tokens of `query` and the nesting of its brackets, without
/// parsing it. The parser recurses once per bracket (and gives up with a syntax error
/// near 50 levels); deep nesting is refused here first, cheaply and with the code that
/// says why.
pub(crate) fn check_tokens(query: &str, limits: &Limits) -> Result<(), Rejection> {
    let max_nesting = limits.max_depth.saturating_add(NESTING_ALLOWANCE);
    let bytes = query.as_bytes();
    let mut tokens = 0usize;
    let mut nesting = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        let rest = &bytes[i..];
        match bytes[i] {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            0xEF if rest.starts_with(b"\xEF\xBB\xBF") => {
                i += 3;
                continue;
            }
            b'"' if rest.starts_with(b"\"\"\"") => i = block_string_end(bytes, i + 3),
            b'"' => i = string_end(bytes, i + 1),
            b'.' if rest.starts_with(b"...") => i += 3,
            b'{' | b'[' | b'(' => {
                nesting += 1;
                if nesting > max_nesting {
                    return Err(too_deep(limits));
                }
                i += 1;
            }
            b'}' | b']' | b')' => {
                nesting = nesting.saturating_sub(1);
                i += 1;
            }
            byte if byte == b'_' || byte.is_ascii_alphabetic() => {
                i += 1;
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            byte if byte == b'-' || byte.is_ascii_digit() => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(Rejection::new(
                format!("The document has more than {} tokens", limits.max_tokens),
                ErrorCode::MaxTokensExceeded,
            ));
        }
    }
    Ok(())
}

/// The position after a `"..."` string whose opening quote ends before `i`.
fn string_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            b'\n' | b'\r' => return i,
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The position after a `"""..."""` block string whose opening quotes end before `i`.
fn block_string_end(bytes: &[u8], mut i: usize) -> usize {
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"\\\"\"\"") {
            i += 4;
        } else if rest.starts_with(b"\"\"\"") {
            return i + 3;
        } else {
            i += 1;
        }
    }
    bytes.len()
}

/// Checks depth, aliases and root fields of every operation of a parsed document.
pub(crate) fn check_document(document: &Document, limits: &Limits) -> Result<(), Rejection> {
    let fragments: HashMap<&str, &FragmentDefinition> = document
        .definitions
        .iter()
        .filter_map(|definition| match definition {
            Definition::Fragment(fragment) => Some((fragment.name.as_str(), fragment)),
            Definition::Operation(_) => None,
        })
        .collect();

    let aliases: usize = document
        .definitions
        .iter()
        .map(|definition| match definition {
            Definition::Fragment(fragment) => count_aliases(&fragment.selection_set),
            Definition::Operation(operation) => count_aliases(selection_set(operation)),
        })
        .sum();
    if aliases > limits.max_aliases {
        return Err(Rejection::new(
            format!(
                "The document has {aliases} aliases, more than the {} allowed",
                limits.max_aliases
            ),
            ErrorCode::MaxAliasesExceeded,
        ));
    }

    let mut depths = Depths {
        fragments: &fragments,
        known: HashMap::new(),
    };
    for definition in &document.definitions {
        let Definition::Operation(operation) = definition else {
            continue;
        };
        let root = selection_set(operation);
        let root_fields = count_root_fields(root, &fragments, &mut HashSet::new());
        if root_fields > limits.max_root_fields {
            return Err(Rejection::new(
                format!(
                    "The operation selects {root_fields} root fields, more than the {} allowed",
                    limits.max_root_fields
                ),
                ErrorCode::MaxRootFieldsExceeded,
            ));
        }
        let depth = depths.of(root);
        if depth > limits.max_depth {
            return Err(Rejection::new(
                format!(
                    "The operation is {depth} fields deep, deeper than the {} allowed",
                    limits.max_depth
                ),
                ErrorCode::MaxDepthExceeded,
            ));
        }
    }
    Ok(())
}

fn too_deep(limits: &Limits) -> Rejection {
    Rejection::new(
        format!(
            "The document nests deeper than the {} levels allowed",
            limits.max_depth
        ),
        ErrorCode::MaxDepthExceeded,
    )
}

fn selection_set(operation: &OperationDefinition) -> &SelectionSet {
    match operation {
        OperationDefinition::Query(query) => &query.selection_set,
        OperationDefinition::Mutation(mutation) => &mutation.selection_set,
        OperationDefinition::Subscription(subscription) => &subscription.selection_set,
        OperationDefinition::SelectionSet(selection) => selection,
    }
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|item| match item {
            Selection::Field(field) => {
                usize::from(field.alias.is_some()) + count_aliases(&field.selection_set)
            }
            Selection::InlineFragment(fragment) => count_aliases(&fragment.selection_set),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

/// Fields at the root, through inline fragments and fragment spreads (each fragment
/// once per path, so a cycle, which validation refuses later, cannot loop).
fn count_root_fields<'a>(
    set: &'a SelectionSet,
    fragments: &HashMap<&str, &'a FragmentDefinition>,
    visiting: &mut HashSet<&'a str>,
) -> usize {
    set.items
        .iter()
        .map(|item| match item {
            Selection::Field(_) => 1,
            Selection::InlineFragment(fragment) => {
                count_root_fields(&fragment.selection_set, fragments, visiting)
            }
            Selection::FragmentSpread(spread) => {
                let name = spread.fragment_name.as_str();
                match fragments.get(name) {
                    Some(fragment) if visiting.insert(&fragment.name) => {
                        let count = count_root_fields(&fragment.selection_set, fragments, visiting);
                        visiting.remove(fragment.name.as_str());
                        count
                    }
                    _ => 0,
                }
            }
        })
        .sum()
}

/// Field depth with fragments expanded, each fragment's depth computed once (so
/// fragments spread many times cost nothing extra) and cycles counted as depth 0.
struct Depths<'a> {
    fragments: &'a HashMap<&'a str, &'a FragmentDefinition>,
    /// `None` while a fragment is being measured (a cycle reaching it stops there).
    known: HashMap<&'a str, Option<usize>>,
}

impl<'a> Depths<'a> {
    fn of(&mut self, set: &'a SelectionSet) -> usize {
        set.items
            .iter()
            .map(|item| match item {
                Selection::Field(field) if field.selection_set.items.is_empty() => 1,
                Selection::Field(field) => 1 + self.of(&field.selection_set),
                Selection::InlineFragment(fragment) => self.of(&fragment.selection_set),
                Selection::FragmentSpread(spread) => self.fragment(&spread.fragment_name),
            })
            .max()
            .unwrap_or(0)
    }

    fn fragment(&mut self, name: &str) -> usize {
        let Some(fragment) = self.fragments.get(name).copied() else {
            return 0;
        };
        match self.known.get(fragment.name.as_str()) {
            Some(Some(depth)) => return *depth,
            Some(None) => return 0,
            None => {}
        }
        self.known.insert(&fragment.name, None);
        let depth = self.of(&fragment.selection_set);
        self.known.insert(&fragment.name, Some(depth));
        depth
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    fn document(query: &str) -> Document {
        graphql_tools::parser::parse_query::<String>(query)
            .unwrap()
            .into_static()
    }

    fn code(result: Result<(), Rejection>) -> Option<&'static str> {
        result.err().map(|rejection| {
            match rejection.errors[0].extensions["code"].as_str().unwrap() {
                "MAX_DEPTH_EXCEEDED" => "depth",
                "MAX_ALIASES_EXCEEDED" => "aliases",
                "MAX_ROOT_FIELDS_EXCEEDED" => "root",
                "MAX_TOKENS_EXCEEDED" => "tokens",
                _ => "other",
            }
        })
    }

    #[test]
    fn tokens_are_counted_without_whitespace_commas_or_comments() {
        let tight = Limits {
            max_tokens: 10,
            ..limits()
        };
        // { a ( x : "s, # not a comment" ) ... F } is 10 tokens.
        let query = "# comment\n{ a(x: \"s, # not a comment\"),, ...F }";
        assert_eq!(code(check_tokens(query, &tight)), None);
        let tighter = Limits {
            max_tokens: 9,
            ..limits()
        };
        assert_eq!(code(check_tokens(query, &tighter)), Some("tokens"));
    }

    #[test]
    fn block_strings_and_numbers_are_one_token_each() {
        // `{ a ( x : """…""" y : -1.5e+3 ) }` is 11 tokens.
        let query = r#"{ a(x: """ block " "" \""" } """, y: -1.5e+3) }"#;
        let exact = Limits {
            max_tokens: 11,
            ..limits()
        };
        assert_eq!(code(check_tokens(query, &exact)), None);
        let one_less = Limits {
            max_tokens: 10,
            ..limits()
        };
        assert_eq!(code(check_tokens(query, &one_less)), Some("tokens"));
    }

    #[test]
    fn bracket_nesting_is_refused_before_parsing() {
        let deep = format!("{}{}", "{ a ".repeat(10_000), "}".repeat(10_000));
        assert_eq!(code(check_tokens(&deep, &limits())), Some("depth"));
    }

    #[test]
    fn depth_counts_fields_through_fragments() {
        let tight = Limits {
            max_depth: 3,
            ..limits()
        };
        let ok = document("{ a { b { c } } }");
        assert_eq!(code(check_document(&ok, &tight)), None);
        let through_fragments =
            document("{ a { ...F } } fragment F on T { b { ... on U { c { d } } } }");
        assert_eq!(
            code(check_document(&through_fragments, &tight)),
            Some("depth")
        );
    }

    #[test]
    fn fragment_cycles_do_not_loop() {
        let cyclic =
            document("{ a { ...F } } fragment F on T { b { ...G } } fragment G on T { ...F }");
        assert_eq!(code(check_document(&cyclic, &limits())), None);
    }

    #[test]
    fn aliases_are_counted_in_the_whole_document() {
        let tight = Limits {
            max_aliases: 2,
            ..limits()
        };
        let two = document("{ x: a { y: b } }");
        assert_eq!(code(check_document(&two, &tight)), None);
        let three = document("{ x: a { ...F } } fragment F on T { y: b z: c }");
        assert_eq!(code(check_document(&three, &tight)), Some("aliases"));
    }

    #[test]
    fn root_fields_are_counted_through_fragments() {
        let tight = Limits {
            max_root_fields: 2,
            ..limits()
        };
        let two = document("{ a ... on Query { b { c d e } } }");
        assert_eq!(code(check_document(&two, &tight)), None);
        let three = document("{ a ...F } fragment F on Query { b c }");
        assert_eq!(code(check_document(&three, &tight)), Some("root"));
    }
}
